// One certificate and its private key, read from PEM files and checked the way a TLS handshake would need them.
// Imports nothing from cutover, so config validation (`cutover validate`) can use it too: validation and the proxy
// (at start and on every rotation) accept and reject exactly the same files.

import { createPrivateKey, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createSecureContext, type SecureContext } from 'node:tls';

/** Where one certificate and its key live (absolute paths). */
export interface CertificateFiles {
  readonly cert: string;
  readonly key: string;
}

export interface CertificatePair {
  readonly files: CertificateFiles;
  readonly cert: Buffer;
  readonly key: Buffer;
  /** Lower-case DNS names the certificate is for: its subjectAltName, else its CN. Wildcards keep their `*.`. */
  readonly names: readonly string[];
  readonly validTo: Date;
  readonly fingerprint: string;
  readonly context: SecureContext;
}

/** A failure names the file at fault (`pair`: each is fine alone, but they do not belong together). */
export type PairResult =
  | { readonly ok: true; readonly pair: CertificatePair }
  | { readonly ok: false; readonly file: 'cert' | 'key' | 'pair'; readonly message: string };

/** Blocking; for validation and start-up, before anything is served. */
export function readCertificatePairSync(files: CertificateFiles): PairResult {
  const cert = readOrFail(files.cert, readFileSync);
  if (typeof cert === 'string') return { ok: false, file: 'cert', message: cert };
  const key = readOrFail(files.key, readFileSync);
  if (typeof key === 'string') return { ok: false, file: 'key', message: key };
  return parseCertificatePair(files, cert, key);
}

/** Non-blocking, for rotations while the proxy serves: a slow (network) file system must not stall requests. */
export async function readCertificatePair(files: CertificateFiles): Promise<PairResult> {
  const [cert, key] = await Promise.all([readFile(files.cert).catch(failure(files.cert)), readFile(files.key).catch(failure(files.key))]);
  if (typeof cert === 'string') return { ok: false, file: 'cert', message: cert };
  if (typeof key === 'string') return { ok: false, file: 'key', message: key };
  return parseCertificatePair(files, cert, key);
}

export function parseCertificatePair(files: CertificateFiles, cert: Buffer, key: Buffer): PairResult {
  let x509: X509Certificate;
  try {
    x509 = new X509Certificate(cert);
  } catch {
    return { ok: false, file: 'cert', message: `${files.cert} is not a PEM certificate` };
  }
  let privateKey;
  try {
    privateKey = createPrivateKey(key);
  } catch {
    return { ok: false, file: 'key', message: `${files.key} is not an unencrypted PEM private key` };
  }
  if (!x509.checkPrivateKey(privateKey)) {
    return { ok: false, file: 'pair', message: `the key ${files.key} does not belong to the certificate ${files.cert}` };
  }
  try {
    const context = createSecureContext({ cert, key });
    const pair = { files, cert, key, names: dnsNames(x509), validTo: new Date(x509.validTo), fingerprint: x509.fingerprint256, context };
    return { ok: true, pair };
  } catch (err) {
    return { ok: false, file: 'pair', message: `${files.cert} with ${files.key} cannot be used for TLS: ${(err as Error).message}` };
  }
}

/**
 * RFC 6125 §6.4.4: the CN counts only when the certificate has no DNS subjectAltName. Node quotes entries with
 * unusual characters (`DNS:"a,b"`); such a value is no host name a client could send, so it is left out.
 */
function dnsNames(x509: X509Certificate): string[] {
  const fromSan = (x509.subjectAltName ?? '')
    .split(', ')
    .filter((entry) => entry.startsWith('DNS:') && !entry.startsWith('DNS:"'))
    .map((entry) => entry.slice(4).toLowerCase());
  if (fromSan.length > 0) return fromSan;
  const cn = /^CN=(.+)$/m.exec(x509.subject)?.[1];
  return cn === undefined || cn.startsWith('"') ? [] : [cn.toLowerCase()];
}

function readOrFail(path: string, read: (path: string) => Buffer): Buffer | string {
  try {
    return read(path);
  } catch (err) {
    return failure(path)(err);
  }
}

function failure(path: string): (err: unknown) => string {
  return (err) => {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : code === 'EISDIR' ? 'it is a directory' : (err as Error).message;
    return `cannot read ${path}: ${why}`;
  };
}
