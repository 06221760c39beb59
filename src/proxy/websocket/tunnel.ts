import type { Duplex } from 'node:stream';
import type { Drainable } from '../../pool/pool-generation.ts';
import { closeFrame, FrameTracker, GOING_AWAY } from './frame-tracker.ts';

/** How long a drained tunnel waits for both directions to reach a frame boundary before it just cuts. */
const BOUNDARY_WAIT_MS = 2_000;
const HEAD_END = Buffer.from('\r\n\r\n');
const UNANSWERED_BODY = 'UPSTREAM_RESET: the upstream closed the connection without answering the upgrade\n';
/** What the client gets when the upstream closes before a byte of its answer: an answer, not an empty reply. */
const UNANSWERED = `HTTP/1.1 502 Bad Gateway\r\nconnection: close\r\ncontent-type: text/plain; charset=utf-8\r\ncontent-length: ${UNANSWERED_BODY.length}\r\n\r\n${UNANSWERED_BODY}`;

/** Told when a tunnel closes, so whoever counts tunnels can count it out. */
export interface TunnelListener {
  onTunnelClosed(tunnel: Tunnel): void;
}

/**
 * One upgraded connection (a WebSocket) relayed both ways between the client and the upstream, with backpressure
 * and close propagation. Frame boundaries are tracked in each direction so a drain can end it cleanly: a close
 * frame 1001 (going away) to the client and a masked close frame to the upstream, each between two frames.
 */
export class Tunnel implements Drainable {
  private readonly toClient = new FrameTracker();
  private readonly toUpstream = new FrameTracker();
  /** The upstream's HTTP response head, until its end is seen: frames only start after it. */
  private responseHead: Buffer | null = Buffer.alloc(0);
  private draining = false;
  private closed = false;
  private finishing = false;
  /** Client bytes that came before the upstream's 101: relayed only once it switched protocols. */
  private early: Buffer[] | null = [];
  /** The upstream answered something other than 101: relay that answer, then close; nothing more from the client. */
  private refused = false;

  /** `head`: what the client sent after its request head, before this tunnel existed (held like later early bytes). */
  constructor(
    private readonly client: Duplex,
    private readonly upstream: Duplex,
    private readonly listener: TunnelListener,
    head: Buffer = Buffer.alloc(0),
  ) {
    if (head.length > 0) this.early!.push(head);
    this.relay(upstream, client, (chunk) => this.fromUpstream(chunk));
    this.relay(client, upstream, (chunk) => this.fromClient(chunk));
    for (const side of [client, upstream]) {
      side.on('close', () => this.close());
      side.on('error', () => this.close());
    }
  }

  /** The drain time is over: close at the next frame boundaries, or cut after a short wait. */
  endGracefully(): void {
    if (this.draining || this.closed) return;
    this.draining = true;
    setTimeout(() => this.close(), BOUNDARY_WAIT_MS).unref();
    this.tryFinish();
  }

  private relay(from: Duplex, to: Duplex, pass: (chunk: Buffer) => Buffer | null): void {
    from.on('data', (chunk: Buffer) => {
      const out = pass(chunk);
      if (out !== null && out.length > 0 && !to.write(out)) {
        from.pause();
        to.once('drain', () => from.resume());
      }
      if (this.draining) this.tryFinish();
    });
    from.on('end', () => (from === this.upstream && this.unanswered() ? this.client.end(UNANSWERED) : to.end()));
  }

  /** Nothing of the upstream's answer has come, and the client can still be told. */
  private unanswered(): boolean {
    return this.responseHead !== null && this.responseHead.length === 0 && this.client.writable;
  }

  private fromUpstream(chunk: Buffer): Buffer | null {
    if (this.responseHead !== null) return this.readHead(chunk);
    return this.passUntilBoundary(chunk, this.toClient, this.upstream);
  }

  private fromClient(chunk: Buffer): Buffer | null {
    if (this.refused) return null;
    if (this.early !== null) {
      this.early.push(chunk);
      return null;
    }
    return this.passUntilBoundary(chunk, this.toUpstream, this.client);
  }

  /**
   * While draining, bytes after the next boundary are not relayed: the close frame goes there instead, and the
   * connection ends right after it.
   */
  private passUntilBoundary(chunk: Buffer, tracker: FrameTracker, source: Duplex): Buffer {
    const n = tracker.feed(chunk, this.draining);
    if (n < chunk.length) source.pause();
    return n === chunk.length ? chunk : chunk.subarray(0, n);
  }

  private readHead(chunk: Buffer): Buffer {
    const head = Buffer.concat([this.responseHead!, chunk]);
    const end = head.indexOf(HEAD_END);
    if (end < 0) {
      this.responseHead = head;
      return chunk;
    }
    this.responseHead = null;
    const early = this.early ?? [];
    this.early = null;
    if (!/^HTTP\/1\.[01] 101 /.test(head.subarray(0, 16).toString('latin1'))) {
      // Not switched: the client must not get a raw connection to the upstream behind the proxy's checks.
      this.refused = true;
      this.upstream.end();
      return chunk;
    }
    this.toClient.feed(head.subarray(end + HEAD_END.length));
    for (const bytes of early) this.upstream.write(this.passUntilBoundary(bytes, this.toUpstream, this.client));
    return chunk;
  }

  private tryFinish(): void {
    if (this.closed || this.finishing || this.responseHead !== null || !this.toClient.atBoundary || !this.toUpstream.atBoundary) return;
    this.finishing = true;
    this.client.pause();
    this.upstream.pause();
    this.client.end(closeFrame(GOING_AWAY, false));
    this.upstream.end(closeFrame(GOING_AWAY, true));
    // The peers answer with their own close frames; nothing more is relayed, so end the sockets shortly.
    setTimeout(() => this.close(), 250).unref();
  }

  private close(): void {
    if (this.closed) return;
    this.closed = true;
    // An upstream reset before any answer: the client gets the 502 (and its connection closes after it).
    if (this.unanswered()) this.client.end(UNANSWERED);
    else this.client.destroy();
    this.upstream.destroy();
    this.listener.onTunnelClosed(this);
  }
}
