// Upstream failures by app, environment and kind, counted by the proxy where it translates a socket error and
// read by /metrics at scrape time. Counting is a Map lookup by app and one increment: no allocation once an app
// was seen, so a flood of failing requests costs no garbage.

import { COLORS, type Color } from '../core/types.ts';

export const UPSTREAM_ERROR_KINDS = ['connect', 'reset', 'timeout', 'other'] as const;
export type UpstreamErrorKind = (typeof UPSTREAM_ERROR_KINDS)[number];

/** What the proxy calls for every failed attempt at an upstream, a retried one included. */
export interface UpstreamErrorSink {
  count(app: string, color: Color, kind: UpstreamErrorKind): void;
}

/** Counts between two reports of a data-path worker; `take` hands them over and starts again from zero. */
export class UpstreamErrorTally implements UpstreamErrorSink {
  private readonly counts = new Map<string, UpstreamErrorCount>();

  count(app: string, color: Color, kind: UpstreamErrorKind): void {
    const key = `${app}/${color}/${kind}`;
    const seen = this.counts.get(key);
    this.counts.set(key, { app, color, kind, count: (seen?.count ?? 0) + 1 });
  }

  take(): UpstreamErrorCount[] {
    const taken = [...this.counts.values()];
    this.counts.clear();
    return taken;
  }
}

export interface UpstreamErrorCount {
  readonly app: string;
  readonly color: Color;
  readonly kind: UpstreamErrorKind;
  readonly count: number;
}

const KINDS = UPSTREAM_ERROR_KINDS.length;

export class UpstreamErrorCounter implements UpstreamErrorSink {
  /** Per app: one row of kinds per color, blue then green. */
  private readonly byApp = new Map<string, Float64Array>();

  count(app: string, color: Color, kind: UpstreamErrorKind, n = 1): void {
    let counts = this.byApp.get(app);
    if (counts === undefined) this.byApp.set(app, (counts = new Float64Array(COLORS.length * KINDS)));
    counts[(color === 'blue' ? 0 : KINDS) + kindIndex(kind)] += n;
  }

  /** Every app, color and kind counted so far, zeros included once the app had a failure; by app then color. */
  counts(): UpstreamErrorCount[] {
    const out: UpstreamErrorCount[] = [];
    for (const app of [...this.byApp.keys()].sort()) {
      const counts = this.byApp.get(app)!;
      COLORS.forEach((color, c) => {
        UPSTREAM_ERROR_KINDS.forEach((kind, k) => out.push({ app, color, kind, count: counts[c * KINDS + k]! }));
      });
    }
    return out;
  }
}

function kindIndex(kind: UpstreamErrorKind): number {
  switch (kind) {
    case 'connect': return 0;
    case 'reset': return 1;
    case 'timeout': return 2;
    default: return 3;
  }
}
