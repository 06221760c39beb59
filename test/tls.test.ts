// HTTPS on the public listener: a certificate per host by SNI, HTTP/2 and HTTP/1.1 clients by ALPN, WebSockets over
// wss, client limits, certificate files rotated under load, and a shutdown that lets HTTP/2 streams finish.
// Certificates are made by each test with openssl.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import https from 'node:https';
import http2, { type ClientHttp2Session } from 'node:http2';
import tls from 'node:tls';
import { Agent, request } from 'undici';
import { WebSocket, WebSocketServer } from 'ws';
import { makeCertificate, type TestCertificate } from './support/certificates.ts';
import { configText, deploy, eventually, spawnServe, startCutover, tempDir } from './support/cutover-harness.ts';
import { startUpstream, type Handler } from './support/upstream.ts';

interface Certificates {
  readonly fallback: TestCertificate;
  readonly shop: TestCertificate;
  readonly blog: TestCertificate;
}

interface Site {
  readonly proxyUrl: string;
  readonly port: number;
  readonly certs: Certificates;
  /** Every certificate a client may meet, including the ones rotated in later. */
  readonly ca: string[];
}

/** Every test ends within this, even when a connection hangs. */
const BOUNDED = { timeout: 30_000 };

const APP = `  web:
    hosts: [shop.test, blog.test]
    health: { path: /healthz, interval: 50ms, timeout: 1s, healthy: 2, unhealthy: 2, deadline: 3s }
    drain: 5s`;

/** What the upstream saw, as JSON; `/slow` answers after 500 ms. */
const echo: Handler = (req, res) => {
  let body = '';
  req.setEncoding('utf8');
  req.on('data', (chunk) => (body += chunk));
  req.on('end', () => {
    const seen = { host: req.headers.host, proto: req.headers['x-forwarded-proto'], version: req.httpVersion, method: req.method, body, cookie: req.headers.cookie };
    setTimeout(() => res.writeHead(200, 'Fine', { 'content-type': 'application/json' }).end(JSON.stringify(seen)), req.url === '/slow' ? 500 : 0);
  });
};

/** `extraCa`: certificates clients should also trust (rotated in later); `yaml`: more top-level config. */
async function startSite(t: TestContext, { extraCa = [], yaml = '' }: { extraCa?: TestCertificate[]; yaml?: string } = {}): Promise<Site> {
  const dir = tempDir(t);
  const certs = makeCertificates(dir);
  const upstream = await startUpstream(t, 'app', echo);
  // WebSocket messages come back with the Host and X-Forwarded-Proto of their upgrade request.
  const sockets = new WebSocketServer({ server: upstream.server });
  sockets.on('connection', (ws, req) => ws.on('message', (data) => ws.send(`${req.headers.host} ${req.headers['x-forwarded-proto']}: ${data}`)));
  t.after(() => sockets.close());
  const run = await startCutover(t, APP, `${tlsYaml(certs)}\n${yaml}`);
  await deploy(run, 'v1', [upstream.url]);
  return { proxyUrl: run.proxyUrl, port: Number(new URL(run.proxyUrl).port), certs, ca: caOf(certs, extraCa) };
}

function makeCertificates(dir: string): Certificates {
  return {
    fallback: makeCertificate(dir, 'default', ['default.test']),
    shop: makeCertificate(dir, 'shop', ['shop.test']),
    blog: makeCertificate(dir, 'blog', ['blog.test', '*.blog.test']),
  };
}

function tlsYaml({ fallback, shop, blog }: Certificates): string {
  return `tls:
  cert: ${JSON.stringify(fallback.cert)}
  key: ${JSON.stringify(fallback.key)}
  certificates:
    - { cert: ${JSON.stringify(shop.cert)}, key: ${JSON.stringify(shop.key)} }
    - { cert: ${JSON.stringify(blog.cert)}, key: ${JSON.stringify(blog.key)} }`;
}

function caOf(certs: Certificates, extra: TestCertificate[] = []): string[] {
  return [...Object.values(certs), ...extra].map((c) => c.pem);
}

/** The certificate and protocol a fresh TLS connection gets for `servername` (null: none sent). */
function handshake(site: Site, servername: string | null, ALPNProtocols?: string[]): Promise<{ fingerprint: string; alpn: string | false }> {
  return new Promise((resolve, reject) => {
    const options = { host: '127.0.0.1', port: site.port, ca: site.ca, ALPNProtocols, checkServerIdentity: () => undefined };
    const socket = tls.connect(servername === null ? options : { ...options, servername }, () => {
      resolve({ fingerprint: socket.getPeerCertificate().fingerprint256, alpn: socket.alpnProtocol ?? false });
      socket.end();
    });
    socket.once('error', reject);
  });
}

function h2Session(t: TestContext, site: Site, servername: string): ClientHttp2Session {
  const session = http2.connect(`https://127.0.0.1:${site.port}`, { ca: site.ca, servername });
  session.on('error', () => {}); // failures show in the requests
  t.after(() => session.destroy());
  return session;
}

/** One HTTP/2 request; rejects when its stream ends without a whole response (an error or a reset). */
function h2Request(session: ClientHttp2Session, headers: http2.OutgoingHttpHeaders, body?: string): Promise<{ status: number; body: string }> {
  const stream = session.request(headers, { endStream: body === undefined });
  if (body !== undefined) stream.end(body);
  return new Promise((resolve, reject) => {
    let status = 0;
    let data = '';
    stream.once('response', (head) => (status = Number(head[':status'])));
    stream.setEncoding('utf8').on('data', (chunk) => (data += chunk));
    stream.once('end', () => resolve({ status, body: data }));
    stream.once('error', reject);
    stream.once('close', () => reject(new Error(`the stream closed early (RST_STREAM ${stream.rstCode})`)));
  });
}

test('each host name gets its own certificate; no name or an unknown one gets the default', BOUNDED, async (t) => {
  const site = await startSite(t);
  assert.match(site.proxyUrl, /^https:\/\//);
  const { fallback, shop, blog } = site.certs;
  const cases: { desc: string; servername: string | null; want: TestCertificate }[] = [
    { desc: 'shop', servername: 'shop.test', want: shop },
    { desc: 'blog', servername: 'blog.test', want: blog },
    { desc: 'a wildcard name', servername: 'eu.blog.test', want: blog },
    { desc: 'the default by its own name', servername: 'default.test', want: fallback },
    { desc: 'a name no certificate covers', servername: 'other.test', want: fallback },
    { desc: 'no name at all (a client that dials the address)', servername: null, want: fallback },
  ];
  for (const c of cases) assert.equal((await handshake(site, c.servername)).fingerprint, c.want.fingerprint, c.desc);
  assert.equal((await handshake(site, 'shop.test', ['h2', 'http/1.1'])).alpn, 'h2', 'HTTP/2 preferred');
  assert.equal((await handshake(site, 'shop.test', ['http/1.1'])).alpn, 'http/1.1', 'HTTP/1.1 for who asks for it');
});

test('HTTP/2 and HTTP/1.1 clients reach the app over HTTPS, with their Host and X-Forwarded-Proto: https', BOUNDED, async (t) => {
  const warnings: string[] = [];
  const onWarning = (w: Error) => warnings.push(w.message);
  process.on('warning', onWarning);
  t.after(() => process.off('warning', onWarning));
  const site = await startSite(t);

  const session = h2Session(t, site, 'shop.test');
  const get = await h2Request(session, { ':path': '/', ':authority': 'shop.test', cookie: ['a=1', 'b=2'] });
  assert.equal(get.status, 200);
  assert.deepEqual(JSON.parse(get.body), { host: 'shop.test', proto: 'https', version: '1.1', method: 'GET', body: '', cookie: 'a=1; b=2' });
  // An HTTP/2 body needs no Content-Length: it ends with the stream.
  const post = await h2Request(session, { ':method': 'POST', ':path': '/', ':authority': 'shop.test' }, 'sent over h2');
  assert.equal(JSON.parse(post.body).body, 'sent over h2');
  assert.equal(session.alpnProtocol, 'h2');

  const dispatcher = new Agent({ connect: { ca: site.ca, servername: 'blog.test' } });
  t.after(() => dispatcher.close());
  const res = await request(`${site.proxyUrl}/`, { dispatcher, method: 'POST', headers: { host: 'blog.test' }, body: 'sent over h1' });
  assert.equal(res.statusCode, 200);
  assert.equal(res.statusText, 'Fine', 'HTTP/1.1 keeps the reason phrase');
  assert.deepEqual(await res.body.json(), { host: 'blog.test', proto: 'https', version: '1.1', method: 'POST', body: 'sent over h1' });

  assert.deepEqual(warnings.filter((w) => /status message/i.test(w)), [], 'no warning about the reason phrase HTTP/2 lacks');
});

test('a WebSocket over wss reaches the app with its Host and X-Forwarded-Proto: https', BOUNDED, async (t) => {
  const site = await startSite(t);
  // `servername` goes through to tls.connect, though @types/ws does not list it.
  const options = { ca: site.ca, servername: 'shop.test', headers: { host: 'shop.test' } } as WebSocket.ClientOptions;
  const ws = new WebSocket(`wss://127.0.0.1:${site.port}/socket`, options);
  t.after(() => ws.terminate());
  await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
  const reply = new Promise<string>((resolve) => ws.once('message', (data) => resolve(String(data))));
  ws.send('hello');
  assert.equal(await reply, 'shop.test https: hello');
  ws.close();
  await new Promise((resolve) => ws.once('close', resolve));
});

test('an HTTP/2 CONNECT is refused with 501, not tunnelled', BOUNDED, async (t) => {
  const site = await startSite(t);
  const session = h2Session(t, site, 'shop.test');
  const connect = await h2Request(session, { ':method': 'CONNECT', ':authority': 'example.com:443' }).catch((err: Error) => ({ status: 0, body: err.message }));
  assert.equal(connect.status, 501);
  assert.equal((await h2Request(session, { ':path': '/', ':authority': 'shop.test' })).status, 200, 'the session goes on');
});

test('client limits hold over HTTPS: a head too large is refused on HTTP/1.1 (431) and HTTP/2; idle sessions are closed', BOUNDED, async (t) => {
  const site = await startSite(t, { yaml: 'limits: { maxHeaderSize: 4kb }\ntimeouts: { keepAlive: 300ms }' });
  const big = 'x'.repeat(6_000);
  const dispatcher = new Agent({ connect: { ca: site.ca, servername: 'shop.test' } });
  t.after(() => dispatcher.close());
  const h1 = await request(`${site.proxyUrl}/`, { dispatcher, headers: { host: 'shop.test', 'x-big': big } });
  await h1.body.dump();
  assert.equal(h1.statusCode, 431);

  // Sent at once, before the server's SETTINGS (with its limit) arrive: Node's client would refuse to send it after.
  const session = h2Session(t, site, 'shop.test');
  assert.equal((await h2Request(session, { ':path': '/', ':authority': 'shop.test', 'x-big': big })).status, 431);
  // Expect: 100-continue reaches the server by another event: the same limit holds (a session of its own, for the
  // same reason as above).
  const expecting = h2Session(t, site, 'shop.test');
  assert.equal((await h2Request(expecting, { ':path': '/', ':method': 'POST', ':authority': 'shop.test', expect: '100-continue', 'x-big': big })).status, 431);
  assert.equal((await h2Request(session, { ':path': '/', ':authority': 'shop.test' })).status, 200, 'the session goes on');
  // With no stream open for the keep-alive time, the session is closed; a slow response keeps its session.
  const slow = await h2Request(session, { ':path': '/slow', ':authority': 'shop.test' });
  assert.equal(slow.status, 200, 'a 500 ms response outlives a 300 ms keep-alive');
  await new Promise((resolve) => session.once('close', resolve));
});

test('certificate files replaced under load: no request fails, open connections go on, new ones get the new certificate', BOUNDED, async (t) => {
  const staged = join(tempDir(t), 'staged');
  mkdirSync(staged);
  const next = { shop: makeCertificate(staged, 'shop', ['shop.test']), fallback: makeCertificate(staged, 'default', ['default.test']) };
  const site = await startSite(t, { extraCa: [next.shop, next.fallback] });
  const { shop, fallback } = site.certs;
  const failures: string[] = [];
  let ok = 0;
  const stopAt = Date.now() + 3_000;
  let rotatedAt = Infinity;
  const loop = async (once: () => Promise<void>) => {
    while (Date.now() < stopAt) await once().then(() => void ok++, (err: Error) => void failures.push(err.message));
  };

  // HTTP/2 sessions opened before the rotation, with several streams each; count what each serves after it.
  const servedAfter = [0, 0, 0];
  const sessions = servedAfter.map(() => h2Session(t, site, 'shop.test'));
  const h2Loops = sessions.flatMap((session, i) => [1, 2, 3].map(() => loop(async () => {
    const res = await h2Request(session, { ':path': '/', ':authority': 'shop.test' });
    if (res.status !== 200) throw new Error(`h2 answered ${res.status}`);
    if (Date.now() > rotatedAt) servedAfter[i]!++;
  })));
  // HTTP/1.1 keep-alive clients, and clients that open a new connection (a new handshake) for every request.
  const dispatcher = new Agent({ connect: { ca: site.ca, servername: 'shop.test' } });
  t.after(() => dispatcher.close());
  const h1Loops = [1, 2, 3].map(() => loop(async () => {
    const res = await request(`${site.proxyUrl}/`, { dispatcher, headers: { host: 'shop.test' } });
    await res.body.dump();
    if (res.statusCode !== 200) throw new Error(`h1 answered ${res.statusCode}`);
  }));
  const seen = new Set<string>();
  const freshLoops = [1, 2, 3].map(() => loop(() => freshRequest(site, 'shop.test').then((fingerprint) => void seen.add(fingerprint))));

  await new Promise((r) => setTimeout(r, 1_000));
  // Written in place, the certificate before its key, as `cp` does: for a moment the two do not match.
  for (const [from, to] of [[next.shop, shop], [next.fallback, fallback]] as const) {
    copyFileSync(from.cert, to.cert);
    copyFileSync(from.key, to.key);
  }
  rotatedAt = Date.now();
  await Promise.all([...h2Loops, ...h1Loops, ...freshLoops]);

  assert.deepEqual(failures, []);
  assert.ok(ok > 100, `only ${ok} requests were made`);
  assert.ok(seen.has(shop.fingerprint) && seen.has(next.shop.fingerprint), 'new connections moved to the new certificate during the run');
  assert.ok(servedAfter.every((n) => n > 0), `sessions opened before the rotation served after it: ${servedAfter}`);
  await eventually(async () => (await handshake(site, 'shop.test')).fingerprint === next.shop.fingerprint, 5_000, 'the new shop certificate');
  assert.equal((await handshake(site, null)).fingerprint, next.fallback.fingerprint, 'the default certificate too');
});

test('SIGTERM lets HTTP/2 streams in flight finish and does not wait for idle sessions', BOUNDED, async (t) => {
  const dir = tempDir(t);
  const certs = makeCertificates(dir);
  const upstream = await startUpstream(t, 'app', echo);
  writeFileSync(join(dir, 'cutover.yaml'), configText(dir, APP, tlsYaml(certs)));
  const serve = await spawnServe(t, join(dir, 'cutover.yaml'));
  await deploy(serve, 'v1', [upstream.url]);
  assert.match(serve.proxyUrl, /^https:\/\//);
  const site = { proxyUrl: serve.proxyUrl, port: Number(new URL(serve.proxyUrl).port), certs, ca: caOf(certs) };
  const idle = h2Session(t, site, 'shop.test');
  await h2Request(idle, { ':path': '/', ':authority': 'shop.test' });
  const idleClosed = new Promise((resolve) => idle.once('close', resolve));
  const busy = h2Session(t, site, 'shop.test');
  const inFlight = h2Request(busy, { ':path': '/slow', ':authority': 'shop.test' });
  await new Promise((r) => setTimeout(r, 100));

  const started = Date.now();
  serve.child.kill('SIGTERM');
  const exit = new Promise<number | null>((resolve) => serve.child.once('exit', (code) => resolve(code)));
  assert.equal((await inFlight).status, 200);
  await idleClosed;
  assert.equal(await exit, 0);
  assert.ok(Date.now() - started < 3_000, `the shutdown took ${Date.now() - started} ms; the drain is 5 s`);
});

/** One request on a connection of its own; resolves with the certificate that connection got. */
function freshRequest(site: Site, host: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = https.get({ host: '127.0.0.1', port: site.port, servername: host, ca: site.ca, agent: false, headers: { host } }, (res) => {
      const fingerprint = (res.socket as tls.TLSSocket).getPeerCertificate().fingerprint256;
      res.resume().once('end', () => (res.statusCode === 200 ? resolve(fingerprint) : reject(new Error(`fresh answered ${res.statusCode}`))));
    });
    req.once('error', reject);
    req.setTimeout(5_000, () => req.destroy(new Error('fresh request timed out')));
  });
}

test('over HTTPS, a deployment verifies its candidate through the preview route (header, SNI, own certificate)', BOUNDED, async (t) => {
  const dir = tempDir(t);
  const app = `  web:
    hosts: [shop.test]
    health: { path: /healthz, interval: 50ms, timeout: 1s, healthy: 1, unhealthy: 2, deadline: 3s }
    switch: manual
    preview: { secret: preview-secret-for-tls-tests }
    verify:
      - { path: /, status: 200 }`;
  const run = await startCutover(t, app, tlsYaml(makeCertificates(dir)));
  const v1 = await startUpstream(t, 'v1', echo);
  const d = await deploy(run, 'v1', [v1.url], 'ready');
  assert.equal(d.phase, 'ready', `verified through the preview route: ${d.reason ?? ''}`);
});
