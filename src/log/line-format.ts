// pino's JSON lines made readable on a terminal, one line each:
//   16:02:11 INFO  controller switch: green is live app=web from=blue
// time (local), level, the part of cutover that logged it, the message, then the other fields as key=value.
// Written here rather than taken from pino-pretty: a page of code, against a dependency (and its own
// dependencies) in the proxy for a terminal nicety.

export interface LineStyle {
  /** ANSI colours; off for NO_COLOR (https://no-color.org) or a stream that is not a terminal. */
  readonly colour: boolean;
}

/** Fields every line has, shown in the line's own places or not at all. */
const PLACED = new Set(['level', 'time', 'msg', 'name', 'part', 'pid', 'hostname']);
const LEVELS: Readonly<Record<number, { name: string; colour: string }>> = {
  10: { name: 'TRACE', colour: '90' },
  20: { name: 'DEBUG', colour: '90' },
  30: { name: 'INFO', colour: '32' },
  40: { name: 'WARN', colour: '33' },
  50: { name: 'ERROR', colour: '31' },
  60: { name: 'FATAL', colour: '1;35' },
};
/** A value that reads unambiguously without quotes. */
const BARE = /^[\w.:/@+~-]+$/;

/** One pino record (parsed JSON) as terminal text, without the final newline; an error's stack follows indented. */
export function formatLine(record: Readonly<Record<string, unknown>>, style: LineStyle): string {
  const paint = (code: string, text: string) => (style.colour ? `\x1b[${code}m${text}\x1b[0m` : text);
  const level = LEVELS[record.level as number] ?? { name: String(record.level ?? '?').toUpperCase(), colour: '0' };
  const parts = [paint('2', clock(record.time)), paint(level.colour, level.name.padEnd(5))];
  if (typeof record.part === 'string') parts.push(paint('36', record.part));
  if (typeof record.msg === 'string' && record.msg !== '') parts.push(record.msg);
  let stack = '';
  for (const [key, value] of Object.entries(record)) {
    if (PLACED.has(key) || value === undefined) continue;
    const error = errorOf(value);
    if (error !== null) stack ||= error.stack;
    parts.push(`${paint('2', `${key}=`)}${error !== null ? quote(error.message) : show(value)}`);
  }
  const line = parts.join(' ');
  return stack === '' ? line : `${line}\n${paint('2', indent(stack))}`;
}

function clock(time: unknown): string {
  const date = new Date(typeof time === 'number' ? time : Date.now());
  return [date.getHours(), date.getMinutes(), date.getSeconds()].map((n) => String(n).padStart(2, '0')).join(':');
}

function show(value: unknown): string {
  if (typeof value === 'string') return quote(value);
  if (value === null || typeof value !== 'object') return String(value);
  return JSON.stringify(value);
}

function quote(text: string): string {
  return BARE.test(text) ? text : JSON.stringify(text);
}

/** pino's err serializer gives { type, message, stack }. */
function errorOf(value: unknown): { message: string; stack: string } | null {
  if (typeof value !== 'object' || value === null) return null;
  const { message, stack } = value as { message?: unknown; stack?: unknown };
  if (typeof message !== 'string' || typeof stack !== 'string') return null;
  // The stack's first line repeats the message; the frames are what the line does not say.
  return { message, stack: stack.split('\n').slice(1).join('\n') };
}

function indent(text: string): string {
  return text.split('\n').map((l) => `    ${l.trim()}`).join('\n');
}
