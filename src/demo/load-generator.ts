import { Pool } from 'undici';

export interface LoadCounts {
  /** Requests answered, by the version that answered (the `x-version` header). */
  readonly byVersion: Record<string, number>;
  /** Answers with a 5xx status that the app itself sent (it carried `x-version`). */
  appErrors: number;
  /** Requests cutover failed: no answer, or a 5xx of cutover's own (no `x-version`). */
  failed: number;
  total: number;
}

const PAUSE_BETWEEN_MS = 5;

/**
 * The demo's traffic: a few keep-alive clients sending requests back to back to the proxy, counting who answered.
 * Each client waits a little between requests so the demo does not eat the machine.
 */
export class LoadGenerator {
  readonly counts: LoadCounts = { byVersion: {}, appErrors: 0, failed: 0, total: 0 };
  private running = false;
  private readonly pool: Pool;
  private loops: Promise<void>[] = [];

  constructor(private readonly url: string, private readonly clients = 8) {
    this.pool = new Pool(url, { connections: clients, keepAliveTimeout: 30_000 });
  }

  start(): void {
    this.running = true;
    this.loops = Array.from({ length: this.clients }, () => this.loop());
  }

  async stop(): Promise<void> {
    this.running = false;
    await Promise.all(this.loops);
    await this.pool.close();
  }

  private async loop(): Promise<void> {
    while (this.running) {
      await this.once();
      await new Promise((r) => setTimeout(r, PAUSE_BETWEEN_MS));
    }
  }

  private async once(): Promise<void> {
    this.counts.total++;
    try {
      const res = await this.pool.request({ path: '/', method: 'GET', headersTimeout: 10_000, bodyTimeout: 10_000 });
      await res.body.dump();
      const version = res.headers['x-version'];
      if (typeof version !== 'string') {
        if (res.statusCode >= 500) this.counts.failed++;
        return;
      }
      this.counts.byVersion[version] = (this.counts.byVersion[version] ?? 0) + 1;
      if (res.statusCode >= 500) this.counts.appErrors++;
    } catch {
      this.counts.failed++;
    }
  }
}
