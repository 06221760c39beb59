import type { Target } from './target.ts';

/**
 * Least in-flight among the healthy targets, ties broken round-robin by the rotating start. When no target is
 * healthy every target is tried anyway: answering 502 to everything would be worse than trying a target that
 * may have recovered (the controller raises this loudly).
 */
export function pickTarget(targets: readonly Target[], start: number, exclude: Target | null): Target | null {
  const n = targets.length;
  let best: Target | null = null;
  let fallback: Target | null = null;
  for (let i = 0; i < n; i++) {
    const t = targets[(start + i) % n]!;
    if (t === exclude) continue;
    if (t.healthy) {
      if (best === null || t.inflight < best.inflight) best = t;
    } else if (fallback === null || t.inflight < fallback.inflight) {
      fallback = t;
    }
  }
  return best ?? fallback;
}
