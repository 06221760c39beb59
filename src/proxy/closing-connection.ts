// Which client connections an answer already known will close. Node parses pipelined requests ahead and hands each
// one over at once; one that follows such an answer on its connection would get no answer of its own (the connection
// ends after that one), so it is not forwarded: no app runs a request whose answer cannot be sent. The socket keeps
// that closing answer (and only that one: an idle keep-alive connection keeps nothing of its last exchange alive),
// for the parser's errors and upgrades that come after it to wait for it rather than for the answer in progress.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';

const CLOSING = Symbol('cutover.closingAnswer');
type Flagged = { [CLOSING]?: ServerResponse };

/** `res` is the last answer on its connection: sent with `connection: close`, and nothing after it is forwarded. */
export function closeAfter(req: IncomingMessage, res: ServerResponse): void {
  res.shouldKeepAlive = false;
  (req.socket as Duplex & Flagged)[CLOSING] = res;
}

/**
 * For a request as it arrives: true when an answer before it on its connection closes that connection (the request
 * is then left unanswered, and the connection ends after that answer). A request whose own answer will close (the
 * client's `Connection: close`, HTTP/1.0 without keep-alive) marks the connection for those after it. Never for
 * HTTP/2 (Node's compatibility layer, with its `stream`): its streams share a connection that no answer closes.
 */
export function behindClosingAnswer(req: IncomingMessage, res: ServerResponse): boolean {
  if ('stream' in req) return false;
  const socket = req.socket as Duplex & Flagged;
  if (socket[CLOSING] !== undefined) {
    res.shouldKeepAlive = false;
    req.resume();
    return true;
  }
  if (!res.shouldKeepAlive) socket[CLOSING] = res;
  return false;
}

/** The answer known to close `socket`'s connection, if there is one. */
export function closingAnswer(socket: Duplex): ServerResponse | undefined {
  return (socket as Duplex & Flagged)[CLOSING];
}
