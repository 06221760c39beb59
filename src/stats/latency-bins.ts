// The fixed log-scale latency histogram layout shared by every EnvStats, and the percentile rule over it.
// Fixed (not adaptive) so that histograms from any worker or any second add up bin by bin.

/** Latencies below this land in bin 0; nothing a proxy forwards answers faster. */
export const MIN_LATENCY_MS = 0.1;
/** The upstream response timeout's default; anything slower lands in the last bin. */
export const MAX_LATENCY_MS = 60_000;
/**
 * Four bins per doubling: a bin spans a factor 2^(1/4), so its geometric middle is within 2^(1/8) - 1 ≈ 9.1% of
 * any latency in it. 79 bins × 4 bytes × 121 seconds ≈ 38 KB per environment.
 */
export const BINS_PER_DOUBLING = 4;

const REGULAR_BINS = Math.ceil(Math.log2(MAX_LATENCY_MS / MIN_LATENCY_MS) * BINS_PER_DOUBLING);
/** Bin 0 (below the minimum), the regular bins, and one overflow bin. */
export const LATENCY_BINS = REGULAR_BINS + 2;
/** Names the layout in exported data, so data of a different layout is refused rather than mis-added. */
export const LATENCY_LAYOUT = `log2/${BINS_PER_DOUBLING}/${MIN_LATENCY_MS}ms/${LATENCY_BINS}`;

const BIN_VALUES = binValues();

/** The bin of a latency. NaN and negative durations count as the fastest bin rather than being lost. */
export function binOf(durationMs: number): number {
  if (!(durationMs >= MIN_LATENCY_MS)) return 0;
  const bin = Math.floor(Math.log2(durationMs / MIN_LATENCY_MS) * BINS_PER_DOUBLING) + 1;
  return bin < LATENCY_BINS ? bin : LATENCY_BINS - 1;
}

/** The latency a bin stands for: its geometric middle; the edge bins report their inner bound. */
export function binValue(bin: number): number {
  return BIN_VALUES[bin];
}

/**
 * Nearest-rank percentiles (the smallest value with at least p·n values at or below it) of a histogram holding
 * `total` values, for ascending `ps`; written into `out`. The same rule as `sorted[ceil(p·n) - 1]`.
 */
export function percentiles(hist: ArrayLike<number>, total: number, ps: readonly number[], out: number[]): void {
  let bin = 0;
  let seen = hist[0];
  for (let i = 0; i < ps.length; i++) {
    const rank = Math.max(1, Math.ceil(ps[i] * total));
    while (seen < rank && bin < LATENCY_BINS - 1) seen += hist[++bin];
    out[i] = binValue(bin);
  }
}

function binValues(): Float64Array {
  const values = new Float64Array(LATENCY_BINS);
  values[0] = MIN_LATENCY_MS;
  for (let bin = 1; bin < LATENCY_BINS - 1; bin++) {
    values[bin] = MIN_LATENCY_MS * 2 ** ((bin - 0.5) / BINS_PER_DOUBLING);
  }
  values[LATENCY_BINS - 1] = MIN_LATENCY_MS * 2 ** ((LATENCY_BINS - 2) / BINS_PER_DOUBLING);
  return values;
}
