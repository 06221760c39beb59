/** Why a request on an upstream connection failed, other than a socket error (which keeps Node's code). */
export type UpstreamConnectionErrorCode =
  /** The upstream sent something that is not an HTTP/1.1 response to the request, or more than one. */
  | 'BAD_RESPONSE'
  /** The connection ended before the whole response had come. */
  | 'CLOSED'
  | 'CONNECT_TIMEOUT'
  /** Nothing came from (or went to) the upstream for the response time while the request was under way. */
  | 'RESPONSE_TIMEOUT'
  /** The pool was closing and took no new request. */
  | 'POOL_CLOSED';

/**
 * A failure of one request on an upstream connection. The proxy translates it into what the client sees
 * (src/proxy/forward.ts); the code says whether the upstream can have acted on the request.
 */
export class UpstreamConnectionError extends Error {
  constructor(
    readonly code: UpstreamConnectionErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'UpstreamConnectionError';
  }
}
