// Terminal output: tables, colours only on a terminal (and never with NO_COLOR), times and durations.

export interface Output {
  readonly tty: boolean;
  line(text?: string): void;
  error(text: string): void;
}

export const stdout: Output = {
  tty: Boolean(process.stdout.isTTY) && !process.env.NO_COLOR,
  line: (text = '') => process.stdout.write(text + '\n'),
  error: (text) => process.stderr.write(text + '\n'),
};

const CODES = { red: 31, green: 32, yellow: 33, blue: 34, dim: 2, bold: 1 } as const;
export type Colour = keyof typeof CODES;

export function paint(out: Output, colour: Colour, text: string): string {
  return out.tty ? `\x1b[${CODES[colour]}m${text}\x1b[0m` : text;
}

/** Left-aligned columns sized to their widest cell; ANSI colour codes do not count toward the width. */
export function table(rows: readonly (readonly string[])[]): string[] {
  const width = (s: string) => s.replace(/\x1b\[[0-9;]*m/g, '').length;
  const widths: number[] = [];
  for (const row of rows) row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, width(cell))));
  return rows.map((row) =>
    row.map((cell, i) => (i === row.length - 1 ? cell : cell + ' '.repeat(widths[i]! - width(cell)))).join('  ').trimEnd(),
  );
}

export function clockTime(at: number): string {
  return new Date(at).toISOString().slice(11, 19);
}

export function dateTime(at: number): string {
  return new Date(at).toISOString().replace('T', ' ').slice(0, 19);
}

export function seconds(ms: number): string {
  return ms < 1000 ? `${ms}ms` : `${(ms / 1000).toFixed(1)}s`;
}
