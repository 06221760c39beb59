// The latency histogram's bins, exported as Prometheus histogram buckets. Every bucket boundary is an exact bin
// edge, so a bucket counts exactly the requests below its `le` and none is split by guessing: the edges are one
// per doubling, 0.1 ms × 2^k, from 0.1 ms to 52.4 s.

import { BINS_PER_DOUBLING, LATENCY_BINS, MIN_LATENCY_MS } from './latency-bins.ts';

/** The bins whose upper edge is a bucket boundary: bin b holds [0.1 ms × 2^((b-1)/4), 0.1 ms × 2^(b/4)). */
const EDGE_BINS: readonly number[] = edgeBins();

/** The buckets' upper bounds in seconds, ascending, without +Inf. */
export const LATENCY_BUCKET_SECONDS: readonly number[] = EDGE_BINS.map((bin) => edgeSeconds(bin));

/**
 * Cumulative counts for each of LATENCY_BUCKET_SECONDS, then the total (the +Inf bucket), from per-bin counts.
 * A value exactly on an edge lands in the bin above it, so strictly this is "< le" rather than "≤ le"; measured
 * durations never fall on an edge exactly.
 */
export function cumulativeBuckets(bins: ArrayLike<number>): number[] {
  const out: number[] = [];
  let seen = 0;
  let bin = 0;
  for (const edge of EDGE_BINS) {
    for (; bin <= edge; bin++) seen += bins[bin];
    out.push(seen);
  }
  for (; bin < LATENCY_BINS; bin++) seen += bins[bin];
  out.push(seen);
  return out;
}

function edgeBins(): number[] {
  const bins: number[] = [];
  // The last bin (LATENCY_BINS - 1) has no upper edge: it is the overflow, counted only by +Inf.
  for (let bin = 0; bin < LATENCY_BINS - 1; bin += BINS_PER_DOUBLING) bins.push(bin);
  return bins;
}

function edgeSeconds(bin: number): number {
  // 0.1 ms × 2^k is a short decimal (52.4288 s at most); rounding removes the binary noise of the product.
  return Number(((MIN_LATENCY_MS * 2 ** (bin / BINS_PER_DOUBLING)) / 1000).toPrecision(6));
}
