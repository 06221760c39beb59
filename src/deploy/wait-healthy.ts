import { abortReason } from '../core/abort-reason.ts';
import type { Color } from '../core/types.ts';
import type { HealthView } from '../health/health-view.ts';

const POLL_MS = 25;

/**
 * Waits until every target is healthy. Resolves null when they are, or a sentence naming the targets that were
 * not healthy by the deadline and the last error each gave.
 */
export async function waitForHealthy(
  health: HealthView,
  app: string,
  color: Color,
  targets: readonly string[],
  deadlineMs: number,
  signal: AbortSignal,
): Promise<string | null> {
  const deadline = Date.now() + deadlineMs;
  for (;;) {
    if (signal.aborted) return `${abortReason(signal)} while waiting for the targets to become healthy`;
    const sick = targets.filter((url) => !health.isHealthy(app, color, url));
    if (sick.length === 0) return null;
    if (Date.now() >= deadline) {
      const why = sick.map((url) => `${url} (${health.lastError(app, color, url) ?? 'no passing check yet'})`);
      return `not healthy within ${deadlineMs / 1000}s: ${why.join(', ')}`;
    }
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}
