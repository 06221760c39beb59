/**
 * Resolves after the event loop has read the I/O waiting now and written what undici queued for it.
 *
 * In one process the control plane shares the event loop with the data path. A route-table change followed at
 * once by the bookkeeping of a switch (history, audit: synchronous SQLite commits) would keep the requests that
 * arrived meanwhile waiting for that bookkeeping. Awaiting this first, they are routed by the new table before it:
 * a poll phase reads them; undici sends each upstream request in the check phase after (its idle-socket check,
 * setImmediate), and the third check phase comes after those writes.
 */
export function yieldToIo(): Promise<void> {
  return new Promise((resolve) => setImmediate(() => setImmediate(() => setImmediate(resolve))));
}
