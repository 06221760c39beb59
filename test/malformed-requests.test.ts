// Malformed and ambiguous requests, over raw sockets (issue 4, item 4): each gets 400 (or 431/413/501/505) and a
// closed connection, and no upstream ever sees it. Well-formed edge cases (HTTP/1.0, 100-continue, HEAD, 204/304,
// trailers, pipelining, Connection: close) behave as RFC 9110/9112 say, and slowloris clients starve no one.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { DEFAULT_TIMEOUTS } from '../src/config/defaults.ts';
import { deploy, startCutover, type Running } from './support/cutover-harness.ts';
import { exchange, field, RawConnection, type RawResponse } from './support/raw-http.ts';
import { startUpstream } from './support/upstream.ts';

/** What one request looked like when it reached the upstream. */
interface Seen {
  method: string;
  url: string;
  rawHeaders: string[];
  body: Buffer;
  rawTrailers: string[];
  /** The upstream read the whole message; false when the proxy cut it off. */
  complete: boolean;
}

interface Setup {
  readonly run: Running;
  readonly seen: Seen[];
}

/** A forward is asynchronous: give a request the proxy wrongly accepted time to reach the upstream. */
const SETTLE_MS = 150;
const ANSWER_MS = 1_500;

interface MalformedCase {
  readonly desc: string;
  readonly request: string;
  /** Allowed status codes; 400 unless said. */
  readonly status?: readonly number[];
  /** The rule broken, for the failure message. */
  readonly rfc: string;
  /**
   * The error is in the body, found after the head was accepted and the forward began: bodies stream (STYLE.md), so
   * the upstream may see the head, but never a complete request.
   */
  readonly inBody?: true;
  /** The RFC also lets a recipient accept this: then the upstream must see exactly this one request (a summary). */
  readonly mayForwardAs?: string;
}

const POST = 'POST / HTTP/1.1\r\nHost: web\r\n';
const GET = 'GET / HTTP/1.1\r\nHost: web\r\n';

const MALFORMED: readonly MalformedCase[] = [
  // Framing: anything that lets two parsers disagree on where a request ends is request smuggling.
  { desc: 'Content-Length with Transfer-Encoding: chunked (a GET smuggled in the body)', rfc: 'RFC 9112 §6.1 ¶14, §6.3 ¶3',
    request: `${POST}Content-Length: 44\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: web\r\n\r\n` },
  { desc: 'Transfer-Encoding: chunked before Content-Length', rfc: 'RFC 9112 §6.1 ¶14, §6.3 ¶3',
    request: `${POST}Transfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n` },
  { desc: 'two different Content-Lengths', rfc: 'RFC 9112 §6.3 ¶5',
    request: `${POST}Content-Length: 3\r\nContent-Length: 5\r\n\r\nhello` },
  { desc: 'two identical Content-Lengths', rfc: 'RFC 9110 §8.6 ¶5: reject, or collapse to one value',
    request: `${POST}Content-Length: 5\r\nContent-Length: 5\r\n\r\nhello`, mayForwardAs: 'POST / (complete, 5 body bytes, content-length: 5)' },
  { desc: 'Content-Length: 5, 5', rfc: 'RFC 9110 §8.6 ¶5: reject, or collapse to one value',
    request: `${POST}Content-Length: 5, 5\r\n\r\nhello`, mayForwardAs: 'POST / (complete, 5 body bytes, content-length: 5)' },
  { desc: 'Content-Length: 1, 2', rfc: 'RFC 9112 §6.3 ¶5, RFC 9110 §8.6',
    request: `${POST}Content-Length: 1, 2\r\n\r\nab` },
  { desc: 'negative Content-Length', rfc: 'RFC 9110 §8.6 (1*DIGIT), RFC 9112 §6.3 ¶5',
    request: `${POST}Content-Length: -1\r\n\r\n` },
  { desc: 'non-numeric Content-Length', rfc: 'RFC 9110 §8.6, RFC 9112 §6.3 ¶5',
    request: `${POST}Content-Length: abc\r\n\r\n` },
  { desc: 'Content-Length with a plus sign', rfc: 'RFC 9110 §8.6, RFC 9112 §6.3 ¶5',
    request: `${POST}Content-Length: +5\r\n\r\nhello` },
  { desc: 'Content-Length beyond 2^64', rfc: 'RFC 9110 §8.6 ¶9 (overflow)', status: [400, 413],
    request: `${POST}Content-Length: 99999999999999999999999\r\n\r\n` },
  { desc: 'Transfer-Encoding: chunked, gzip (chunked not last)', rfc: 'RFC 9112 §6.3 ¶4',
    request: `${POST}Transfer-Encoding: chunked, gzip\r\n\r\n0\r\n\r\n` },
  { desc: 'Transfer-Encoding: gzip without chunked', rfc: 'RFC 9112 §6.3 ¶4',
    request: `${POST}Transfer-Encoding: gzip\r\n\r\nhello` },
  { desc: 'Transfer-Encoding: xchunked', rfc: 'RFC 9112 §6.3 ¶4',
    request: `${POST}Transfer-Encoding: xchunked\r\n\r\n0\r\n\r\n` },
  { desc: 'Transfer-Encoding: chunked, chunked', rfc: 'RFC 9112 §6.1 ¶5',
    request: `${POST}Transfer-Encoding: chunked, chunked\r\n\r\n0\r\n\r\n0\r\n\r\n` },
  { desc: 'Transfer-Encoding on two lines, identity last', rfc: 'RFC 9112 §6.3 ¶4',
    request: `${POST}Transfer-Encoding: chunked\r\nTransfer-Encoding: identity\r\n\r\n0\r\n\r\n` },
  { desc: 'an unknown transfer coding before chunked (x-custom, chunked)', rfc: 'RFC 9112 §6.1 ¶11: SHOULD 501', status: [400, 501],
    request: `${POST}Transfer-Encoding: x-custom, chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n` },
  { desc: 'invalid chunk size', rfc: 'RFC 9112 §7.1', inBody: true,
    request: `${POST}Transfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n` },
  { desc: 'invalid chunk size, Connection: close (the answer closes anyway: the 400 still comes at once)', rfc: 'RFC 9112 §7.1', inBody: true,
    request: `${POST}Connection: close\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n` },
  { desc: 'invalid chunk size after a good chunk', rfc: 'RFC 9112 §7.1', inBody: true,
    request: `${POST}Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\nzz\r\nhello\r\n0\r\n\r\n` },
  { desc: 'chunk size overflowing 64 bits', rfc: 'RFC 9112 §7.1 ¶3', inBody: true,
    request: `${POST}Transfer-Encoding: chunked\r\n\r\nfffffffffffffffff1\r\nhello\r\n0\r\n\r\n` },
  { desc: 'chunk data longer than its size', rfc: 'RFC 9112 §7.1', inBody: true,
    request: `${POST}Transfer-Encoding: chunked\r\n\r\n3\r\nhello\r\n0\r\n\r\n` },
  // Field syntax.
  { desc: 'a space before the colon (Host : web)', rfc: 'RFC 9112 §5.1 ¶2: MUST 400',
    request: 'GET / HTTP/1.1\r\nHost : web\r\n\r\n' },
  { desc: 'a space before the colon in another field', rfc: 'RFC 9112 §5.1 ¶2: MUST 400',
    request: `${GET}X-Name : x\r\n\r\n` },
  { desc: 'NUL in a field value', rfc: 'RFC 9110 §5.5 ¶5',
    request: `${GET}X-A: a\x00b\r\n\r\n` },
  { desc: 'CR alone in a field value', rfc: 'RFC 9110 §5.5 ¶5, RFC 9112 §2.2 ¶4',
    request: `${GET}X-A: a\rb\r\n\r\n` },
  { desc: 'DEL in a field value', rfc: 'RFC 9110 §5.5 (field-vchar)',
    request: `${GET}X-A: a\x7fb\r\n\r\n` },
  { desc: 'DEL in a field name', rfc: 'RFC 9110 §5.1 (token)',
    request: `${GET}X-\x7fA: b\r\n\r\n` },
  { desc: 'a non-ASCII octet in a field name', rfc: 'RFC 9110 §5.1 (token)',
    request: `${GET}X-\xe9: b\r\n\r\n` },
  { desc: 'an empty field name', rfc: 'RFC 9110 §5.1 (token)',
    request: `${GET}: x\r\n\r\n` },
  { desc: 'obsolete line folding (SP)', rfc: 'RFC 9112 §5.2 ¶4',
    request: `${GET}X-A: a\r\n b\r\n\r\n` },
  { desc: 'obsolete line folding (HTAB) continuing Transfer-Encoding', rfc: 'RFC 9112 §5.2 ¶4',
    request: `${POST}Transfer-Encoding: identity\r\n\tchunked\r\n\r\n0\r\n\r\n` },
  { desc: 'whitespace before the first field line', rfc: 'RFC 9112 §2.2 ¶8',
    request: 'GET / HTTP/1.1\r\n Host: web\r\nHost: web\r\n\r\n' },
  // Request line.
  { desc: 'two spaces in the request line', rfc: 'RFC 9112 §3 ¶4; ¶5 lets a recipient split on any whitespace',
    request: 'GET  / HTTP/1.1\r\nHost: web\r\n\r\n', mayForwardAs: 'GET / (complete, 0 body bytes)' },
  { desc: 'a bad character in the method', rfc: 'RFC 9110 §9.1 (token)',
    request: 'G(T / HTTP/1.1\r\nHost: web\r\n\r\n' },
  { desc: 'HTTP/2.0 in an HTTP/1 request line', rfc: 'RFC 9110 §15.6.6, RFC 9112 §2.3', status: [400, 505],
    request: 'GET / HTTP/2.0\r\nHost: web\r\n\r\n' },
  { desc: 'HTTP/9.9', rfc: 'RFC 9110 §15.6.6, RFC 9112 §2.3', status: [400, 505],
    request: 'GET / HTTP/9.9\r\nHost: web\r\n\r\n' },
  { desc: 'lower-case http/1.1', rfc: 'RFC 9112 §2.3 ¶3 (case-sensitive)',
    request: 'GET / http/1.1\r\nHost: web\r\n\r\n' },
  { desc: 'a space inside the request target', rfc: 'RFC 9112 §3.2 ¶5',
    request: 'GET /a b HTTP/1.1\r\nHost: web\r\n\r\n' },
  { desc: 'an absolute-form target that is no URL (port 99999)', rfc: 'RFC 9112 §3.2.2, RFC 3986 §3.2.3',
    request: 'GET http://web:99999/abs HTTP/1.1\r\nHost: web\r\n\r\n' },
  { desc: 'authority-form target on a GET', rfc: 'RFC 9112 §3.2.3 (CONNECT only)',
    request: 'GET web:80 HTTP/1.1\r\nHost: web\r\n\r\n' },
  { desc: 'CONNECT is not tunnelled', rfc: 'RFC 9110 §9.3.6: a reverse proxy need not tunnel', status: [400, 403, 405, 501],
    request: 'CONNECT other.example:443 HTTP/1.1\r\nHost: other.example:443\r\n\r\n' },
  // Host.
  { desc: 'HTTP/1.1 without Host', rfc: 'RFC 9112 §3.2 ¶6: MUST 400',
    request: 'GET / HTTP/1.1\r\n\r\n' },
  { desc: 'two Host field lines', rfc: 'RFC 9112 §3.2 ¶6: MUST 400',
    request: 'GET / HTTP/1.1\r\nHost: web\r\nHost: other.example\r\n\r\n' },
  { desc: 'a Host value that is no host (a space, a slash)', rfc: 'RFC 9112 §3.2 ¶6, RFC 3986 §3.2.2',
    request: 'GET / HTTP/1.1\r\nHost: we b/x\r\n\r\n' },
  // Limits.
  { desc: 'an 80 KB request head', rfc: 'RFC 6585 §5', status: [431],
    request: `${GET}${Array.from({ length: 80 }, (_, i) => `X-Filler-${i}: ${'a'.repeat(1000)}\r\n`).join('')}\r\n` },
  { desc: 'a Content-Length above the app maxBodySize (100 MB)', rfc: 'RFC 9110 §15.5.14', status: [413],
    request: `${POST}Content-Length: 200000000\r\n\r\nhello` },
];

test('malformed and ambiguous requests: 400 (or 431/413/501/505), the connection closed, nothing forwarded', { timeout: 60_000 }, async (t) => {
  const { run, seen } = await setUp(t);
  const control = await exchange(run.proxyUrl, `${GET}Connection: close\r\n\r\n`);
  assert.equal(control.responses[0]?.status, 200, 'a well-formed request on a raw socket is forwarded');
  assert.equal(seen.length, 1);

  for (const c of MALFORMED) {
    await t.test(c.desc, async (sub) => {
      seen.length = 0;
      // A well-formed request pipelined behind the bad one: the connection closes after the refusal, so it must not
      // run upstream either (its answer could never be sent).
      const request = c.inBody || c.mayForwardAs !== undefined ? c.request : `${c.request}GET /after HTTP/1.1\r\nHost: web\r\n\r\n`;
      const ex = await exchange(run.proxyUrl, request, { timeoutMs: ANSWER_MS });
      await delay(SETTLE_MS);
      const got = describeExchange(ex.responses, ex.raw, ex.closed, ex.error);
      const status = ex.responses[0]?.status ?? 0;
      if (c.mayForwardAs !== undefined && status >= 200 && status < 300) {
        sub.diagnostic(`accepted, as the RFC allows: ${got}; the upstream saw ${JSON.stringify(seen.map(summary))}`);
        return assert.deepEqual(seen.map(summary), [c.mayForwardAs], `${c.rfc}: accepted, so forwarded exactly once and unambiguously`);
      }
      const forwarded = c.inBody ? seen.filter((s) => s.complete) : seen;
      if (c.inBody && seen.length > 0) sub.diagnostic(`the head reached the upstream before the body error, then was cut off: ${JSON.stringify(seen.map(summary))}`);
      assert.deepEqual(forwarded.map(summary), [], `${c.rfc}: the upstream must ${c.inBody ? 'not see a complete request' : 'see nothing'}; cutover answered ${got}`);
      const allowed = c.status ?? [400];
      assert.ok(allowed.includes(status), `${c.rfc}: expected ${allowed.join(' or ')}, got ${got}`);
      assert.ok(ex.closed, `${c.rfc}: the connection must close after the error; got ${got}`);
      assert.equal(ex.responses.length, 1, `${c.rfc}: one answer, then the close; got ${got}`);
    });
  }
});

interface GoodCase {
  readonly desc: string;
  check(run: Running, seen: Seen[], t: TestContext): Promise<void>;
}

const WELL_FORMED: readonly GoodCase[] = [
  {
    desc: 'HTTP/1.0 without Host is answered and the connection closes (RFC 9112 §9.3)',
    async check(run, seen) {
      const ex = await exchange(run.proxyUrl, 'GET /old HTTP/1.0\r\n\r\n');
      assert.equal(ex.responses[0]?.status, 200, describeExchange(ex.responses, ex.raw, ex.closed, ex.error));
      assert.equal(ex.responses[0]?.body.toString(), 'GET /old 0');
      assert.ok(ex.closed, 'no keep-alive unless the HTTP/1.0 client asks for it');
      assert.equal(seen.length, 1);
    },
  },
  {
    desc: 'HTTP/1.0 with Connection: keep-alive keeps the connection (RFC 9112 §9.3 ¶4)',
    async check(run) {
      await RawConnection.with(run.proxyUrl, async (conn) => {
        conn.write('GET /a HTTP/1.0\r\nConnection: keep-alive\r\n\r\n');
        const first = await conn.nextResponse();
        assert.equal(first.status, 200);
        assert.match(field(first, 'connection') ?? '', /keep-alive/i);
        conn.write('GET /b HTTP/1.0\r\n\r\n');
        assert.equal((await conn.nextResponse()).body.toString(), 'GET /b 0');
        assert.ok(await conn.closed(ANSWER_MS));
      });
    },
  },
  {
    desc: 'Expect: 100-continue gets 100 Continue before the body, then the final answer; the body arrives intact (RFC 9110 §10.1.1)',
    async check(run, seen) {
      await RawConnection.with(run.proxyUrl, async (conn) => {
        conn.write('POST /upload HTTP/1.1\r\nHost: web\r\nContent-Length: 11\r\nExpect: 100-continue\r\n\r\n');
        const interim = await conn.nextResponse('POST', ANSWER_MS);
        assert.equal(interim.status, 100, `first answer: ${interim.statusLine}`);
        conn.write('hello world');
        const final = await conn.nextResponse('POST');
        assert.equal(final.status, 200);
        assert.equal(final.body.toString(), 'POST /upload 11');
        assert.equal(seen[0]?.body.toString(), 'hello world');
      });
    },
  },
  {
    desc: 'Expect: 100-continue with a body over the app limit gets 413 at once, never 100 Continue (RFC 9110 §10.1.1)',
    async check(run, seen) {
      await RawConnection.with(run.proxyUrl, async (conn) => {
        conn.write('POST /upload HTTP/1.1\r\nHost: web\r\nContent-Length: 200000000\r\nExpect: 100-continue\r\n\r\n');
        const first = await conn.nextResponse('POST', ANSWER_MS);
        assert.equal(first.status, 413, `first answer: ${first.statusLine}`);
        assert.equal(seen.length, 0);
      });
    },
  },
  {
    desc: 'an HTTP/1.0 request with Expect: 100-continue gets no 100, only its answer (RFC 9110 §15.2)',
    async check(run) {
      const ex = await exchange(run.proxyUrl, 'POST /e10 HTTP/1.0\r\nHost: web\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\nhello');
      assert.deepEqual(ex.responses.map((r) => r.status), [200], describeExchange(ex.responses, ex.raw, ex.closed, ex.error));
    },
  },
  {
    desc: 'a refusal queued behind a slower answer is still sent when garbage follows it, then the close',
    async check(run, seen) {
      const ex = await exchange(run.proxyUrl, 'GET /delay/300 HTTP/1.1\r\nHost: web\r\n\r\nGET /b HTTP/1.1\r\n\r\nGARBAGE\r\n\r\n');
      assert.deepEqual([ex.responses.map((r) => r.status), ex.closed], [[200, 400], true], describeExchange(ex.responses, ex.raw, ex.closed, ex.error));
      assert.deepEqual(seen.map((s) => s.url), ['/delay/300']);
    },
  },
  {
    desc: 'HEAD gets the headers, Content-Length kept, and no body; the next request on the connection still parses (RFC 9110 §9.3.2)',
    async check(run) {
      await RawConnection.with(run.proxyUrl, async (conn) => {
        conn.write('HEAD /head HTTP/1.1\r\nHost: web\r\n\r\nGET /after HTTP/1.1\r\nHost: web\r\n\r\n');
        const head = await conn.nextResponse('HEAD');
        assert.equal(head.status, 200);
        assert.equal(field(head, 'content-length'), '11');
        assert.equal(field(head, 'transfer-encoding'), undefined);
        assert.equal((await conn.nextResponse()).body.toString(), 'GET /after 0', 'no body bytes were sent after the HEAD response');
      });
    },
  },
  ...[204, 304].map((status): GoodCase => ({
    desc: `an upstream ${status} reaches the client with no body and no chunked framing (RFC 9110 §15.3.5/§15.4.5, RFC 9112 §6.1 ¶13)`,
    async check(run) {
      await RawConnection.with(run.proxyUrl, async (conn) => {
        conn.write(`GET /status/${status} HTTP/1.1\r\nHost: web\r\n\r\nGET /after HTTP/1.1\r\nHost: web\r\n\r\n`);
        const res = await conn.nextResponse();
        assert.equal(res.status, status);
        assert.equal(field(res, 'transfer-encoding'), undefined);
        if (status === 204) assert.equal(field(res, 'content-length'), undefined, 'RFC 9110 §8.6: no Content-Length in a 204');
        assert.equal((await conn.nextResponse()).body.toString(), 'GET /after 0', 'no body bytes were sent after the header');
      });
    },
  })),
  {
    desc: 'a chunked upload with extensions and trailers reaches the upstream intact (RFC 9112 §7.1–7.1.2)',
    async check(run, seen, t) {
      const body = '5;name=value\r\nhello\r\n6\r\n world\r\n0\r\nX-Checksum: abc\r\n\r\n';
      const ex = await exchange(run.proxyUrl, `POST /chunked HTTP/1.1\r\nHost: web\r\nTransfer-Encoding: chunked\r\nTrailer: X-Checksum\r\nConnection: close\r\n\r\n${body}`);
      assert.equal(ex.responses[0]?.status, 200, describeExchange(ex.responses, ex.raw, ex.closed, ex.error));
      assert.equal(seen[0]?.body.toString(), 'hello world');
      const trailers = seen[0]?.rawTrailers ?? [];
      t.diagnostic(`trailers at the upstream: ${trailers.length === 0 ? 'dropped' : `forwarded ${JSON.stringify(trailers)}`}`);
    },
  },
  {
    desc: 'pipelined requests are answered in order, even when the first is the slowest (RFC 9112 §9.3.2)',
    async check(run) {
      await RawConnection.with(run.proxyUrl, async (conn) => {
        conn.write(['/delay/300', '/delay/100', '/delay/0'].map((p) => `GET ${p} HTTP/1.1\r\nHost: web\r\n\r\n`).join(''));
        const bodies = [];
        for (let i = 0; i < 3; i++) bodies.push((await conn.nextResponse()).body.toString());
        assert.deepEqual(bodies, ['GET /delay/300 0', 'GET /delay/100 0', 'GET /delay/0 0']);
      });
    },
  },
  {
    desc: 'a malformed request pipelined behind a valid one: the valid one keeps its own answer, then 400 and close (RFC 9112 §9.3.2)',
    async check(run, seen) {
      const ex = await exchange(run.proxyUrl, `GET /delay/300 HTTP/1.1\r\nHost: web\r\n\r\n${POST}Content-Length: 3\r\nContent-Length: 5\r\n\r\nhello`);
      await delay(SETTLE_MS);
      const got = ex.responses.map((r) => `${r.statusLine} ${JSON.stringify(r.body.toString())}`);
      assert.deepEqual(got.slice(0, 1), ['HTTP/1.1 200 OK "GET /delay/300 0"'], 'the first answer on the connection belongs to the first request');
      assert.ok(ex.closed, 'the connection closes after the malformed request');
      assert.deepEqual(seen.map(summary), ['GET /delay/300 (complete, 0 body bytes)']);
    },
  },
  {
    desc: 'Connection: close gets connection: close and the socket closes (RFC 9112 §9.6)',
    async check(run) {
      const ex = await exchange(run.proxyUrl, `${GET}Connection: close\r\n\r\n`);
      assert.equal(ex.responses[0]?.status, 200);
      assert.match(field(ex.responses[0]!, 'connection') ?? '', /close/i);
      assert.ok(ex.closed);
    },
  },
  {
    desc: 'absolute-form: routed and forwarded by the target URI, as origin-form with a Host from it (RFC 9112 §3.2.2 ¶5–6)',
    async check(run, seen) {
      const ex = await exchange(run.proxyUrl, 'GET http://other.example/path?q=1 HTTP/1.1\r\nHost: web\r\nConnection: close\r\n\r\n');
      await delay(SETTLE_MS);
      const got = describeExchange(ex.responses, ex.raw, ex.closed, ex.error);
      assert.equal(ex.responses[0]?.status, 200, `a server MUST accept the absolute-form; got ${got}`);
      const at = seen[0];
      assert.ok(at !== undefined, `forwarded nothing; cutover answered ${got}`);
      assert.deepEqual({ url: at.url, host: headerOf(at, 'host') }, { url: '/path?q=1', host: 'other.example' },
        'the Host of the absolute-form target replaces the received Host field');
    },
  },
];

test('well-formed edge cases behave as RFC 9110/9112 say', { timeout: 60_000 }, async (t) => {
  const { run, seen } = await setUp(t);
  for (const c of WELL_FORMED) {
    await t.test(c.desc, async (sub) => {
      seen.length = 0;
      await c.check(run, seen, sub);
    });
  }
});

const SLOW_CLIENTS = 500;
const PROBES = 20;
/** A head timeout checked on an interval closes a little after it expires. */
const HEAD_TIMEOUT_SLACK_MS = 5_000;

test('500 connections dribbling their heads delay no one, and the head timeout closes them', { timeout: 60_000 }, async (t) => {
  const { run } = await setUp(t);
  const before = await probeLatencies(run.proxyUrl, 0);
  const slow = await dribble(t, run.proxyUrl, SLOW_CLIENTS);
  // The probes run within the first half of the head timeout, while every slow client is still open.
  const during = await probeLatencies(run.proxyUrl, Math.min(250, DEFAULT_TIMEOUTS.requestHeadMs / 2 / PROBES));
  t.diagnostic(`latency without slow clients: ${stats(before)}; with ${SLOW_CLIENTS} dribbling: ${stats(during)}`);
  assert.equal(slow.closedAfter.filter((ms) => ms !== null).length, 0, 'the slow clients were still open while the probes ran');
  assert.ok(Math.max(...during) < 1_000, `a normal request took ${Math.max(...during).toFixed(0)} ms next to the slow clients`);

  const bound = DEFAULT_TIMEOUTS.requestHeadMs + HEAD_TIMEOUT_SLACK_MS;
  while (slow.open() > 0 && Date.now() - slow.startedAt < bound) await delay(100);
  const closed = slow.closedAfter.filter((ms): ms is number => ms !== null).sort((a, b) => a - b);
  const answers = [...new Set(slow.answers())];
  t.diagnostic(`after ${((Date.now() - slow.startedAt) / 1000).toFixed(1)} s: ${closed.length}/${SLOW_CLIENTS} slow clients closed` +
    (closed.length > 0 ? `, first after ${closed[0]} ms, last after ${closed.at(-1)} ms; answers: ${JSON.stringify(answers)}` : ''));
  assert.equal(slow.open(), 0, `requestHead is ${DEFAULT_TIMEOUTS.requestHeadMs} ms, yet ${slow.open()} dribbling connections were open after ${bound} ms`);
  assert.ok(answers.every((a) => a === '' || a.startsWith('HTTP/1.1 408')), `a head timeout is answered 408 (RFC 9110 §15.5.9) or not at all; got ${JSON.stringify(answers)}`);
});

// ---------------------------------------------------------------------------------------------------------------

async function setUp(t: TestContext): Promise<Setup> {
  const seen: Seen[] = [];
  const upstream = await startUpstream(t, 'recorder', (req, res) => record(req, res, seen));
  const run = await startCutover(t);
  await deploy(run, 'v1', [upstream.url]);
  return { run, seen };
}

function record(req: IncomingMessage, res: ServerResponse, seen: Seen[]): void {
  const entry: Seen = { method: req.method ?? '', url: req.url ?? '', rawHeaders: req.rawHeaders, body: Buffer.alloc(0), rawTrailers: [], complete: false };
  seen.push(entry);
  const chunks: Buffer[] = [];
  req.on('data', (chunk: Buffer) => chunks.push(chunk));
  req.on('end', () => {
    Object.assign(entry, { body: Buffer.concat(chunks), rawTrailers: req.rawTrailers, complete: true });
    answer(entry, res);
  });
}

/** `/status/N` answers N, `/head` has an 11-byte body, `/delay/N` waits N ms; the rest echo method, path, body size. */
function answer(entry: Seen, res: ServerResponse): void {
  const status = /^\/status\/(\d+)$/.exec(entry.url);
  if (status) return void res.writeHead(Number(status[1]), { etag: '"v1"' }).end();
  if (entry.url === '/head') return void res.writeHead(200, { 'content-length': 11 }).end(entry.method === 'HEAD' ? undefined : 'hello world');
  const echo = `${entry.method} ${entry.url} ${entry.body.length}`;
  const wait = /^\/delay\/(\d+)$/.exec(entry.url);
  // A Content-Length, so the proxy can keep an HTTP/1.0 client's connection (chunked is not for HTTP/1.0).
  const headers = { 'content-type': 'text/plain', 'content-length': Buffer.byteLength(echo) };
  setTimeout(() => res.writeHead(200, headers).end(echo), wait ? Number(wait[1]) : 0);
}

function headerOf(seen: Seen, name: string): string | undefined {
  const i = seen.rawHeaders.findIndex((n, j) => j % 2 === 0 && n.toLowerCase() === name);
  return i < 0 ? undefined : seen.rawHeaders[i + 1];
}

/** `POST / (complete, 5 body bytes, content-length: 5)`: the request line and how its body was framed. */
function summary(seen: Seen): string {
  const framing = ['content-length', 'transfer-encoding'].flatMap((name) => {
    const values = seen.rawHeaders.filter((_, i) => i % 2 === 1 && seen.rawHeaders[i - 1]!.toLowerCase() === name);
    return values.length === 0 ? [] : [`${name}: ${values.join(' | ')}`];
  });
  return `${seen.method} ${seen.url} (${[seen.complete ? 'complete' : 'cut off', `${seen.body.length} body bytes`, ...framing].join(', ')})`;
}

function describeExchange(responses: RawResponse[], raw: Buffer, closed: boolean, error: string | null): string {
  const first = responses[0]?.statusLine ?? (raw.length === 0 ? 'no response' : `unparsable ${JSON.stringify(raw.subarray(0, 80).toString('latin1'))}`);
  return `${first}, ${responses.length} response(s), connection ${closed ? `closed${error ? ` (${error})` : ''}` : 'left open'}`;
}

/** Time for one request on a fresh connection, connect included: what a new visitor waits. */
async function probeLatencies(url: string, spacingMs: number): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < PROBES; i++) {
    const started = performance.now();
    const ex = await exchange(url, `${GET}Connection: close\r\n\r\n`, { timeoutMs: 5_000 });
    out.push(performance.now() - started);
    assert.equal(ex.responses[0]?.status, 200, 'a probe request failed');
    await delay(spacingMs);
  }
  return out;
}

function stats(ms: number[]): string {
  const sorted = [...ms].sort((a, b) => a - b);
  return `median ${sorted[Math.floor(sorted.length / 2)]!.toFixed(1)} ms, max ${sorted.at(-1)!.toFixed(1)} ms`;
}

interface Dribblers {
  readonly startedAt: number;
  /** Per client, ms from its first byte until the proxy closed it; null while open. */
  readonly closedAfter: (number | null)[];
  open(): number;
  /** Per closed client, the first line the proxy sent it ('' for none). */
  answers(): string[];
}

/** `count` connections that send an endless request head, one byte per second each (slowloris). */
async function dribble(t: TestContext, url: string, count: number): Promise<Dribblers> {
  const head = `GET / HTTP/1.1\r\nHost: web\r\nX-Dribble: `;
  const conns = await Promise.all(Array.from({ length: count }, () => RawConnection.open(url)));
  t.after(() => conns.forEach((c) => c.destroy()));
  const startedAt = Date.now();
  const closedAfter: (number | null)[] = conns.map(() => null);
  conns.forEach((c, i) => c.socket.once('close', () => (closedAfter[i] = Date.now() - startedAt)));
  let sent = 0;
  const send = () => {
    const byte = sent < head.length ? head[sent]! : 'a';
    sent++;
    for (const c of conns) if (!c.isClosed) c.write(byte);
  };
  send();
  const timer = setInterval(send, 1_000);
  t.after(() => clearInterval(timer));
  return {
    startedAt,
    closedAfter,
    open: () => closedAfter.filter((ms) => ms === null).length,
    answers: () => conns.filter((c) => c.isClosed).map((c) => c.received.toString('latin1').split('\r\n')[0]!),
  };
}

function delay(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
