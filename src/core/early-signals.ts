// Signals that reach `cutover serve` while its modules still load, before it can install its own handlers: Node's
// default for each of these is to end the process at once. bin/cutover.js holds them from its first line; serve
// takes them over, in order, when it installs its handlers (src/cli/serve-signals.ts).

export const SERVE_SIGNALS = ['SIGTERM', 'SIGINT', 'SIGHUP', 'SIGUSR2'] as const;
export type ServeSignal = (typeof SERVE_SIGNALS)[number];

const held: ServeSignal[] = [];
const holders = new Map(SERVE_SIGNALS.map((signal) => [signal, () => void held.push(signal)]));

/** From now on these signals are kept rather than ending the process. */
export function holdSignals(): void {
  for (const [signal, hold] of holders) process.on(signal, hold);
}

/** Stops holding, and returns what was held, oldest first. */
export function takeHeldSignals(): ServeSignal[] {
  for (const [signal, hold] of holders) process.off(signal, hold);
  return held.splice(0);
}
