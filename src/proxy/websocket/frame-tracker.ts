// Where WebSocket frames begin and end in one direction of a tunnel (RFC 6455 §5.2), so that a close frame can be
// put between two frames rather than into the middle of one. Only frame lengths are read; payloads pass untouched.

export class FrameTracker {
  /** Bytes of the current frame's header seen so far (at most 14). */
  private readonly header = Buffer.alloc(14);
  private headerSeen = 0;
  private payloadLeft = 0;

  /** Between two frames: a close frame may go here. */
  get atBoundary(): boolean {
    return this.headerSeen === 0 && this.payloadLeft === 0;
  }

  /**
   * Reads `chunk` and returns how many of its bytes can be passed on before the first frame boundary after
   * `from`, or chunk.length when the chunk ends inside a frame or on a boundary. Used with stopAtBoundary.
   */
  feed(chunk: Buffer, stopAtBoundary = false): number {
    let i = 0;
    while (i < chunk.length) {
      if (stopAtBoundary && this.atBoundary) return i;
      if (this.payloadLeft > 0) {
        const take = Math.min(this.payloadLeft, chunk.length - i);
        this.payloadLeft -= take;
        i += take;
        continue;
      }
      this.header[this.headerSeen++] = chunk[i++]!;
      const need = headerLength(this.header, this.headerSeen);
      if (need !== null && this.headerSeen === need) {
        this.payloadLeft = payloadLength(this.header);
        this.headerSeen = 0;
      }
    }
    return chunk.length;
  }
}

/** A close frame with `code` (RFC 6455 §5.5.1); frames from a client to a server must be masked (§5.3). */
export function closeFrame(code: number, masked: boolean): Buffer {
  const payload = Buffer.alloc(2);
  payload.writeUInt16BE(code);
  if (!masked) return Buffer.concat([Buffer.from([0x88, payload.length]), payload]);
  const mask = Buffer.from([0x5a, 0x17, 0xc3, 0x2e]);
  const body = Buffer.from(payload.map((b, i) => b ^ mask[i % 4]!));
  return Buffer.concat([Buffer.from([0x88, 0x80 | payload.length]), mask, body]);
}

export const GOING_AWAY = 1001;

/** The full header length once enough of it is known, else null. */
function headerLength(h: Buffer, seen: number): number | null {
  if (seen < 2) return null;
  const len7 = h[1]! & 0x7f;
  const mask = h[1]! & 0x80 ? 4 : 0;
  if (len7 === 126) return 4 + mask;
  if (len7 === 127) return 10 + mask;
  return 2 + mask;
}

function payloadLength(h: Buffer): number {
  const len7 = h[1]! & 0x7f;
  if (len7 === 126) return h.readUInt16BE(2);
  // 2^53 bytes is more than any frame will carry; Number is exact up to there.
  if (len7 === 127) return Number(h.readBigUInt64BE(2));
  return len7;
}
