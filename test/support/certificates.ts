// Self-signed certificates for tests, made with the openssl command line (EC P-256: fast to generate).
import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export interface TestCertificate {
  /** Paths of the PEM files. */
  readonly cert: string;
  readonly key: string;
  /** The certificate's PEM text, for a client's `ca`. */
  readonly pem: string;
  readonly fingerprint: string;
}

/**
 * `<dir>/<file>.crt` and `.key`, for the DNS `names` (subjectAltName, and the first as CN). No names: a certificate
 * with neither, which no host name can select.
 */
export function makeCertificate(dir: string, file: string, names: readonly string[]): TestCertificate {
  const cert = join(dir, `${file}.crt`);
  const key = join(dir, `${file}.key`);
  const subject = names.length > 0 ? `/CN=${names[0]}` : '/O=cutover tests';
  const san = names.length > 0 ? ['-addext', `subjectAltName=${names.map((n) => `DNS:${n}`).join(',')}`] : [];
  execFileSync('openssl', [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '2',
    '-keyout', key, '-out', cert, '-subj', subject, ...san,
  ], { stdio: 'ignore', timeout: 10_000 });
  const pem = readFileSync(cert, 'utf8');
  return { cert, key, pem, fingerprint: new X509Certificate(pem).fingerprint256 };
}
