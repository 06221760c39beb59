import type { Socket } from 'node:net';
import type { Connector } from './connector.ts';

type Callback = Parameters<Connector>[0];

/** A spare nobody took within this long is closed: an upstream may end a connection that carries no request. */
export const SPARE_MS = 3_000;

/**
 * Connections to one upstream opened ahead of the requests they are for: traffic has just moved to it (a switch, a
 * rollback), so its first requests find a connection ready or on its way instead of each opening one. The pool's
 * connector hands them out first; one still opening is handed out when it opens, so a request never opens a
 * connection of its own while a spare is on its way.
 */
export class SpareConnections {
  private readonly ready: Socket[] = [];
  /** What drops a ready spare on its own end (closed, errored, unused too long), by spare. */
  private readonly droppers = new Map<Socket, () => void>();
  /** Connectors' callbacks waiting for a spare still opening, in the order they came. */
  private readonly waiting: Callback[] = [];
  private opening = 0;
  private closed = false;

  constructor(
    private readonly connect: Connector,
    private readonly idleMs = SPARE_MS,
  ) {}

  /** Spares ready or opening. */
  get count(): number {
    return this.ready.length + this.opening;
  }

  /** Opens `n` more. A failure to connect is passed to whoever waits for that spare, or dropped. */
  open(n: number): void {
    for (let i = 0; i < n && !this.closed; i++) {
      this.opening++;
      this.connect((err, socket) => this.opened(err, socket));
    }
  }

  /** A spare that is open now, handed out; null when none is. */
  takeReady(): Socket | null {
    for (let socket = this.ready.shift(); socket !== undefined; socket = this.ready.shift()) {
      this.keep(socket);
      // Ended by the upstream, its 'close' not yet emitted, or sent something not yet read.
      if (socket.destroyed || socket.readyState !== 'open' || socket.readableLength > 0) {
        socket.destroy();
        continue;
      }
      return socket;
    }
    return null;
  }

  /** Serves a connector's call with a spare still opening, once it opens; false when none is on its way for it. */
  takeOpening(callback: Callback): boolean {
    // One waiter per spare opening: more would wait for nothing.
    if (this.opening <= this.waiting.length) return false;
    this.waiting.push(callback);
    return true;
  }

  /** Closes every ready spare; those still opening are closed as they open (or go to whoever waits for them). */
  close(): void {
    this.closed = true;
    for (const socket of this.ready.splice(0)) {
      this.keep(socket);
      socket.destroy();
    }
  }

  private opened(err: Error | null, socket: Socket | null): void {
    this.opening--;
    const waiter = this.waiting.shift();
    if (waiter !== undefined) return err === null ? waiter(null, socket!) : waiter(err, null);
    if (err !== null || socket === null) return;
    if (this.closed || socket.destroyed) return void socket.destroy();
    const drop = () => {
      this.keep(socket);
      const at = this.ready.indexOf(socket);
      if (at !== -1) this.ready.splice(at, 1);
      socket.destroy();
    };
    this.droppers.set(socket, drop);
    // A byte from the upstream before any request (a 408 as it gives up on the connection, say) would be read as the
    // answer to the request the spare is taken for: such a spare is dropped. Reading also sees the upstream's FIN.
    socket.once('close', drop).once('error', drop).once('timeout', drop).once('data', drop).setTimeout(this.idleMs);
    this.ready.push(socket);
  }

  /** The spare is handed out (or closed): it no longer ends on its own. */
  private keep(socket: Socket): void {
    const drop = this.droppers.get(socket);
    if (drop === undefined) return;
    this.droppers.delete(socket);
    socket.off('close', drop).off('error', drop).off('timeout', drop).off('data', drop).setTimeout(0);
  }
}
