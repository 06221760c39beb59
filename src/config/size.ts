// Byte sizes as people write them in config files ("16kb", "10mb", "1gb", 512) and as cutover keeps them (bytes).

const UNITS: Readonly<Record<string, number>> = { b: 1, kb: 1024, mb: 1024 ** 2, gb: 1024 ** 3 };

/** Bytes from "512", "16kb", "1.5mb" or "1gb" (units are powers of 1024, as for memory); null when not a size. */
export function parseSize(value: string | number): number | null {
  if (typeof value === 'number') return Number.isSafeInteger(value) && value >= 0 ? value : null;
  const match = /^(\d+(?:\.\d+)?)\s*(b|kb|mb|gb)?$/i.exec(value.trim());
  if (match === null) return null;
  return Math.round(Number(match[1]) * UNITS[(match[2] ?? 'b').toLowerCase()]!);
}

export const SIZE_HINT = 'must be a size like 16kb, 10mb or 1gb';
