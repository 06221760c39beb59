// The traffic seconds of one app as the page has seen them. The server keeps two minutes; the page keeps what it
// fetched for `spanMs`, asking each time only for the seconds since its last call, plus a few to spare for timers
// that fired late (seconds fetched twice simply replace each other).

const MAX_SECONDS = 120;
const OVERLAP_SECONDS = 3;
/** The spans a chart may cover; the longest is what the buffer keeps. */
const SPANS_MS = [30_000, 60_000, 120_000, 180_000, 300_000];

export class TrafficBuffer {
  constructor() {
    this.spanMs = SPANS_MS.at(-1);
    this.seconds = { blue: new Map(), green: new Map() };
    /** The last answer of the traffic call: its `envs.*` hold the current figures and shares. */
    this.latest = null;
    this.receivedAt = 0;
  }

  /** How many seconds to ask for: all the server has the first time, then what is new plus a little overlap. */
  secondsToFetch(now) {
    if (this.latest === null) return MAX_SECONDS;
    const missed = Math.ceil((now - this.receivedAt) / 1000) + OVERLAP_SECONDS;
    return Math.min(MAX_SECONDS, Math.max(OVERLAP_SECONDS, missed));
  }

  /** @param {{ at: number, envs: Record<'blue' | 'green', { points: { at: number }[] }> }} traffic */
  add(traffic) {
    for (const color of ['blue', 'green']) {
      const seconds = this.seconds[color];
      for (const point of traffic.envs[color].points) seconds.set(point.at, point);
      for (const at of seconds.keys()) if (at < traffic.at - this.spanMs - 1000) seconds.delete(at);
    }
    this.latest = traffic;
    this.receivedAt = Date.now();
  }

  /** The server's clock now, so the charts end where the server's seconds do even if the clocks differ. */
  now() {
    return this.latest === null ? Date.now() : this.latest.at + (Date.now() - this.receivedAt);
  }

  /**
   * The time the charts cover: the shortest span that holds every second with traffic, so that on a quiet or
   * young page the charts are not mostly empty.
   */
  chartSpan(now) {
    let first = now;
    for (const seconds of Object.values(this.seconds)) for (const p of seconds.values()) if (p.requests > 0 && p.at < first) first = p.at;
    return SPANS_MS.find((span) => span >= now - first) ?? this.spanMs;
  }

  /** Each environment's seconds, oldest first. */
  points() {
    const sorted = (map) => [...map.values()].sort((a, b) => a.at - b.at);
    return { blue: sorted(this.seconds.blue), green: sorted(this.seconds.green) };
  }
}
