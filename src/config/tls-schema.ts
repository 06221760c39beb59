// `tls:` (top level): HTTPS on the public listener. `cert` and `key` are the default certificate; `certificates`
// lists more, and each serves the DNS names it carries (subjectAltName), picked per connection by SNI. The names
// come from the certificates themselves rather than from a host map in the config, so the two can never disagree.
// Paths are relative to the config file. The files are read and checked here, so `cutover validate` catches a
// missing file or a key that does not match its certificate.
//
//   tls:
//     cert: ./site.crt
//     key: ./site.key
//     certificates:
//       - { cert: ./shop.crt, key: ./shop.key }

import { isAbsolute, resolve } from 'node:path';
import { type CertificateFiles, readCertificatePairSync } from './certificate-pair.ts';
import { joinPath } from './keys.ts';
import { type ConfigReader, isAbsent, isMapping } from './reader.ts';

export type { CertificateFiles };

export interface TlsConfig {
  /**
   * Every certificate, each serving the DNS names it carries. The first (`tls.cert`, else the first of
   * `tls.certificates`) is also served to clients that send no name, or a name no certificate covers.
   */
  readonly certificates: readonly CertificateFiles[];
}

const TLS_KEYS = { known: ['cert', 'key', 'certificates'] };
const PAIR_KEYS = { known: ['cert', 'key'] };
const HINT = 'must be a mapping like { cert: ./site.crt, key: ./site.key }';

/** Null (plain HTTP) when absent. */
export function readTls(raw: unknown, baseDir: string, r: ConfigReader): TlsConfig | null {
  if (isAbsent(raw)) return null;
  if (!isMapping(raw)) {
    r.problem('tls', HINT);
    return null;
  }
  const before = r.problems.length;
  const tls = r.section(raw, 'tls', TLS_KEYS);
  const fallback = readDefault(tls, r);
  const listed = readList(tls.certificates, r);
  if (r.problems.length > before) return null;
  const entries = [...(fallback === null ? [] : [{ path: 'tls', files: fallback }]), ...listed];
  if (entries.length === 0) {
    r.problem('tls', 'needs a certificate: { cert: ./site.crt, key: ./site.key }');
    return null;
  }
  const certificates = entries.map((e) => ({ path: e.path, files: resolved(e.files, baseDir) }));
  for (const entry of certificates) checkFiles(entry.path, entry.files, entry.path !== 'tls', r);
  if (r.problems.length > before) return null;
  return { certificates: certificates.map((e) => e.files) };
}

/** `tls.cert` with `tls.key`; null when neither is given. */
function readDefault(tls: Readonly<Record<string, unknown>>, r: ConfigReader): CertificateFiles | null {
  const cert = r.optionalString(tls.cert, 'tls.cert');
  const key = r.optionalString(tls.key, 'tls.key');
  if (cert !== null && key !== null) return { cert, key };
  if (cert !== null) r.problem('tls', 'has a cert but no key; give both');
  if (key !== null) r.problem('tls', 'has a key but no cert; give both');
  return null;
}

function readList(raw: unknown, r: ConfigReader): { path: string; files: CertificateFiles }[] {
  if (isAbsent(raw)) return [];
  if (!Array.isArray(raw)) {
    r.problem('tls.certificates', 'must be a list like [{ cert: ./shop.crt, key: ./shop.key }]');
    return [];
  }
  const out: { path: string; files: CertificateFiles }[] = [];
  raw.forEach((item, i) => {
    const path = `tls.certificates[${i}]`;
    if (!isMapping(item)) return r.problem(path, HINT);
    const pair = r.section(item, path, PAIR_KEYS);
    const cert = r.requiredString(pair, 'cert', path, 'needs a cert, like ./shop.crt');
    const key = r.requiredString(pair, 'key', path, 'needs a key, like ./shop.key');
    if (cert !== null && key !== null) out.push({ path, files: { cert, key } });
  });
  return out;
}

/** A listed certificate without a DNS name could never be picked; the default one can (clients without SNI). */
function checkFiles(path: string, files: CertificateFiles, needsNames: boolean, r: ConfigReader): void {
  const result = readCertificatePairSync(files);
  if (!result.ok) return r.problem(result.file === 'pair' ? path : joinPath(path, result.file), result.message);
  if (needsNames && result.pair.names.length === 0) {
    r.problem(joinPath(path, 'cert'), `${files.cert} names no DNS host (no subjectAltName DNS entry or CN), so no client can select it`);
  }
}

function resolved(files: CertificateFiles, baseDir: string): CertificateFiles {
  const abs = (p: string) => (isAbsolute(p) ? p : resolve(baseDir, p));
  return { cert: abs(files.cert), key: abs(files.key) };
}
