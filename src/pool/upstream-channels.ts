import { channel } from 'node:diagnostics_channel';

// What cutover's upstream connections publish on node:diagnostics_channel, for tracing (bench/lib/switch-trace.mjs
// times a switch with them). Publishers check `hasSubscribers` first: nothing is built when nobody listens.

/** A request handed to a target's pool: `{ origin, method, path }`. */
export const dispatched = channel('cutover:upstream:dispatch');
/** A connection to a target opened: `{ origin }`. */
export const connected = channel('cutover:upstream:connected');
/** A request's head written upstream: `{ origin, method, path, fresh }`, `fresh` when it is the connection's first. */
export const written = channel('cutover:upstream:written');
