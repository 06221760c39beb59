// `state:` where cutover keeps its apps, deployments and audit trail. Either one SQLite file on this machine (the
// default), or etcd, which several cutover instances share:
//
//   state: { sqlite: ./cutover.db }
//   state:
//     etcd:
//       endpoints: [https://10.0.0.1:2379, https://10.0.0.2:2379, https://10.0.0.3:2379]
//       prefix: /cutover
//       username: cutover
//       password: ${ETCD_PASSWORD}
//       tls: { ca: ./etcd-ca.crt, cert: ./cutover.crt, key: ./cutover.key }
//       timeout: 2s
//       lease: 5s

import { accessSync, constants } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { DEFAULT_ETCD_LEASE_MS, DEFAULT_ETCD_PREFIX, DEFAULT_ETCD_TIMEOUT_MS, DEFAULT_STATE_SQLITE } from './defaults.ts';
import { joinPath } from './keys.ts';
import { type ConfigReader, isAbsent, isMapping, type Section } from './reader.ts';

export type StateConfig = SqliteStateConfig | EtcdStateConfig;

export interface SqliteStateConfig {
  /** An absolute path, or `:memory:`. */
  readonly sqlite: string;
}

export interface EtcdStateConfig {
  readonly etcd: EtcdSettings;
}

export interface EtcdSettings {
  /** `http(s)://host:port` of each member, all of one scheme. */
  readonly endpoints: readonly string[];
  /** Every key cutover writes starts with it, so several fleets can share one etcd. No trailing slash. */
  readonly prefix: string;
  readonly username: string | null;
  readonly password: string | null;
  /** For https endpoints; null: the system's CAs and no client certificate. */
  readonly tls: EtcdTlsFiles | null;
  /** How long one store call may take before it fails with STORE_UNAVAILABLE. */
  readonly timeoutMs: number;
  /**
   * The TTL of each instance's lease, in whole seconds as etcd grants them: how long a dead instance stays listed
   * and keeps leading its apps.
   */
  readonly leaseMs: number;
}

/** Absolute paths of PEM files. */
export interface EtcdTlsFiles {
  readonly ca: string | null;
  readonly cert: string | null;
  readonly key: string | null;
}

export function readState(raw: unknown, baseDir: string, r: ConfigReader): StateConfig {
  const state = r.section(raw, 'state', STATE_KEYS);
  if (isAbsent(state.etcd)) return { sqlite: readSqlite(state.sqlite, baseDir, r) };
  if (!isAbsent(state.sqlite)) r.problem('state', 'takes sqlite or etcd, not both');
  return { etcd: readEtcd(state.etcd, baseDir, r) };
}

/**
 * The folder for what belongs beside the state on this machine (the process driver's records of its processes):
 * the SQLite file's folder, or with etcd the config file's. Null when there is none (an in-memory store, or etcd
 * with a config built in code).
 */
export function localStateDir(config: { readonly state: StateConfig; readonly source: string | null }): string | null {
  if ('etcd' in config.state) return config.source === null ? null : dirname(config.source);
  return config.state.sqlite === ':memory:' ? null : dirname(config.state.sqlite);
}

const STATE_KEYS = { known: ['sqlite', 'etcd'] };
const ETCD_KEYS = { known: ['endpoints', 'prefix', 'username', 'password', 'tls', 'timeout', 'lease'] };
const TLS_KEYS = { known: ['ca', 'cert', 'key'] };
const ENDPOINT_EXAMPLE = 'http://127.0.0.1:2379';
const PREFIX = /^\/\S*[^/\s]$/;
/** What a broken `state.etcd` reads as, so that validation can go on to the other sections. */
const NO_ETCD: EtcdSettings = {
  endpoints: [], prefix: DEFAULT_ETCD_PREFIX, username: null, password: null, tls: null, timeoutMs: DEFAULT_ETCD_TIMEOUT_MS,
  leaseMs: DEFAULT_ETCD_LEASE_MS,
};

function readSqlite(value: unknown, baseDir: string, r: ConfigReader): string {
  const sqlite = r.string(value, 'state.sqlite', DEFAULT_STATE_SQLITE);
  if (sqlite.trim() === '') {
    r.problem('state.sqlite', 'must be a file path, like ./cutover.db');
    return sqlite;
  }
  // ":memory:" is SQLite's name for a database that lives only as long as the process; handy in tests.
  if (sqlite === ':memory:' || isAbsolute(sqlite)) return sqlite;
  return resolve(baseDir, sqlite);
}

function readEtcd(raw: unknown, baseDir: string, r: ConfigReader): EtcdSettings {
  if (!isMapping(raw)) {
    r.problem('state.etcd', `must be a mapping like { endpoints: [${ENDPOINT_EXAMPLE}] }`);
    return NO_ETCD;
  }
  const etcd = r.section(raw, 'state.etcd', ETCD_KEYS);
  const endpoints = readEndpoints(etcd, r);
  const tls = readTls(etcd.tls, baseDir, r);
  if (tls !== null && endpoints.some((url) => url.startsWith('http:'))) {
    r.problem('state.etcd.tls', 'is given, but the endpoints use http://; write them with https://');
  }
  return {
    endpoints,
    prefix: readPrefix(etcd.prefix, r),
    ...readCredentials(etcd, r),
    tls,
    timeoutMs: r.duration(etcd.timeout, 'state.etcd.timeout', DEFAULT_ETCD_TIMEOUT_MS),
    leaseMs: readLease(etcd.lease, r),
  };
}

// etcd grants leases in whole seconds, and refuses less than one.
function readLease(value: unknown, r: ConfigReader): number {
  const ms = r.duration(value, 'state.etcd.lease', DEFAULT_ETCD_LEASE_MS);
  if (ms >= 1_000 && ms % 1_000 === 0) return ms;
  r.problem('state.etcd.lease', 'must be whole seconds, at least 1s, like 5s (etcd grants leases in seconds)');
  return DEFAULT_ETCD_LEASE_MS;
}

function readEndpoints(etcd: Section, r: ConfigReader): string[] {
  const raw = etcd.endpoints;
  const path = 'state.etcd.endpoints';
  if (isAbsent(raw)) {
    r.problem('state.etcd', `needs endpoints, like [${ENDPOINT_EXAMPLE}]`);
    return [];
  }
  if (!Array.isArray(raw) || raw.length === 0) {
    r.problem(path, `must be a list of one or more URLs, like [${ENDPOINT_EXAMPLE}]`);
    return [];
  }
  const urls: string[] = [];
  raw.forEach((item, i) => {
    const url = readEndpoint(item, joinPath(path, i), r);
    if (url !== null && urls.includes(url)) r.problem(joinPath(path, i), `${url} is listed twice`);
    else if (url !== null) urls.push(url);
  });
  const schemes = new Set(urls.map((url) => url.slice(0, url.indexOf(':'))));
  if (schemes.size > 1) r.problem(path, 'mixes http:// and https://; use one for every endpoint');
  return urls;
}

/** `scheme://host:port`, lower case, or null after reporting why not. */
function readEndpoint(value: unknown, path: string, r: ConfigReader): string | null {
  const problem = (message: string) => (r.problem(path, message), null);
  if (typeof value !== 'string') return problem(`must be a URL like ${ENDPOINT_EXAMPLE}`);
  // etcdctl takes `host:port`; the client needs the scheme to know whether to speak TLS.
  if (!value.includes('://')) return problem(`needs a scheme: http://${value}, or https:// for TLS`);
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return problem(`"${value}" is not a URL; write it like ${ENDPOINT_EXAMPLE}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return problem('must start with http:// or https://');
  const port = url.port || (/:\d+\/?$/.test(value) ? (url.protocol === 'http:' ? '80' : '443') : '');
  if (port === '') return problem(`needs a port, like ${url.protocol}//${url.hostname}:2379`);
  if (url.username || url.password || url.pathname !== '/' || url.search || url.hash) {
    return problem(`must be only a scheme, a host and a port, like ${ENDPOINT_EXAMPLE}; credentials go in username and password`);
  }
  return `${url.protocol}//${url.hostname}:${port}`;
}

function readPrefix(value: unknown, r: ConfigReader): string {
  const prefix = r.string(value, 'state.etcd.prefix', DEFAULT_ETCD_PREFIX);
  if (PREFIX.test(prefix)) return prefix;
  r.problem('state.etcd.prefix', `must be a key path like ${DEFAULT_ETCD_PREFIX}: starting with /, not ending with /, without spaces`);
  return DEFAULT_ETCD_PREFIX;
}

function readCredentials(etcd: Section, r: ConfigReader): { username: string | null; password: string | null } {
  const username = r.optionalString(etcd.username, 'state.etcd.username');
  const password = r.optionalString(etcd.password, 'state.etcd.password');
  if (username !== null && password === null && isAbsent(etcd.password)) r.problem('state.etcd', 'has a username but no password; give both');
  if (password !== null && username === null && isAbsent(etcd.username)) r.problem('state.etcd', 'has a password but no username; give both');
  return { username, password };
}

function readTls(raw: unknown, baseDir: string, r: ConfigReader): EtcdTlsFiles | null {
  if (isAbsent(raw)) return null;
  const before = r.problems.length;
  const tls = r.section(raw, 'state.etcd.tls', TLS_KEYS);
  const file = (key: string) => readFile(tls[key], joinPath('state.etcd.tls', key), baseDir, r);
  const files = { ca: file('ca'), cert: file('cert'), key: file('key') };
  if (files.cert !== null && files.key === null) r.problem('state.etcd.tls', 'has a cert but no key; give both');
  if (files.key !== null && files.cert === null) r.problem('state.etcd.tls', 'has a key but no cert; give both');
  if (r.problems.length === before && files.ca === null && files.cert === null) {
    r.problem('state.etcd.tls', 'needs a ca, or a cert and a key, like { ca: ./etcd-ca.crt }');
  }
  return r.problems.length === before ? files : null;
}

/** An absolute path to a file this process can read, or null. */
function readFile(value: unknown, path: string, baseDir: string, r: ConfigReader): string | null {
  const given = r.optionalString(value, path);
  if (given === null) return null;
  const file = isAbsolute(given) ? given : resolve(baseDir, given);
  try {
    accessSync(file, constants.R_OK);
    return file;
  } catch (err) {
    r.problem(path, `cannot read ${file} (${(err as NodeJS.ErrnoException).code})`);
    return null;
  }
}
