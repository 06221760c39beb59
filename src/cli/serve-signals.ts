import { takeHeldSignals } from '../core/early-signals.ts';
import { toCutoverError } from '../core/errors.ts';
import { handOver } from '../handover.ts';
import type { Cutover } from '../main.ts';
import { stdout } from './output.ts';

/**
 * The signals `cutover serve` answers, installed before it starts. Starting may take seconds (environments are
 * brought back through their drivers), and Node's default for SIGTERM, SIGINT, SIGHUP and SIGUSR2 alike is to end
 * the process at once, leaving what it started behind. One that comes while it starts is kept and acted on as soon
 * as it serves: a stop stops it then, a reload re-reads the config then; a restart in place is refused (it needs a
 * serving cutover to hand over from). A second SIGTERM or SIGINT ends the process at once, as Node's default does.
 */
export class ServeSignals {
  /** Settles once a stop or a hand-over has ended this cutover's service. */
  readonly stopped: Promise<void>;
  private resolveStopped!: () => void;
  private cutover: Cutover | null = null;
  private pendingStop: string | null = null;
  private pendingReload = false;

  /** `source`: where the signals come from (the process; a test gives its own emitter). */
  constructor(
    private readonly configPath: string,
    source: Pick<NodeJS.EventEmitter, 'on' | 'once'> = process,
  ) {
    this.stopped = new Promise<void>((resolve) => (this.resolveStopped = resolve));
    source.once('SIGTERM', () => this.stop('SIGTERM'));
    source.once('SIGINT', () => this.stop('SIGINT'));
    source.on('SIGHUP', () => this.reload());
    source.on('SIGUSR2', () => this.handOver());
    // What came while the modules loaded (bin/cutover.js held it), as if it came now. Not from a test's emitter. A
    // second SIGTERM or SIGINT finds no handler left, and is sent again for real: Node's default ends the process.
    if (source === process) {
      for (const signal of takeHeldSignals()) {
        if (process.listenerCount(signal) > 0) process.emit(signal);
        else process.kill(process.pid, signal);
      }
    }
  }

  /** The stop signal received while cutover started, if any. */
  get stopAsked(): string | null {
    return this.pendingStop;
  }

  /** Cutover serves: what was asked while it started is done now. */
  serving(cutover: Cutover): void {
    this.cutover = cutover;
    if (this.pendingStop !== null) this.stop(this.pendingStop);
    else if (this.pendingReload) this.reload();
  }

  private stop(signal: string): void {
    const cutover = this.cutover;
    if (cutover === null) {
      this.pendingStop = signal;
      stdout.error(`cutover: ${signal} while starting: stopping as soon as it serves`);
      return;
    }
    cutover.log.info({ signal }, 'shutting down: finishing requests in flight');
    cutover.stop().then(this.resolveStopped, this.resolveStopped);
  }

  private reload(): void {
    const cutover = this.cutover;
    if (cutover === null) {
      this.pendingReload = true;
      return;
    }
    this.pendingReload = false;
    cutover.reloadBySignal('SIGHUP').catch((err) => {
      const e = toCutoverError(err);
      cutover.log.error({ code: e.code }, `reload refused, the running config stays: ${e.message}`);
    });
  }

  /** SIGUSR2: restart or upgrade in place, without refusing a connection or failing a request in flight. */
  private handOver(): void {
    const cutover = this.cutover;
    if (cutover === null) {
      stdout.error('cutover: SIGUSR2 while starting: a restart in place needs a serving cutover; send it again once it serves');
      return;
    }
    handOver(cutover, this.configPath, cutover.log).then(
      (done) => done && this.resolveStopped(),
      (err) => cutover.log.error({ err }, 'the hand-over failed; this cutover goes on serving'),
    );
  }
}
