import { test } from 'node:test';
import assert from 'node:assert/strict';
import { closeFrame, FrameTracker } from './frame-tracker.ts';

function frame(payloadLength: number, masked: boolean): Buffer {
  const ext = payloadLength > 65535 ? 8 : payloadLength > 125 ? 2 : 0;
  const header = Buffer.alloc(2 + ext + (masked ? 4 : 0));
  header[0] = 0x82;
  header[1] = (masked ? 0x80 : 0) | (ext === 8 ? 127 : ext === 2 ? 126 : payloadLength);
  if (ext === 2) header.writeUInt16BE(payloadLength, 2);
  if (ext === 8) header.writeBigUInt64BE(BigInt(payloadLength), 2);
  return Buffer.concat([header, Buffer.alloc(payloadLength, 7)]);
}

const cases = [
  { desc: 'a short unmasked frame', frames: [frame(5, false)] },
  { desc: 'a 16-bit length, masked', frames: [frame(300, true)] },
  { desc: 'a 64-bit length', frames: [frame(70_000, false)] },
  { desc: 'several frames back to back', frames: [frame(3, true), frame(200, false), frame(0, false)] },
];

for (const c of cases) {
  test(`boundaries: ${c.desc}, fed one byte at a time and whole`, () => {
    const all = Buffer.concat(c.frames);
    const whole = new FrameTracker();
    assert.equal(whole.feed(all), all.length);
    assert.equal(whole.atBoundary, true);
    const bytewise = new FrameTracker();
    let boundaries = 0;
    for (let i = 0; i < all.length; i++) {
      bytewise.feed(all.subarray(i, i + 1));
      if (bytewise.atBoundary) boundaries++;
    }
    assert.equal(boundaries, c.frames.length);
  });
}

test('stopAtBoundary passes on exactly the first frame that finishes', () => {
  const first = frame(10, false);
  const tracker = new FrameTracker();
  tracker.feed(first.subarray(0, 4));
  const rest = Buffer.concat([first.subarray(4), frame(20, false)]);
  assert.equal(tracker.feed(rest, true), first.length - 4);
  assert.equal(tracker.atBoundary, true);
});

test('close frames carry 1001, masked toward the server', () => {
  assert.deepEqual([...closeFrame(1001, false)], [0x88, 2, 0x03, 0xe9]);
  const masked = closeFrame(1001, true);
  assert.equal(masked[1], 0x82);
  const mask = masked.subarray(2, 6);
  assert.deepEqual([masked[6]! ^ mask[0]!, masked[7]! ^ mask[1]!], [0x03, 0xe9]);
});
