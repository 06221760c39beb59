// The flip of an app's live environment, as both a deployment and an operator's manual switch or rollback make it.
import type { EventInput } from '../core/events.ts';
import type { Logger } from '../core/logger.ts';
import type { AppRecord, Color } from '../core/types.ts';
import { flipLive } from './app-state.ts';

/** What a flip needs from the app it flips. */
export interface FlipHost {
  readonly record: AppRecord;
  cancelRetire(color: Color): void;
  emit(event: EventInput): void;
}

export interface Flip {
  readonly to: Color;
  /** What the environment that was live becomes: standby after a switch, ready after a rollback. */
  readonly leftAs: 'standby' | 'ready';
  readonly action: 'switch' | 'rollback';
  readonly who: string;
  /** The deployment the flip belongs to, for its event; why it rolls back. */
  readonly deployment?: string;
  readonly reason?: string;
}

/**
 * Makes `flip.to` live: stores the flipped record through `save` (which may store a deployment in the same commit;
 * every data path opens connections to `flip.to` as it applies the flipped route table), keeps the new live environment from being retired, then logs and announces it.
 * A save that fails leaves live, and the environment's retirement, as they were.
 */
export async function flipApp(host: FlipHost, flip: Flip, save: (next: AppRecord) => Promise<void>, log: Logger, now: number): Promise<void> {
  const { to, leftAs, action, who, deployment, reason } = flip;
  const from = host.record.live;
  await save(flipLive(host.record, to, leftAs, now));
  host.cancelRetire(to);
  const app = host.record.name;
  const version = host.record.envs[to].version;
  log.info({ app, from, to, version, who }, `${action}: ${to} is live`);
  host.emit({ type: action, app, from, to, version, who, ...(deployment === undefined ? {} : { deployment }), ...(reason === undefined ? {} : { reason }) });
}
