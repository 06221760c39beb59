// Why an operation was cut short, in words: AppController.stop aborts its signal with a reason (cutover stopping,
// the app removed by a reload), and what the signal stopped says that reason instead of a generic one.

/** The reason `signal` was aborted with; `fallback` for an abort without one (the generic AbortError). */
export function abortReason(signal: AbortSignal, fallback = 'cutover was stopped'): string {
  const reason: unknown = signal.reason;
  return reason instanceof Error && reason.name !== 'AbortError' ? reason.message : fallback;
}
