import type { Color } from '../core/types.ts';

/** Where the data path reports each finished request of an environment's public traffic. Called per request. */
export interface TrafficRecorder {
  record(status: number, durationMs: number): void;
}

/** Hands out one recorder per app and environment; the stats layer implements it. */
export interface TrafficStats {
  forEnv(app: string, color: Color): TrafficRecorder;
}
