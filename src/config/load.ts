// Loading a config file: read → ${ENV} substitution → YAML → validation → frozen Config. Each stage reports
// every problem it finds; a later stage runs only when the earlier ones found none, so one mistake is not
// echoed as several (an unset variable would otherwise also show up as a missing value).

import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { type Document, LineCounter, parseDocument } from 'yaml';
import { ConfigError, type ConfigProblem } from '../core/errors.ts';
import type { Config } from './config.ts';
import { validateConfig } from './schema.ts';
import { type Env, substituteEnv } from './substitute.ts';

export interface ParseOptions {
  /** The file the text came from: relative paths in it resolve against its directory. */
  readonly source?: string | null;
  readonly env?: Env;
  /**
   * A config file (see loadConfig): refused when it has nothing in it (or comments only) or names no app. Text from
   * code may be empty: every default, no app.
   */
  readonly file?: boolean;
}

/** Throws ConfigError listing every problem, including a file that cannot be read. */
export async function loadConfig(path: string, env: Env = process.env): Promise<Config> {
  const source = resolve(path);
  let text: string;
  try {
    text = await readFile(source, 'utf8');
  } catch (err) {
    const message = `cannot read the config file ${source}: ${readFailure(err)}`;
    throw new ConfigError([{ path: '', message }], { cause: err });
  }
  // An empty file, or one without apps, is a mistake, most often one caught half-written (cut off before `apps:`):
  // read as it stands, a reload of it would remove every app and leave the public traffic to 404.
  return parseConfigText(text, { source, env, file: true });
}

/** The same pipeline without the file system; `source` only places relative paths and names the file. */
export function parseConfigText(text: string, options: ParseOptions = {}): Config {
  const substituted = substituteEnv(text, options.env ?? process.env);
  if (substituted.problems.length > 0) throw new ConfigError(substituted.problems);
  const parsed = parseYaml(substituted.text);
  if (!parsed.ok) throw new ConfigError(parsed.problems);
  const name = options.source ?? 'the config';
  if (options.file === true && (parsed.value === null || parsed.value === undefined)) {
    throw new ConfigError([{ path: '', message: `${name} is empty (or only comments): refused, rather than read as a config without apps` }]);
  }
  const result = validateConfig(parsed.value, { source: options.source ?? null });
  if (!result.ok) throw new ConfigError(inFileOrder(result.problems, parsed.doc));
  if (options.file === true && Object.keys(result.config.apps).length === 0) {
    throw new ConfigError([{ path: 'apps', message: `${name} names no app: refused (a file cut short reads like this, and every request would get 404); a config needs at least one app` }]);
  }
  return result.config;
}

/** Every default, as an empty config file would give; relative paths resolve against the working directory. */
export function defaultConfig(): Config {
  return parseConfigText('', { env: {} });
}

type Parsed = { ok: true; value: unknown; doc: Document } | { ok: false; problems: ConfigProblem[] };

function parseYaml(text: string): Parsed {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false });
  if (doc.errors.length > 0) {
    const problems = doc.errors.map((err) => {
      const { line, col } = lines.linePos(err.pos[0]);
      return { path: '', message: `YAML syntax error at line ${line}, column ${col}: ${err.message}` };
    });
    return { ok: false, problems };
  }
  try {
    return { ok: true, value: doc.toJS(), doc };
  } catch (err) {
    // toJS throws on alias bombs (too many alias expansions) and unresolvable aliases.
    return { ok: false, problems: [{ path: '', message: `YAML error: ${(err as Error).message}` }] };
  }
}

// Validation finds problems section by section; a reader fixing the file wants them from the top down.
function inFileOrder(problems: readonly ConfigProblem[], doc: Document): ConfigProblem[] {
  const placed = problems.map((problem) => ({ problem, at: offsetOf(doc, problem.path) }));
  return placed.sort((a, b) => a.at - b.at).map(({ problem }) => problem);
}

// Where a path like "apps.web.hosts[1]" starts in the file; for a key that is absent (a missing `hosts`), where
// its nearest present parent starts.
function offsetOf(doc: Document, path: string): number {
  const keys = [...path.matchAll(/([^.[\]]+)|\[(\d+)\]/g)].map(([, key, index]) => key ?? Number(index));
  for (let depth = keys.length; depth > 0; depth--) {
    const node = doc.getIn(keys.slice(0, depth), true) as { range?: [number, number, number] } | undefined;
    if (node?.range) return node.range[0];
  }
  return 0;
}

function readFailure(err: unknown): string {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return 'no such file';
  if (code === 'EISDIR') return 'it is a directory';
  if (code === 'EACCES') return 'permission denied';
  return (err as Error).message;
}
