// Bodies stream through the proxy: 50 MB up and 50 MB down arrive intact while the proxy's memory stays flat.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { request } from 'undici';
import { configText, deploy, spawnServe, tempDir, WEB_APP } from './support/cutover-harness.ts';
import { startUpstream } from './support/upstream.ts';

const SIZE = Number(process.env.BODY_MB ?? 50) * 1024 * 1024;
const CHUNK = 64 * 1024;
/**
 * Streaming costs the proxy ~30 MB of heap churn whatever the body size (measured: the same for 50 MB and 200 MB
 * bodies, slow readers included). A proxy that buffered would grow by that plus the body: 80 MB and up.
 */
const MAX_GROWTH = 45 * 1024 * 1024;

/** A deterministic 50 MB stream, generated chunk by chunk so the test itself holds little of it. */
function pattern(): Readable {
  let sent = 0;
  return new Readable({
    read() {
      if (sent >= SIZE) return this.push(null);
      const chunk = Buffer.alloc(CHUNK, sent / CHUNK);
      sent += CHUNK;
      this.push(chunk);
    },
  });
}

async function digestOf(stream: AsyncIterable<Buffer>): Promise<{ sha: string; bytes: number }> {
  const hash = createHash('sha256');
  let bytes = 0;
  for await (const chunk of stream) {
    hash.update(chunk);
    bytes += chunk.length;
  }
  return { sha: hash.digest('hex'), bytes };
}

function rssOf(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8').split('\n').find((l) => l.startsWith('VmRSS:'))!;
  return Number(/(\d+)/.exec(line)![1]) * 1024;
}

test('a 50 MB upload and a 50 MB download pass intact with the proxy memory flat', async (t) => {
  const expected = await digestOf(pattern());
  const app = await startUpstream(t, 'bodies', (req, res) => {
    if (req.method === 'POST') {
      // A slow reader: without backpressure the proxy would pile the whole upload up in memory meanwhile.
      req.pause();
      setTimeout(() => void digestOf(req).then((d) => res.end(JSON.stringify(d))), 1_000);
      return;
    }
    res.writeHead(200, { 'content-length': SIZE });
    pattern().pipe(res);
  });
  const dir = tempDir(t);
  writeFileSync(join(dir, 'cutover.yaml'), configText(dir, WEB_APP));
  const serve = await spawnServe(t, join(dir, 'cutover.yaml'));
  await deploy(serve, 'v1', [app.url]);
  const pid = serve.child.pid!;
  await request(serve.proxyUrl).then((r) => r.body.dump());
  const baseline = rssOf(pid);
  let peak = baseline;
  const sampler = setInterval(() => (peak = Math.max(peak, rssOf(pid))), 20);
  t.after(() => clearInterval(sampler));

  const up = await request(serve.proxyUrl, { method: 'POST', body: pattern(), headers: { 'content-type': 'application/octet-stream' } });
  assert.equal(up.statusCode, 200);
  assert.deepEqual(await up.body.json(), expected, 'upload intact');
  const down = await request(serve.proxyUrl);
  assert.equal(down.statusCode, 200);
  // A slow reader again, on the client side this time.
  await new Promise((r) => setTimeout(r, 1_000));
  assert.deepEqual(await digestOf(down.body), expected, 'download intact');

  clearInterval(sampler);
  t.diagnostic(`proxy RSS: baseline ${(baseline / 1048576).toFixed(1)} MB, peak ${(peak / 1048576).toFixed(1)} MB`);
  assert.ok(peak - baseline < MAX_GROWTH, `proxy grew by ${((peak - baseline) / 1048576).toFixed(1)} MB`);
});
