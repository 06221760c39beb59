// ${VAR} substitution in the raw config text, before YAML parsing, so a variable can stand for any value:
// a token, a port, a whole host list. The value is pasted as text: one holding YAML syntax (": ", " #", a leading
// "*" or "{") should be quoted in the file, like token: "${CUTOVER_TOKEN}".
//
//   ${VAR}            the variable's value; a problem if it is not set
//   ${VAR:-default}   the default when the variable is unset or empty (the shell's and Docker Compose's rule)
//   $${               a literal "${"
//
// References inside YAML comments are left alone: commenting out `token: ${CUTOVER_TOKEN}` must not make the
// variable required.

import { CST, Lexer } from 'yaml';
import type { ConfigProblem } from '../core/errors.ts';

export type Env = Readonly<Record<string, string | undefined>>;

export interface Substituted {
  readonly text: string;
  /** Every unset variable and malformed reference, each naming its line; empty when substitution succeeded. */
  readonly problems: readonly ConfigProblem[];
}

export function substituteEnv(text: string, env: Env): Substituted {
  const problems: ConfigProblem[] = [];
  const comments = commentRanges(text);
  const out = text.replace(REFERENCE, (match: string, body: string | undefined, close: string, at: number) => {
    if (comments.some(([start, end]) => start <= at && at < end)) return match;
    if (body === undefined) return '${';
    const result = resolve(body, close === '}', env);
    if (typeof result === 'string') return result;
    problems.push({ path: '', message: `line ${lineAt(text, at)}: ${result.problem}` });
    return match;
  });
  return { text: out, problems };
}

// Either "$${" (the escape, no groups) or "${" with what follows up to "}" or the end of the line.
const REFERENCE = /\$\$\{|\$\{([^}\n]*)(\}?)/g;
const NAMED = /^([A-Za-z_][A-Za-z0-9_]*)(?::-(.*))?$/s;

function resolve(body: string, closed: boolean, env: Env): string | { problem: string } {
  const named = NAMED.exec(body);
  if (!closed || !named) {
    const written = `\${${body}${closed ? '}' : ''}`;
    return { problem: `"${written}" is not a variable reference like \${NAME} or \${NAME:-default}; write $\${ for a literal \${` };
  }
  const name = named[1]!;
  const fallback = named[2];
  const value = env[name];
  if (fallback !== undefined) return value ? value : fallback;
  if (value === undefined) {
    return { problem: `environment variable ${name} is not set; set it, or give a default with \${${name}:-default}` };
  }
  return value;
}

// YAML's own lexer knows a comment from a "#" inside a quoted string or a block scalar. Its tokens spell out the
// source exactly, apart from zero-width markers, so summing their lengths gives each token's offset.
function commentRanges(text: string): Array<[number, number]> {
  const ranges: Array<[number, number]> = [];
  let offset = 0;
  for (const token of new Lexer().lex(text)) {
    if (MARKERS.has(token)) continue;
    if (token.startsWith('#')) ranges.push([offset, offset + token.length]);
    offset += token.length;
  }
  return ranges;
}

const MARKERS = new Set<string>([CST.DOCUMENT, CST.FLOW_END, CST.SCALAR]);

// Config files are small, so counting newlines per problem is simpler than an index and fast enough.
function lineAt(text: string, offset: number): number {
  let line = 1;
  for (let i = text.indexOf('\n'); i !== -1 && i < offset; i = text.indexOf('\n', i + 1)) line++;
  return line;
}
