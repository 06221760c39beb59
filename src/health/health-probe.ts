import { request, type Dispatcher } from 'undici';
import type { HealthConfig } from '../config/config.ts';

/** Where a probe reports each result; the target above it decides what the result means. */
export interface ProbeListener {
  onProbe(ok: boolean, error: string | null): void;
}

export interface HealthProbeOptions {
  readonly url: string;
  readonly config: HealthConfig;
  readonly listener: ProbeListener;
  /** Probes use their own dispatcher so that draining a target's traffic pool never stops its checks. */
  readonly dispatcher: Dispatcher;
}

/** Active HTTP checks of one target: GET `path` every `interval`; a 2xx or 3xx within `timeout` passes. */
export class HealthProbe {
  private timer: NodeJS.Timeout | null = null;
  private stopped = false;

  constructor(private readonly options: HealthProbeOptions) {}

  start(): void {
    this.stopped = false;
    this.schedule(0);
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  /** One check now; resolves with its outcome. */
  async check(): Promise<{ ok: boolean; error: string | null }> {
    const { url, config, dispatcher } = this.options;
    try {
      const res = await request(new URL(config.path, url), {
        dispatcher,
        method: 'GET',
        headersTimeout: config.timeoutMs,
        bodyTimeout: config.timeoutMs,
        signal: AbortSignal.timeout(config.timeoutMs),
        headers: { 'user-agent': 'cutover-health' },
      });
      await res.body.dump();
      if (res.statusCode >= 200 && res.statusCode < 400) return { ok: true, error: null };
      return { ok: false, error: `GET ${config.path} answered ${res.statusCode}` };
    } catch (err) {
      return { ok: false, error: `GET ${config.path} failed: ${describeError(err)}` };
    }
  }

  private schedule(delay: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => void this.tick(), delay);
    this.timer.unref();
  }

  private async tick(): Promise<void> {
    const result = await this.check();
    if (this.stopped) return;
    this.options.listener.onProbe(result.ok, result.error);
    this.schedule(this.options.config.intervalMs);
  }
}

export function describeError(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const code = (err as { code?: string }).code ?? (err.cause as { code?: string } | undefined)?.code;
  // undici's codes (probes), then those of cutover's own upstream connections (traffic).
  if (err.name === 'TimeoutError' || code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'RESPONSE_TIMEOUT' || code === 'CONNECT_TIMEOUT') return 'timed out';
  if (code === 'ECONNREFUSED') return 'connection refused';
  if (code === 'ECONNRESET' || code === 'UND_ERR_SOCKET' || code === 'CLOSED') return 'connection reset';
  return code ? `${code}: ${err.message}` : err.message;
}
