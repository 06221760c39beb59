// The pure rule for a target's health: N consecutive passes make it healthy, M consecutive failures unhealthy.

export interface HealthThresholds {
  readonly healthy: number;
  readonly unhealthy: number;
}

export interface HealthState {
  readonly healthy: boolean;
  readonly passes: number;
  readonly failures: number;
  readonly lastError: string | null;
  readonly checkedAt: number | null;
}

export function initialHealth(healthy: boolean): HealthState {
  return { healthy, passes: 0, failures: 0, lastError: null, checkedAt: null };
}

/** One observation (a probe, or a connection error seen in live traffic) applied to a health state. */
export function observe(
  state: HealthState,
  ok: boolean,
  error: string | null,
  at: number,
  thresholds: HealthThresholds,
): HealthState {
  if (ok) {
    const passes = state.passes + 1;
    return { healthy: state.healthy || passes >= thresholds.healthy, passes, failures: 0, lastError: null, checkedAt: at };
  }
  const failures = state.failures + 1;
  return {
    healthy: state.healthy && failures < thresholds.unhealthy,
    passes: 0,
    failures,
    lastError: error,
    checkedAt: at,
  };
}
