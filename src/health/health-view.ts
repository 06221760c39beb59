import type { Color } from '../core/types.ts';

/** What the controller needs to know of target health; the target registry provides it. */
export interface HealthView {
  isHealthy(app: string, color: Color, url: string): boolean;
  lastError(app: string, color: Color, url: string): string | null;
}
