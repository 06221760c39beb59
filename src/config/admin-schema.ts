// `admin:`, the control plane: where the admin API listens and which bearer tokens it takes. `token` is the admin
// token (named "admin"), `readToken` a read-only one (named "read"), and `tokens` a list of named tokens, each with
// a role, so that the history can say which client did what. The API can switch and roll back every app, so
// beyond loopback it must not be open to anyone who can reach the port.

import type { AdminConfig, AdminRole, AdminToken, ListenAddress } from './config.ts';
import { DEFAULT_ADMIN_LISTEN, MIN_ADMIN_TOKEN_LENGTH } from './defaults.ts';
import { joinPath } from './keys.ts';
import { isLoopback, sameSocket } from './listen-address.ts';
import { type ConfigReader, isAbsent, isMapping, type Section } from './reader.ts';

/** The name `admin.token` goes by in the history (`token:admin`). */
export const ADMIN_TOKEN_NAME = 'admin';
/** The name `admin.readToken` goes by. */
export const READ_TOKEN_NAME = 'read';
export const ADMIN_ROLES: readonly AdminRole[] = ['admin', 'read'];

export function readAdmin(raw: unknown, proxyListen: ListenAddress, r: ConfigReader): AdminConfig {
  const admin = r.section(raw, 'admin', ADMIN_KEYS);
  const listen = r.listen(admin.listen, 'admin.listen', DEFAULT_ADMIN_LISTEN);
  if (sameSocket(listen, proxyListen)) {
    r.problem('admin.listen', 'is the same address as listen; give the admin API its own port');
  }
  const before = r.problems.length;
  const token = readShorthand(admin.token, 'admin.token', r);
  const entries = [
    ...(token === null ? [] : [{ path: 'admin.token', token: { name: ADMIN_TOKEN_NAME, token, role: 'admin' as const } }]),
    ...readReadToken(admin, r),
    ...readTokenList(admin.tokens, r),
  ];
  checkUnique(entries, r);
  // A token with a problem of its own may have been meant as the admin one; a second problem would only guess.
  if (r.problems.length === before) checkAdminRole(entries, admin, listen, r);
  return { listen, token, tokens: entries.map((e) => e.token) };
}

/** A token as read, with where it was written, for messages about two of them. */
interface Entry {
  readonly path: string;
  readonly token: AdminToken;
}

const ADMIN_KEYS = { known: ['listen', 'token', 'readToken', 'tokens'] };
const TOKEN_KEYS = { known: ['name', 'token', 'role'] };
const TOKEN_NAME = /^[a-z0-9][a-z0-9-]{0,62}$/;
const TOKEN_NAME_RULE =
  'is not a valid token name: use lower-case letters, digits and dashes, start with a letter or digit, at most 63 characters';
const TOKENS_SHAPE = 'must be a list like [{ name: ci, token: ${CI_TOKEN}, role: admin }]';

function readReadToken(admin: Section, r: ConfigReader): Entry[] {
  const token = readShorthand(admin.readToken, 'admin.readToken', r);
  return token === null ? [] : [{ path: 'admin.readToken', token: { name: READ_TOKEN_NAME, token, role: 'read' } }];
}

// An empty value is what `token: ${CUTOVER_TOKEN}` gives when the variable is set but empty: no token.
function readShorthand(value: unknown, path: string, r: ConfigReader): string | null {
  if (!isAbsent(value) && typeof value !== 'string') {
    r.problem(path, 'must be a string; put it in quotes');
    return null;
  }
  const token = value || null;
  if (token !== null) checkLength(token, path, r);
  return token;
}

function readTokenList(raw: unknown, r: ConfigReader): Entry[] {
  if (isAbsent(raw)) return [];
  if (!Array.isArray(raw)) {
    r.problem('admin.tokens', TOKENS_SHAPE);
    return [];
  }
  return raw.flatMap((item, i) => readTokenEntry(item, joinPath('admin.tokens', i), r) ?? []);
}

function readTokenEntry(raw: unknown, path: string, r: ConfigReader): Entry | null {
  if (!isMapping(raw)) {
    r.problem(path, 'must be a mapping with a name, a token and a role, like { name: ci, token: ${CI_TOKEN}, role: admin }');
    return null;
  }
  const entry = r.section(raw, path, TOKEN_KEYS);
  const name = r.requiredString(entry, 'name', path, 'needs a name, like ci; the history names its calls token:NAME');
  if (name !== null && !TOKEN_NAME.test(name)) r.problem(`${path}.name`, TOKEN_NAME_RULE);
  const token = r.requiredString(entry, 'token', path, 'needs a token, like token: ${CI_TOKEN}');
  if (token !== null) checkLength(token, `${path}.token`, r);
  const role = readRole(entry.role, path, r);
  if (name === null || token === null || role === null) return null;
  return { path, token: { name, token, role } };
}

function readRole(value: unknown, path: string, r: ConfigReader): AdminRole | null {
  if (isAbsent(value)) {
    r.problem(path, 'needs a role: admin (every call) or read (only status, history, events, metrics and logs)');
    return null;
  }
  if (ADMIN_ROLES.includes(value as AdminRole)) return value as AdminRole;
  r.problem(`${path}.role`, 'must be admin or read');
  return null;
}

function checkLength(token: string, path: string, r: ConfigReader): void {
  if (token.length < MIN_ADMIN_TOKEN_LENGTH) r.problem(path, `must be at least ${MIN_ADMIN_TOKEN_LENGTH} characters long`);
}

// Two tokens with one name could not be told apart in the history; one secret under two names (or roles) would
// make the caller's name and role depend on the order of the list.
function checkUnique(entries: readonly Entry[], r: ConfigReader): void {
  entries.forEach((entry, i) => {
    const earlier = entries.slice(0, i);
    const sameName = earlier.find((e) => e.token.name === entry.token.name);
    if (sameName) r.problem(namePath(entry), `"${entry.token.name}" is already the name of ${sameName.path}`);
    const sameToken = earlier.find((e) => e.token.token === entry.token.token);
    if (sameToken) r.problem(tokenPath(entry), `is the same secret as ${tokenPath(sameToken)}; give each token its own`);
  });
}

function checkAdminRole(entries: readonly Entry[], admin: Section, listen: ListenAddress, r: ConfigReader): void {
  if (entries.some((e) => e.token.role === 'admin')) return;
  if (entries.length > 0) {
    // With any token, a call without one is refused: read tokens alone would leave nobody able to deploy.
    const path = isAbsent(admin.tokens) ? 'admin.readToken' : 'admin.tokens';
    r.problem(path, 'gives only read-only tokens, so no caller could deploy, switch or roll back; add admin.token or a token with role: admin');
  } else if (!isLoopback(listen.host)) {
    r.problem('admin.token', 'the admin API listens beyond loopback, so a token is required');
  }
}

// The shorthands' paths name the secret itself; a list entry's name and token are keys of their own.
function namePath(entry: Entry): string {
  return entry.path.startsWith('admin.tokens') ? `${entry.path}.name` : entry.path;
}

function tokenPath(entry: Entry): string {
  return entry.path.startsWith('admin.tokens') ? `${entry.path}.token` : entry.path;
}
