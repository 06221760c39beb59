import type { Color } from '../core/types.ts';
import type { IncomingMessage } from 'node:http';
import { closestWord } from '../config/keys.ts';
import { BadRequestError } from '../core/errors.ts';

const MAX_BODY_BYTES = 1024 * 1024;

/** Reads a JSON object body (an empty body is `{}`), refusing more than 1 MiB. */
export async function readJsonBody(req: IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) throw new BadRequestError('the request body is larger than 1 MiB');
    chunks.push(chunk);
  }
  const text = Buffer.concat(chunks).toString('utf8').trim();
  if (text === '') return {};
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new BadRequestError('the request body is not valid JSON', { cause: err });
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new BadRequestError('the request body must be a JSON object');
  }
  return value as Record<string, unknown>;
}

/** Field readers that name the field in their error. */
export const field = {
  /** Refuses a field not in `known`, with the known one it most likely meant. */
  onlyKnown(body: Record<string, unknown>, known: readonly string[]): void {
    const unknown = Object.keys(body).find((name) => !known.includes(name));
    if (unknown === undefined) return;
    const meant = closestWord(unknown, known);
    const hint = meant === undefined ? `this call takes ${known.map((k) => `"${k}"`).join(', ')}` : `did you mean "${meant}"?`;
    throw new BadRequestError(`unknown field "${unknown.slice(0, 100)}" in the body: ${hint}`);
  },
  string(body: Record<string, unknown>, name: string): string {
    const v = body[name];
    if (typeof v !== 'string' || v === '') throw new BadRequestError(`"${name}" must be a non-empty string`);
    return v;
  },
  optionalString(body: Record<string, unknown>, name: string, fallback: string): string {
    return body[name] === undefined ? fallback : field.string(body, name);
  },
  stringList(body: Record<string, unknown>, name: string): string[] {
    const v = body[name] ?? [];
    if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) {
      throw new BadRequestError(`"${name}" must be a list of strings`);
    }
    return v as string[];
  },
  /** "blue", "green" or null; undefined when the field is absent. */
  optionalColor(body: Record<string, unknown>, name: string): Color | null | undefined {
    const v = body[name];
    if (v === undefined || v === null || v === 'blue' || v === 'green') return v;
    throw new BadRequestError(`"${name}" must be "blue", "green" or null`);
  },
  boolean(body: Record<string, unknown>, name: string, fallback: boolean): boolean {
    const v = body[name];
    if (v === undefined) return fallback;
    if (typeof v !== 'boolean') throw new BadRequestError(`"${name}" must be true or false`);
    return v;
  },
};
