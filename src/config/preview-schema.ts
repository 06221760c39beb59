// `preview:`, a way to reach the candidate before the switch: a request carrying `header: secret` (or the cookie
// that /__cutover/preview sets) goes to the candidate, and an optional listener serves only the candidate. The
// secret opens an unreleased version to whoever holds it, so there is no default one and a short one is refused.

import type { AppConfig, ListenAddress, PreviewConfig } from './config.ts';
import { DEFAULT_PREVIEW_HEADER, MIN_PREVIEW_SECRET_LENGTH } from './defaults.ts';
import { formatListenAddress, isLoopback, sameSocket } from './listen-address.ts';
import { type ConfigReader, isAbsent } from './reader.ts';
import { headerNameProblem } from './verify-schema.ts';

/** A listener the preview's must not collide with, named as the config names it. */
export interface NamedListener {
  readonly name: string;
  readonly address: ListenAddress;
}

/** `preview:` with no value (YAML's `preview:`) means no preview, like any other absent key. */
export function readPreview(
  raw: unknown, path: string, r: ConfigReader, listeners: readonly NamedListener[],
): PreviewConfig | null {
  if (isAbsent(raw)) return null;
  const preview = r.section(raw, path, PREVIEW_KEYS);
  return {
    header: readHeader(preview.header, `${path}.header`, r),
    secret: readSecret(r.requiredString(preview, 'secret', path, NEEDS_SECRET), `${path}.secret`, r) ?? '',
    listen: readListen(preview.listen, `${path}.listen`, r, listeners),
  };
}

/** Two apps cannot preview on one socket: the listener would not know whose candidate to serve. */
export function checkPreviewListenersAcrossApps(apps: Readonly<Record<string, AppConfig>>, r: ConfigReader): void {
  const taken: { app: string; address: ListenAddress }[] = [];
  for (const app of Object.values(apps)) {
    const address = app.preview?.listen;
    if (!address) continue;
    const owner = taken.find((t) => sameSocket(t.address, address));
    if (owner) r.problem(`apps.${app.name}.preview.listen`, `is the same address as app "${owner.app}"'s preview`);
    else taken.push({ app: app.name, address });
  }
}

const PREVIEW_KEYS = { known: ['header', 'secret', 'listen'] };
const NEEDS_SECRET =
  `needs a secret of ${MIN_PREVIEW_SECRET_LENGTH} or more characters; write secret: \${PREVIEW_SECRET} to keep it out of the file`;
// The proxy strips the preview header before forwarding, so it must not be one the app or the proxy relies on.
const RESERVED_HEADERS = new Set([
  'authorization', 'connection', 'content-length', 'content-type', 'cookie', 'forwarded', 'host', 'keep-alive',
  'proxy-authenticate', 'proxy-authorization', 'proxy-connection', 'te', 'trailer', 'transfer-encoding', 'upgrade',
  'x-forwarded-for', 'x-forwarded-host', 'x-forwarded-proto',
]);
// Header values lose leading and trailing spaces in transit (RFC 9110 §5.5) and may not hold controls.
const SECRET_CHARS = /^[\x21-\x7e]+$/;
const NO_LISTEN: ListenAddress = Object.freeze({ host: '(none)', port: -1 });

// Header names are case-insensitive (RFC 9110 §5.1); Node hands them to the proxy in lower case.
function readHeader(raw: unknown, path: string, r: ConfigReader): string {
  const header = r.string(raw, path, DEFAULT_PREVIEW_HEADER).toLowerCase();
  const problem = headerNameProblem(header) ??
    (RESERVED_HEADERS.has(header) ? `is a standard header that the app or proxy needs; use your own, like ${DEFAULT_PREVIEW_HEADER}` : undefined);
  if (problem === undefined) return header;
  r.problem(path, problem);
  return DEFAULT_PREVIEW_HEADER;
}

function readSecret(secret: string | null, path: string, r: ConfigReader): string | null {
  if (secret === null) return null;
  if (!SECRET_CHARS.test(secret)) r.problem(path, 'must be printable ASCII without spaces, since it travels in a header');
  else if (secret.length < MIN_PREVIEW_SECRET_LENGTH) r.problem(path, `must be at least ${MIN_PREVIEW_SECRET_LENGTH} characters long`);
  else return secret;
  return null;
}

function readListen(raw: unknown, path: string, r: ConfigReader, listeners: readonly NamedListener[]): ListenAddress | null {
  const address = r.listen(raw, path, NO_LISTEN);
  if (address === NO_LISTEN) return null;
  // The preview listener serves an unreleased version to anyone who reaches it, without the secret.
  if (!isLoopback(address.host)) {
    r.problem(path, `must be a loopback address (it serves the candidate without the secret); use the preview header or cookie from elsewhere`);
    return null;
  }
  const clash = listeners.find((l) => sameSocket(l.address, address));
  if (clash === undefined) return address;
  r.problem(path, `${formatListenAddress(address)} is also ${clash.name}; give the preview its own port`);
  return null;
}
