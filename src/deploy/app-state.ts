// Pure transitions of an app's environments: each returns the next AppRecord; the controller persists it.
import type { AppRecord, Color, EnvRecord, EnvState } from '../core/types.ts';
import { otherColor } from '../core/types.ts';

export function withEnv(app: AppRecord, color: Color, env: Partial<Omit<EnvRecord, 'color'>>, at: number): AppRecord {
  const next: EnvRecord = { ...app.envs[color], ...env, since: at };
  return { ...app, envs: { ...app.envs, [color]: next } as AppRecord['envs'] };
}

export function withEnvState(app: AppRecord, color: Color, state: EnvState, at: number): AppRecord {
  return withEnv(app, color, { state }, at);
}

/**
 * Makes `color` live. The environment that was live becomes `leftAs`: standby after a switch (kept warm for
 * rollback), ready after a rollback (so a switch can bring it back).
 */
export function flipLive(app: AppRecord, color: Color, leftAs: 'standby' | 'ready', at: number): AppRecord {
  let next = withEnvState(app, color, 'live', at);
  if (app.live !== null && app.live !== color) next = withEnvState(next, app.live, leftAs, at);
  return { ...next, live: color, generation: app.generation + 1 };
}

/**
 * The environment a switch (to the ready candidate only: going back to the standby is a rollback's job, so a switch
 * sent twice does not undo itself) or a rollback (to the standby only: a candidate that was never live must not be
 * made live by a rollback) would make live, if it can take traffic.
 */
export function flipTarget(app: AppRecord, action: 'switch' | 'rollback' = 'switch'): Color | null {
  const color = app.live === null ? readyColor(app) : otherColor(app.live);
  if (color === null) return null;
  const env = app.envs[color];
  const allowed = env.state === (action === 'rollback' ? 'standby' : 'ready');
  return allowed && env.targets.length > 0 ? color : null;
}

/** The role an environment plays, for status output. */
export function roleOf(app: AppRecord, color: Color): 'live' | 'candidate' | 'standby' | 'idle' {
  if (app.live === color) return 'live';
  const state = app.envs[color].state;
  if (state === 'standby') return 'standby';
  if (state === 'ready' || state === 'deploying') return 'candidate';
  return 'idle';
}

function readyColor(app: AppRecord): Color | null {
  if (app.envs.blue.state === 'ready') return 'blue';
  if (app.envs.green.state === 'ready') return 'green';
  return null;
}

/** Paused until `until` (epoch ms), or resumed with null. */
export function withPause(app: AppRecord, until: number | null): AppRecord {
  return { ...app, pausedUntil: until };
}

/** The end of the app's pause, if it is paused at `now`: a pause whose time has passed is none. */
export function pausedUntilOf(app: AppRecord, now: number): number | null {
  const until = app.pausedUntil ?? null;
  return until !== null && until > now ? until : null;
}
