// `analysis:`, the watch over the new environment after a switch: over `bake`, its 5xx share and p99 latency are
// held to thresholds and to the old environment's figures, and a failing verdict rolls back.

import type { AnalysisConfig } from './config.ts';
import { DEFAULT_ANALYSIS, DEFAULT_ANALYSIS_BAKE_MS } from './defaults.ts';
import { type ConfigReader, isAbsent } from './reader.ts';

/**
 * No `analysis` section: nothing is watched (bake 0). A section without `bake` bakes for DEFAULT_ANALYSIS_BAKE_MS,
 * since writing thresholds and having them never checked would be a silent no-op.
 */
export function readAnalysis(raw: unknown, path: string, r: ConfigReader): AnalysisConfig {
  if (isAbsent(raw)) return DEFAULT_ANALYSIS;
  const analysis = r.section(raw, path, ANALYSIS_KEYS);
  const result: AnalysisConfig = {
    bakeMs: r.duration(analysis.bake, `${path}.bake`, DEFAULT_ANALYSIS_BAKE_MS, { allowZero: true }),
    maxErrorRate: readRate(analysis.maxErrorRate, `${path}.maxErrorRate`, r),
    maxP99Ms: r.optionalDuration(analysis.maxP99, `${path}.maxP99`),
    minRequests: r.count(analysis.minRequests, `${path}.minRequests`, DEFAULT_ANALYSIS.minRequests),
    compareToBaseline: r.boolean(analysis.compareToBaseline, `${path}.compareToBaseline`, DEFAULT_ANALYSIS.compareToBaseline),
  };
  const checksSomething = result.maxErrorRate !== null || result.maxP99Ms !== null || result.compareToBaseline;
  if (result.bakeMs > 0 && !checksSomething) {
    r.problem(path, 'checks nothing: set maxErrorRate or maxP99, or compareToBaseline: true (or bake: 0 to turn it off)');
  }
  return result;
}

const ANALYSIS_KEYS = { known: ['bake', 'maxErrorRate', 'maxP99', 'minRequests', 'compareToBaseline'] };
const RATE_HINT = 'must be a share from 0 to 1, like 0.01, or a percentage like 1%';

// "1%" is how people say it; 0.01 is how it is kept.
function readRate(raw: unknown, path: string, r: ConfigReader): number | null {
  if (isAbsent(raw)) return null;
  const percent = typeof raw === 'string' ? /^\s*(\d+(?:\.\d+)?)\s*%\s*$/.exec(raw) : null;
  const rate = percent ? Number(percent[1]) / 100 : raw;
  if (typeof rate === 'number' && rate >= 0 && rate <= 1) return rate;
  r.problem(path, RATE_HINT);
  return null;
}
