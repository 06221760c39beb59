// A data-path worker: the listeners, the route table and the target pools, nothing else. The primary runs the
// control plane (admin API, health checks, deployments, store), sends route tables and health verdicts, and merges
// what each worker reports.

import type { Config } from '../config/config.ts';
import { takeHeldSignals } from '../core/early-signals.ts';
import { toCutoverError } from '../core/errors.ts';
import type { Logger } from '../core/logger.ts';
import { AccessLog } from '../log/access-log.ts';
import { createLogger } from '../log/logger.ts';
import { TargetRegistry } from '../pool/target-registry.ts';
import type { Target } from '../pool/target.ts';
import { DataPath } from '../proxy/data-path.ts';
import { Listeners } from '../proxy/listeners.ts';
import { StatsRegistry } from '../stats/stats-registry.ts';
import { UpstreamErrorTally } from '../stats/upstream-errors.ts';
import type { FromWorker, HealthVerdict, ToWorker } from './messages.ts';
import { ReportCollector } from './worker-report.ts';
import { targetSettings } from '../pool/target-settings.ts';

/** How often a worker sends its figures; analysis and status see traffic this much later than it happened. */
export const REPORT_INTERVAL_MS = 250;

/** Runs until the primary says stop, or goes away. */
export async function runWorker(): Promise<void> {
  const log = createLogger().child({ part: 'worker', pid: process.pid });
  // Ctrl-C reaches the whole process group; the primary decides when its workers stop.
  process.on('SIGINT', () => {});
  // A SIGTERM (systemd stops a service by signalling its whole group) that comes before the worker listens is
  // acted on once it does, as the primary acts on one that comes while it starts: a worker that died starting
  // would fail the primary's start.
  let running: DataPathWorker | null = null;
  let stopAsked = takeHeldSignals().includes('SIGTERM');
  process.on('SIGTERM', () => {
    stopAsked = true;
    if (running?.listening) void running.stop(0);
  });
  // Messages can arrive together (config, then routes): each one is kept from the start, none is lost.
  const queued: ToWorker[] = [];
  let worker: DataPathWorker | null = null;
  let configured: (config: Config) => void = () => {};
  const config = new Promise<Config>((resolve) => (configured = resolve));
  process.on('message', (message: ToWorker) => {
    if (worker !== null) worker.handle(message);
    else if (message.kind === 'config') configured(message.config);
    // Told to stop before it was even configured (the primary's start failed): nothing is open, nothing to finish.
    else if (message.kind === 'stop') process.exit(0);
    else queued.push(message);
  });
  send({ kind: 'ready' });
  const started = new DataPathWorker(await config, log);
  running = worker = started;
  for (const message of queued.splice(0)) started.handle(message);
  // The primary is gone (killed): nobody routes this worker any more, so it ends what it has and exits.
  process.on('disconnect', () => void started.stop(1_000));
  await started.start();
  if (stopAsked) void started.stop(0);
}

class DataPathWorker {
  private readonly settings: { config: Config };
  private readonly registry: TargetRegistry;
  private readonly dataPath: DataPath;
  private readonly listeners: Listeners;
  private readonly accessLog: AccessLog | null;
  private readonly report: ReportCollector;
  private timer: NodeJS.Timeout | null = null;
  private stopping = false;
  /** Its listeners are open (and the primary told). */
  listening = false;

  constructor(config: Config, private readonly log: Logger) {
    this.settings = { config };
    this.registry = new TargetRegistry({
      listener: { onTargetHealth: () => {}, onTrafficFailure: (target, error) => this.failure(target, error) },
      clock: Date.now,
      settings: (app) => targetSettings(this.settings.config, app),
      probes: false,
    });
    const stats = new StatsRegistry();
    const upstreamErrors = new UpstreamErrorTally();
    const access = config.accessLog;
    this.accessLog = access === null ? null : new AccessLog({ path: access.path, log: log.child({ part: 'access-log' }) });
    this.dataPath = new DataPath({ registry: this.registry, stats, upstreamErrors, accessLog: this.accessLog });
    this.listeners = new Listeners(config, this.dataPath, log.child({ part: 'proxy' }));
    this.report = new ReportCollector({ stats, registry: this.registry, dataPath: this.dataPath, upstreamErrors });
  }

  async start(): Promise<void> {
    try {
      await this.listeners.listen();
    } catch (err) {
      const { code, message } = toCutoverError(err);
      send({ kind: 'failed', code, message });
      process.disconnect?.();
      process.exit(1);
    }
    send({ kind: 'listening', addresses: [...this.listeners.addresses()] });
    this.listening = true;
    this.timer = setInterval(() => send(this.report.take()), REPORT_INTERVAL_MS);
  }

  handle(message: ToWorker): void {
    switch (message.kind) {
      case 'config':
        this.settings.config = message.config;
        this.accessLog?.reopen();
        this.registry.reconfigure();
        return;
      case 'routes':
        this.dataPath.apply(message.table);
        this.assume(message.health);
        send({ kind: 'applied', generation: message.table.generation });
        return;
      case 'health':
        this.assume(message.verdicts);
        return;
      case 'stop':
        void this.stop(message.drainMs);
    }
  }

  /** Stops accepting, finishes what is in flight (up to `drainMs`), sends the last figures, exits. */
  async stop(drainMs: number): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    await this.listeners.close(drainMs).catch((err) => this.log.error({ err }, 'closing the listeners failed'));
    if (this.timer !== null) clearInterval(this.timer);
    send(this.report.take());
    await this.accessLog?.close();
    await this.registry.close(0);
    process.disconnect?.();
    process.exit(0);
  }

  private assume(verdicts: readonly HealthVerdict[]): void {
    for (const v of verdicts) this.registry.get(v.app, v.color, v.url)?.assumeHealth(v.healthy, v.reason);
  }

  private failure(target: Target, error: string): void {
    send({ kind: 'failure', app: target.app, color: target.color, url: target.url, error });
  }
}

function send(message: FromWorker): void {
  if (process.connected) process.send?.(message);
}

