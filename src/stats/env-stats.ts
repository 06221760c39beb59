// Request statistics of one environment over a sliding window, recorded from the data path.
// A ring of one-second buckets, each with a request count, a 5xx count and a latency histogram, all in typed
// arrays allocated once: recording a request is a handful of increments and never allocates.
// Beside the window, monotonic totals (per status class, per latency bin, and the latency sum) feed Prometheus
// counters and histograms, which must never go down.

import { systemClock, type Clock } from '../core/clock.ts';
import { binOf, LATENCY_BINS, LATENCY_LAYOUT, percentiles } from './latency-bins.ts';
import { STATUS_CLASSES, statusClassIndex } from './status-class.ts';

/** Figures over a window. Percentiles are null when the window holds no request. */
export interface StatsSnapshot {
  readonly requests: number;
  readonly errors5xx: number;
  /** errors5xx / requests; 0 without requests. */
  readonly errorRate: number;
  readonly p50Ms: number | null;
  readonly p90Ms: number | null;
  readonly p99Ms: number | null;
  /** Requests per second over the part of the window the buckets cover. */
  readonly rps: number;
}

/** The raw, JSON-serializable form of an EnvStats, for merging the stats of several worker processes. */
export interface EnvStatsData {
  /** Histogram layout; `merge` refuses data of another layout. */
  readonly layout: string;
  readonly windowSeconds: number;
  /** Only seconds with requests, oldest first. */
  readonly seconds: readonly SecondData[];
}

export interface SecondData {
  /** Epoch second (epoch ms / 1000, floored). */
  readonly at: number;
  readonly requests: number;
  readonly errors5xx: number;
  /** Non-empty latency bins as flat pairs: [bin, count, bin, count, ...]. */
  readonly latency: readonly number[];
}

/**
 * Counts for Prometheus. `requests` starts again at zero when `clear` is called (a new version was deployed to the
 * environment, so the metric's `version` label changes with it); the latency histogram never does, since its
 * series has no version label. Totals belong to this process: `export` and `merge` do not carry them.
 */
export interface EnvTotals {
  /** Requests since the last `clear`, by status class, indexed as STATUS_CLASSES. */
  readonly requests: readonly number[];
  /** Requests since this EnvStats was made, by latency bin (see latency-bins.ts). */
  readonly latencyBins: readonly number[];
  /** The sum of those requests' durations. */
  readonly latencySumMs: number;
}

/**
 * What one process recorded since it last reported: the seconds (as `export` gives them) and its Prometheus totals
 * over the same requests. A data-path worker sends it to the primary, which adds it with `absorb`.
 */
export interface EnvDelta extends EnvStatsData {
  /** Requests by status class, indexed as STATUS_CLASSES. */
  readonly classes: readonly number[];
  readonly latencySumMs: number;
}

export interface EnvStatsOptions {
  /** Seconds of history kept besides the current one. */
  readonly windowSeconds?: number;
  readonly clock?: Clock;
}

export const DEFAULT_WINDOW_SECONDS = 120;
const SECOND_MS = 1000;
const PERCENTILES = [0.5, 0.9, 0.99] as const;

export class EnvStats {
  readonly windowSeconds: number;
  private readonly clock: Clock;
  /** Slots in the ring: the kept history plus the current, partial second. */
  private readonly slots: number;
  /** The epoch second each slot holds; -1 for never used. A slot is cleared lazily when a newer second reuses it. */
  private readonly epochs: Float64Array;
  private readonly requests: Uint32Array;
  private readonly errors: Uint32Array;
  /** slots × LATENCY_BINS counts, one row per slot. */
  private readonly latency: Uint32Array;
  // Float64 rather than Uint32: at 20k requests/s a 32-bit total wraps within three days; a double counts exactly
  // to 2^53. Totals per class since creation, and their value at the last clear.
  private readonly classTotals = new Float64Array(STATUS_CLASSES.length);
  private readonly classBase = new Float64Array(STATUS_CLASSES.length);
  private readonly latencyTotals = new Float64Array(LATENCY_BINS);
  /** One element, so that adding to it stores a raw double rather than boxing a number on the object. */
  private readonly latencySum = new Float64Array(1);
  /** Scratch space for queries, so a snapshot allocates only its result. */
  private readonly merged = new Float64Array(LATENCY_BINS);
  private readonly quantiles = [0, 0, 0];

  constructor(options: EnvStatsOptions = {}) {
    const windowSeconds = options.windowSeconds ?? DEFAULT_WINDOW_SECONDS;
    if (!Number.isInteger(windowSeconds) || windowSeconds < 1) {
      throw new RangeError(`windowSeconds must be a whole number of seconds, at least 1 (got ${windowSeconds})`);
    }
    this.windowSeconds = windowSeconds;
    this.clock = options.clock ?? systemClock;
    this.slots = windowSeconds + 1;
    this.epochs = new Float64Array(this.slots).fill(-1);
    this.requests = new Uint32Array(this.slots);
    this.errors = new Uint32Array(this.slots);
    this.latency = new Uint32Array(this.slots * LATENCY_BINS);
  }

  /** Adds the stats of several processes into a new EnvStats keeping the longest of their windows. */
  static merge(list: readonly EnvStatsData[], options: EnvStatsOptions = {}): EnvStats {
    const windowSeconds = Math.max(options.windowSeconds ?? 1, ...list.map((d) => d.windowSeconds));
    const stats = new EnvStats({ ...options, windowSeconds });
    const newest = Math.max(-1, ...list.flatMap((d) => d.seconds.map((s) => s.at)));
    for (const data of list) stats.add(data, newest - stats.slots);
    return stats;
  }

  /**
   * Counts one finished request. Called per request: O(1), and allocates nothing itself (reading the clock makes
   * V8 box one short-lived double; a caller that has the time already can pass it). Answers cutover gives itself
   * (502 when no target could be reached, 504 on a timeout) are passed with their status and count as 5xx.
   */
  record(statusCode: number, durationMs: number, now: number = this.clock.now()): void {
    const slot = this.slotAt(Math.floor(now / SECOND_MS));
    const bin = binOf(durationMs);
    this.requests[slot]++;
    if (statusCode >= 500 && statusCode <= 599) this.errors[slot]++;
    this.latency[slot * LATENCY_BINS + bin]++;
    this.classTotals[statusClassIndex(statusCode)]++;
    this.latencyTotals[bin]++;
    if (durationMs > 0 && durationMs < Infinity) this.latencySum[0] += durationMs;
  }

  /** The monotonic counts behind the Prometheus metrics. Allocates its result: called per scrape, not per request. */
  totals(): EnvTotals {
    const requests = Array.from(this.classTotals, (total, i) => total - this.classBase[i]);
    return { requests, latencyBins: Array.from(this.latencyTotals), latencySumMs: this.latencySum[0] };
  }

  /** The last `windowMs` up to `now`. */
  snapshot(windowMs: number, now: number = this.clock.now()): StatsSnapshot {
    return this.window(now - windowMs, now);
  }

  /**
   * The requests recorded from `fromMs` to `toMs`, e.g. from a switch until now. Buckets are whole seconds: the
   * seconds holding `fromMs` and `toMs` count whole. A window reaching further back than the kept history covers
   * what is kept.
   */
  window(fromMs: number, toMs: number): StatsSnapshot {
    if (!Number.isFinite(toMs)) throw new RangeError(`a stats window must end at a finite time (got ${toMs})`);
    const last = Math.floor(toMs / SECOND_MS);
    const first = Math.max(Math.floor(fromMs / SECOND_MS), last - this.slots + 1);
    this.merged.fill(0);
    let requests = 0;
    let errors = 0;
    for (let sec = first; sec <= last; sec++) {
      const slot = sec % this.slots;
      if (this.epochs[slot] !== sec) continue;
      requests += this.requests[slot];
      errors += this.errors[slot];
      this.addRow(slot);
    }
    return this.summarize(requests, errors, toMs - first * SECOND_MS);
  }

  /**
   * Forgets the window, in place: the data path keeps its reference (a new version was deployed here). The request
   * totals start again from zero for the new version; the latency histogram's totals are kept.
   */
  clear(): void {
    this.epochs.fill(-1);
    this.classBase.set(this.classTotals);
  }

  /** The seconds still inside the window at `now`, for `merge` in another process. */
  export(now: number = this.clock.now()): EnvStatsData {
    const oldest = Math.floor(now / SECOND_MS) - this.slots;
    const used = [...this.epochs].filter((sec) => sec > oldest).sort((a, b) => a - b);
    const seconds = used.map((sec) => this.secondData(sec));
    return { layout: LATENCY_LAYOUT, windowSeconds: this.windowSeconds, seconds };
  }

  /**
   * Everything recorded since the previous call, then forgotten here: the worker side of `absorb`. Null when nothing
   * was recorded, so an idle worker sends nothing.
   */
  takeDelta(now: number = this.clock.now()): EnvDelta | null {
    const classes = Array.from(this.classTotals, (total, i) => total - this.classBase[i]);
    if (classes.every((n) => n === 0)) return null;
    const data = this.export(now);
    const latencySumMs = this.latencySum[0];
    this.epochs.fill(-1);
    this.classBase.set(this.classTotals);
    this.latencySum[0] = 0;
    return { ...data, classes, latencySumMs };
  }

  /** Adds what another process recorded (see `takeDelta`): to the window, and to the totals behind the metrics. */
  absorb(delta: EnvDelta, now: number = this.clock.now()): void {
    this.add(delta, Math.floor(now / SECOND_MS) - this.slots);
    delta.classes.forEach((n, i) => (this.classTotals[i] += n));
    for (const second of delta.seconds) {
      for (let i = 0; i < second.latency.length; i += 2) this.latencyTotals[second.latency[i]] += second.latency[i + 1];
    }
    this.latencySum[0] += delta.latencySumMs;
  }

  /** Returns the slot for an epoch second, clearing it when it still holds an older second. */
  private slotAt(sec: number): number {
    const slot = sec % this.slots;
    // A slot holding a newer second means the clock stepped back: count there rather than drop the request.
    if (this.epochs[slot] < sec) this.resetSlot(slot, sec);
    return slot;
  }

  private resetSlot(slot: number, sec: number): void {
    this.epochs[slot] = sec;
    this.requests[slot] = 0;
    this.errors[slot] = 0;
    this.latency.fill(0, slot * LATENCY_BINS, (slot + 1) * LATENCY_BINS);
  }

  private addRow(slot: number): void {
    const base = slot * LATENCY_BINS;
    for (let bin = 0; bin < LATENCY_BINS; bin++) this.merged[bin] += this.latency[base + bin];
  }

  private summarize(requests: number, errors: number, spanMs: number): StatsSnapshot {
    if (requests === 0) return { requests, errors5xx: 0, errorRate: 0, p50Ms: null, p90Ms: null, p99Ms: null, rps: 0 };
    percentiles(this.merged, requests, PERCENTILES, this.quantiles);
    const [p50Ms, p90Ms, p99Ms] = this.quantiles;
    const rps = spanMs > 0 ? (requests * SECOND_MS) / spanMs : 0;
    return { requests, errors5xx: errors, errorRate: errors / requests, p50Ms, p90Ms, p99Ms, rps };
  }

  private secondData(sec: number): SecondData {
    const slot = sec % this.slots;
    const latency: number[] = [];
    for (let bin = 0; bin < LATENCY_BINS; bin++) {
      const count = this.latency[slot * LATENCY_BINS + bin];
      if (count > 0) latency.push(bin, count);
    }
    return { at: sec, requests: this.requests[slot], errors5xx: this.errors[slot], latency };
  }

  /** Adds exported seconds newer than `after`; older ones fall outside this ring. */
  private add(data: EnvStatsData, after: number): void {
    if (data.layout !== LATENCY_LAYOUT) {
      throw new RangeError(`cannot merge stats with histogram layout ${data.layout} into ${LATENCY_LAYOUT}`);
    }
    for (const second of data.seconds) {
      if (second.at <= after) continue;
      const slot = this.slotAt(second.at);
      this.requests[slot] += second.requests;
      this.errors[slot] += second.errors5xx;
      for (let i = 0; i < second.latency.length; i += 2) {
        this.latency[slot * LATENCY_BINS + second.latency[i]] += second.latency[i + 1];
      }
    }
  }
}
