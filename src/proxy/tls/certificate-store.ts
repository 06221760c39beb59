import type { SecureContext } from 'node:tls';
import type { TlsConfig } from '../../config/tls-schema.ts';
import { CutoverError } from '../../core/errors.ts';
import type { Logger } from '../../core/logger.ts';
import { type CertificatePair, readCertificatePair, readCertificatePairSync } from '../../config/certificate-pair.ts';
import { FileWatcher } from './file-watcher.ts';

export interface CertificateStoreOptions {
  readonly config: TlsConfig;
  readonly log: Logger;
  readonly debounceMs?: number;
  readonly pollMs?: number;
}

export type SniCallback = (servername: string, done: (err: Error | null, context?: SecureContext) => void) => void;

/**
 * The public listener's certificates: picks one per TLS handshake by the name the client sent (SNI), and swaps in
 * new files when they change on disk. A swap only affects handshakes after it, so connections already open keep
 * going; a new file that cannot be used is logged and the previous certificate stays.
 */
export class CertificateStore {
  /** In config order; the first is the default. Replaced whole, never edited, so a handshake sees one version. */
  private pairs: readonly CertificatePair[] = [];
  private byName = new Map<string, SecureContext>();
  private readonly defaultListeners: ((pair: CertificatePair) => void)[] = [];
  private readonly watcher: FileWatcher;

  constructor(private readonly options: CertificateStoreOptions) {
    const files = options.config.certificates.flatMap((c) => [c.cert, c.key]);
    this.watcher = new FileWatcher({ files, onChange: this.reload, debounceMs: options.debounceMs, pollMs: options.pollMs });
  }

  /** Reads every certificate and starts watching their files. Throws, naming the file, when one cannot be served. */
  open(): void {
    // Watching starts first: a file that changes while it is read is seen by the next check.
    this.watcher.start();
    this.pairs = this.options.config.certificates.map((files) => {
      const result = readCertificatePairSync(files);
      if (!result.ok) throw new CutoverError('TLS_CERTIFICATE', 500, `cannot serve HTTPS: ${result.message}`);
      return result.pair;
    });
    this.byName = indexByName(this.pairs);
    for (const pair of this.pairs) this.warnIfExpired(pair);
    this.announceDefault();
  }

  get certificates(): readonly CertificatePair[] {
    return this.pairs;
  }

  /** `listener` gets the default certificate now (once open) and again whenever it is replaced. */
  onDefault(listener: (pair: CertificatePair) => void): void {
    this.defaultListeners.push(listener);
    if (this.pairs.length > 0) listener(this.pairs[0]!);
  }

  /** Node's SNICallback. No context means the server's own: the default certificate. */
  readonly SNICallback: SniCallback = (servername, done) => done(null, this.contextFor(servername));

  /** The context of the first certificate whose names cover `servername`, exactly or by a wildcard. */
  contextFor(servername: string): SecureContext | undefined {
    const name = servername.toLowerCase();
    const exact = this.byName.get(name);
    if (exact !== undefined) return exact;
    // RFC 6125 §6.4.3: `*` stands for exactly one label, the left-most one.
    const dot = name.indexOf('.');
    return dot > 0 ? this.byName.get(`*${name.slice(dot)}`) : undefined;
  }

  /** Whether a certificate (the default included) names `host`; else its clients see a name mismatch. */
  covers(host: string): boolean {
    return this.contextFor(host) !== undefined;
  }

  /** Re-reads now whatever changed on disk; the watcher does this by itself. */
  checkNow(): Promise<void> {
    return this.watcher.check();
  }

  close(): void {
    this.watcher.close();
  }

  private readonly reload = async (changed: readonly string[]): Promise<void> => {
    const next = [...this.pairs];
    for (const [i, pair] of this.pairs.entries()) {
      if (changed.includes(pair.files.cert) || changed.includes(pair.files.key)) next[i] = await this.reread(pair);
    }
    if (next.every((pair, i) => pair === this.pairs[i])) return;
    const defaultChanged = next[0] !== this.pairs[0];
    this.pairs = next;
    this.byName = indexByName(next);
    if (defaultChanged) this.announceDefault();
  };

  /** The pair as it is on disk now, or the one in use when the files are not usable (yet: a half-done copy). */
  private async reread(pair: CertificatePair): Promise<CertificatePair> {
    const { log } = this.options;
    const result = await readCertificatePair(pair.files);
    if (!result.ok) {
      log.warn({ cert: pair.files.cert, key: pair.files.key }, `${result.message}; still serving the previous certificate`);
      return pair;
    }
    const fresh = result.pair;
    if (fresh.cert.equals(pair.cert) && fresh.key.equals(pair.key)) return pair;
    log.info({ cert: pair.files.cert, names: fresh.names, validTo: fresh.validTo, fingerprint: fresh.fingerprint }, 'certificate reloaded');
    this.warnIfExpired(fresh);
    return fresh;
  }

  private announceDefault(): void {
    for (const listener of this.defaultListeners) listener(this.pairs[0]!);
  }

  private warnIfExpired(pair: CertificatePair): void {
    if (pair.validTo.getTime() > Date.now()) return;
    this.options.log.warn({ cert: pair.files.cert, validTo: pair.validTo }, `the certificate ${pair.files.cert} has expired`);
  }
}

/** Every name of every certificate; when two certificates name the same host, the one listed first serves it. */
function indexByName(pairs: readonly CertificatePair[]): Map<string, SecureContext> {
  const index = new Map<string, SecureContext>();
  for (const pair of pairs) {
    for (const name of pair.names) if (!index.has(name)) index.set(name, pair.context);
  }
  return index;
}
