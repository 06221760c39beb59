import { isDeepStrictEqual } from 'node:util';
import type { AppRecord } from '../core/types.ts';

/** The parts of an app record a change is judged by: two writes that touch different parts do not conflict. */
const PARTS = ['live', 'generation', 'pausedUntil'] as const;

/**
 * `ours`, a change computed from `base`, carried onto `theirs`, a newer record another write stored meanwhile (on
 * a shared store, another instance's; or a pause that came during a deployment's step). Part by part (`live`, each
 * environment, the generation, the pause): what only one side changed is taken from it, what both changed alike
 * stays; null when both changed the same part differently, which only the caller can resolve. The revision is
 * `theirs`', for the compare-and-swap of the next write.
 */
export function rebase(base: AppRecord, ours: AppRecord, theirs: AppRecord): AppRecord | null {
  const pick = <T>(b: T, o: T, t: T): { value: T } | null => {
    const oursChanged = !isDeepStrictEqual(b, o);
    if (!oursChanged) return { value: t };
    if (isDeepStrictEqual(b, t) || isDeepStrictEqual(o, t)) return { value: o };
    return null;
  };
  const blue = pick(base.envs.blue, ours.envs.blue, theirs.envs.blue);
  const green = pick(base.envs.green, ours.envs.green, theirs.envs.green);
  if (blue === null || green === null) return null;
  let merged: AppRecord = { ...theirs, envs: { blue: blue.value, green: green.value } };
  for (const part of PARTS) {
    const picked = pick(base[part] ?? null, ours[part] ?? null, theirs[part] ?? null);
    if (picked === null) return null;
    merged = { ...merged, [part]: picked.value };
  }
  return merged;
}
