import type { AppConfig, Config } from '../config/config.ts';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Agent, type Dispatcher } from 'undici';
import { localUrl } from '../core/listen.ts';
import type { Logger } from '../core/logger.ts';
import type { DataPath } from './data-path.ts';
import { ProxyServer } from './proxy-server.ts';
import { CertificateStore } from './tls/certificate-store.ts';
import { secureServerFactory } from './tls/secure-server.ts';

/** How to reach an app's candidate through cutover: a URL, and the headers to send with each request. */
export interface CandidateRoute {
  readonly url: string;
  readonly headers: Readonly<Record<string, string>>;
  /** Over HTTPS: cutover calling its own loopback listener, with the app's name for SNI; the certificate is not checked. */
  readonly dispatcher?: Dispatcher;
}

/**
 * The data path's listeners: the public one, and one per app with `preview.listen` that always serves that app's
 * candidate. All share one DataPath, so one route table swap moves them together. With `tls` the public listener
 * speaks HTTPS (HTTP/2 and HTTP/1.1); preview listeners stay plain HTTP, for checks from the same private network.
 */
export class Listeners {
  private readonly public: ProxyServer;
  private readonly previews = new Map<string, ProxyServer>();
  private readonly certificates: CertificateStore | null;
  private certificatesOpen = false;

  constructor(private readonly config: Config, dataPath: DataPath, private readonly log: Logger) {
    const client = { ...config.limits, requestHeadMs: config.timeouts.requestHeadMs, keepAliveMs: config.timeouts.keepAliveMs };
    this.certificates = config.tls === null ? null : new CertificateStore({ config: config.tls, log: log.child({ part: 'tls' }) });
    const createServer = this.certificates === null ? undefined : secureServerFactory(this.certificates, client);
    this.public = new ProxyServer({ listen: config.listen, dataPath, log, mode: { kind: 'public' }, createServer, client });
    for (const app of Object.values(config.apps)) {
      if (app.preview?.listen) {
        const mode = { kind: 'preview', app: app.name } as const;
        this.previews.set(app.name, new ProxyServer({ listen: app.preview.listen, dataPath, log: log.child({ preview: app.name }), mode, client }));
      }
    }
  }

  get publicUrl(): string {
    return urlOf(this.public, this.certificates === null ? 'http' : 'https');
  }

  /** Each preview listener's URL, by app. */
  previewUrls(): Record<string, string> {
    return Object.fromEntries([...this.previews].map(([app, server]) => [app, urlOf(server, 'http')]));
  }

  /**
   * Starts listening, all but the listeners named in `adopted` (which listen on sockets handed over, see `adopt`).
   * Throws (naming the file) when a certificate cannot be read: validation checked them, but files move.
   */
  async listen(adopted: ReadonlySet<string> = new Set()): Promise<void> {
    for (const [app, server] of this.previews) if (!adopted.has(`preview:${app}`)) await server.listen();
    this.prepare();
    if (!adopted.has('public')) await this.public.listen();
  }

  /** Reads the certificates, once: before any listener takes a socket. Throws like `listen`. */
  prepare(): void {
    if (this.certificates === null || this.certificatesOpen) return;
    this.openCertificates(this.certificates);
    this.certificatesOpen = true;
  }

  /**
   * The listener named `name` (`public`, `preview:<app>`) listens on `socket`, a listening socket handed over by the
   * cutover this one replaces, at once (see Handover.receiveListeners). Null when this config has no such listener.
   */
  adopt(name: string, socket: unknown): Promise<AddressInfo> | null {
    const server = name === 'public' ? this.public : this.previews.get(name.slice('preview:'.length));
    return server === undefined ? null : server.listen(socket);
  }

  /** Where each listener listens, by name (`public`, `preview:<app>`): what a data-path worker tells its primary. */
  addresses(): Map<string, AddressInfo> {
    const addresses = new Map<string, AddressInfo>([['public', this.public.address()]]);
    for (const [app, server] of this.previews) addresses.set(`preview:${app}`, server.address());
    return addresses;
  }

  /**
   * In the primary of data-path workers: the workers listen (node:cluster shares their ports), this process never
   * does; its URLs (status, checks through the preview route) are theirs.
   */
  servedBy(addresses: ReadonlyMap<string, AddressInfo>): void {
    const address = addresses.get('public');
    if (address !== undefined) this.public.servedElsewhere(address);
    for (const [app, server] of this.previews) {
      const preview = addresses.get(`preview:${app}`);
      if (preview !== undefined) server.servedElsewhere(preview);
    }
  }

  /** Every listening server by name, to hand over to the cutover that replaces this one. */
  servers(): Map<string, Server> {
    const servers = new Map<string, Server>([['public', this.public.listening]]);
    for (const [app, server] of this.previews) servers.set(`preview:${app}`, server.listening);
    return servers;
  }

  /** The public listener stops last: previews are not what users depend on. */
  async close(drainMs: number): Promise<void> {
    for (const agent of this.tlsAgents.values()) void agent.close();
    await this.public.close(drainMs);
    await Promise.all([...this.previews.values()].map((s) => s.close(0)));
    this.certificates?.close();
  }

  /** The preview listener when the app has one, else the public listener with the preview header; null without preview. */
  previewRoute(app: AppConfig | undefined): CandidateRoute | null {
    if (app?.preview == null) return null;
    const listener = this.previews.get(app.name);
    if (listener !== undefined) return { url: urlOf(listener, 'http'), headers: {} };
    // Through the public listener the Host picks the app, so an app with hosts must be asked for by one of them.
    const host: Record<string, string> = app.hosts.length > 0 ? { host: app.hosts[0]! } : {};
    const headers = { ...host, [app.preview.header]: app.preview.secret };
    if (this.certificates === null) return { url: this.publicUrl, headers };
    return { url: this.publicUrl, headers, dispatcher: this.loopbackTls(app.hosts[0]) };
  }

  private readonly tlsAgents = new Map<string, Agent>();

  private loopbackTls(servername: string | undefined): Agent {
    const key = servername ?? '';
    let agent = this.tlsAgents.get(key);
    if (agent === undefined) {
      agent = new Agent({ connect: { rejectUnauthorized: false, ...(servername ? { servername } : {}) } });
      this.tlsAgents.set(key, agent);
    }
    return agent;
  }

  /** An app host that no certificate names still works, but its clients see a name mismatch: say so at start. */
  private openCertificates(certificates: CertificateStore): void {
    certificates.open();
    for (const app of Object.values(this.config.apps)) {
      for (const host of app.hosts) {
        if (!certificates.covers(host)) this.log.warn({ app: app.name, host }, `no certificate in tls names ${host}; its clients get the default one`);
      }
    }
  }
}

function urlOf(server: ProxyServer, scheme: 'http' | 'https'): string {
  return localUrl(server.address(), scheme);
}
