import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MAX_HEAD_BYTES, ResponseParser } from './response-parser.ts';

interface Parsed {
  heads: string[];
  body: string;
  ended: number;
  reusable: boolean;
  keepAliveMs: number;
}

/** Feeds `wire` whole, or in pieces of `piece` bytes, then the connection's end if `close`; what the sink heard. */
function parse(wire: string, opts: { head?: boolean; piece?: number; close?: boolean } = {}): Parsed {
  const out: Parsed = { heads: [], body: '', ended: 0, reusable: false, keepAliveMs: -1 };
  const parser = new ResponseParser({
    onHead: (h) => void out.heads.push(`${h.status} ${h.statusText} ${JSON.stringify(h.headers)}`),
    onBody: (chunk) => void (out.body += chunk.toString('latin1')),
    onEnd: () => void out.ended++,
  });
  parser.expect(opts.head ?? false);
  const bytes = Buffer.from(wire, 'latin1');
  const piece = opts.piece ?? bytes.length;
  for (let at = 0; at < bytes.length; at += piece) parser.feed(bytes.subarray(at, at + piece));
  if (opts.close === true) parser.closed();
  out.reusable = parser.reusable;
  out.keepAliveMs = parser.keepAliveMs;
  return out;
}

const OK = 'HTTP/1.1 200 OK\r\n';

const GOOD: { desc: string; wire: string; head?: boolean; close?: boolean; body: string; reusable: boolean; keepAliveMs?: number; firstHead?: string }[] = [
  { desc: 'a Content-Length body', wire: `${OK}Content-Length: 5\r\nX-A:  b \r\n\r\nhello`, body: 'hello', reusable: true, firstHead: '200 OK ["Content-Length","5","X-A","b"]' },
  { desc: 'an empty body (Content-Length: 0)', wire: `${OK}Content-Length: 0\r\n\r\n`, body: '', reusable: true },
  { desc: 'a chunked body with extensions and trailers (RFC 9112 §7.1)', wire: `${OK}Transfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\nA\r\n, world!!!\r\n0\r\nX-Trailer: t\r\n\r\n`, body: 'hello, world!!!', reusable: true },
  { desc: '1xx responses before the final one are skipped (RFC 9110 §15.2)', wire: `HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n${OK}Content-Length: 2\r\n\r\nok`, body: 'ok', reusable: true, firstHead: '200 OK ["Content-Length","2"]' },
  { desc: 'HEAD: no body whatever Content-Length says (RFC 9110 §9.3.2)', wire: `${OK}Content-Length: 11\r\n\r\n`, head: true, body: '', reusable: true },
  { desc: '204: no body', wire: 'HTTP/1.1 204 No Content\r\nContent-Length: 7\r\n\r\n', body: '', reusable: true },
  { desc: '304: no body, its Content-Length that of the 200', wire: 'HTTP/1.1 304 Not Modified\r\nContent-Length: 7\r\n\r\n', body: '', reusable: true },
  { desc: 'no length: the body runs until the connection closes (RFC 9112 §6.3 ¶8)', wire: `${OK}\r\nall of it`, close: true, body: 'all of it', reusable: false },
  { desc: 'Connection: close: not reused', wire: `${OK}Connection: keep-alive, close\r\nContent-Length: 1\r\n\r\nx`, body: 'x', reusable: false },
  { desc: 'HTTP/1.0: not reused', wire: 'HTTP/1.0 200 OK\r\nContent-Length: 1\r\n\r\nx', body: 'x', reusable: false },
  { desc: 'Transfer-Encoding and Content-Length: chunked wins, the Content-Length goes, the connection is not reused (RFC 9112 §6.1, §6.3)', wire: `${OK}Content-Length: 100\r\nTransfer-Encoding: chunked\r\nX-A: 1\r\n\r\n1\r\nx\r\n0\r\n\r\n`, body: 'x', reusable: false, firstHead: '200 OK ["Transfer-Encoding","chunked","X-A","1"]' },
  { desc: 'a chunk size with leading zeros (RFC 9112 §7.1: 1*HEXDIG)', wire: `${OK}Transfer-Encoding: chunked\r\n\r\n00000000000000000002\r\nok\r\n0000\r\n\r\n`, body: 'ok', reusable: true },
  { desc: 'Transfer-Encoding: identity is no coding (read until close)', wire: `${OK}Transfer-Encoding: identity\r\n\r\nall`, close: true, body: 'all', reusable: false },
  { desc: 'identity before chunked is chunked', wire: `${OK}Transfer-Encoding: identity, chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n`, body: 'ok', reusable: true },
  { desc: 'lines ended by a bare LF (RFC 9112 §2.2)', wire: 'HTTP/1.1 200 OK\nTransfer-Encoding: chunked\nX-A: 1\n\n2\nok\n0\n\n', body: 'ok', reusable: true, firstHead: '200 OK ["Transfer-Encoding","chunked","X-A","1"]' },
  { desc: 'Keep-Alive: timeout=0 is kept (close at once)', wire: `${OK}Keep-Alive: timeout=0\r\nContent-Length: 0\r\n\r\n`, body: '', reusable: true, keepAliveMs: 0 },
  { desc: 'the same Content-Length twice is one (RFC 9110 §8.6)', wire: `${OK}Content-Length: 2, 2\r\n\r\nab`, body: 'ab', reusable: true },
  { desc: 'Keep-Alive: timeout=5 is kept', wire: `${OK}Keep-Alive: timeout=5, max=100\r\nContent-Length: 0\r\n\r\n`, body: '', reusable: true, keepAliveMs: 5000 },
  { desc: 'a status line without a reason', wire: 'HTTP/1.1 200\r\nContent-Length: 0\r\n\r\n', body: '', reusable: true, firstHead: '200  ["Content-Length","0"]' },
];

test('responses are framed as RFC 9112 §6.3 says, whole or byte by byte', () => {
  for (const c of GOOD) {
    for (const piece of [undefined, 1, 3]) {
      const got = parse(c.wire, { head: c.head, close: c.close, piece });
      const how = `${c.desc} (pieces of ${piece ?? 'all'})`;
      assert.equal(got.heads.length, 1, how);
      if (c.firstHead !== undefined) assert.equal(got.heads[0], c.firstHead, how);
      assert.equal(got.body, c.body, how);
      assert.equal(got.ended, 1, how);
      assert.equal(got.reusable, c.reusable, how);
      assert.equal(got.keepAliveMs, c.keepAliveMs ?? -1, how);
    }
  }
});

test('a response that does not end before the connection closes is not complete', () => {
  assert.equal(parse(`${OK}Content-Length: 10\r\n\r\nhalf`, { close: true }).ended, 0);
  assert.equal(parse(`${OK}Transfer-Encoding: chunked\r\n\r\n5\r\nhel`, { close: true }).ended, 0);
});

const BAD: { desc: string; wire: string; error: RegExp }[] = [
  { desc: 'no HTTP at all', wire: 'SSH-2.0-OpenSSH\r\n\r\n', error: /malformed status line/ },
  { desc: 'HTTP/2.0 in a status line', wire: 'HTTP/2.0 200 OK\r\n\r\n', error: /malformed status line/ },
  { desc: 'a two-digit status', wire: 'HTTP/1.1 20 OK\r\n\r\n', error: /malformed status line/ },
  { desc: 'a status below 100', wire: 'HTTP/1.1 099 X\r\n\r\n', error: /status 099/ },
  { desc: 'a transfer coding other than chunked (it would reach the client undeclared)', wire: `${OK}Transfer-Encoding: gzip, chunked\r\n\r\n`, error: /transfer coding other than chunked/ },
  { desc: 'a 101 nobody asked for', wire: 'HTTP/1.1 101 Switching Protocols\r\n\r\n', error: /switched protocols/ },
  { desc: 'a folded header line (RFC 9112 §5.2)', wire: `${OK}X-A: 1\r\n 2\r\nContent-Length: 0\r\n\r\n`, error: /malformed header line/ },
  { desc: 'whitespace before the colon (RFC 9112 §5.1)', wire: `${OK}Content-Length : 0\r\n\r\n`, error: /malformed header line/ },
  { desc: 'a line without a colon', wire: `${OK}nonsense\r\n\r\n`, error: /malformed header line/ },
  { desc: 'two different Content-Lengths', wire: `${OK}Content-Length: 1\r\nContent-Length: 2\r\n\r\nab`, error: /invalid Content-Length/ },
  { desc: 'a negative Content-Length', wire: `${OK}Content-Length: -1\r\n\r\n`, error: /invalid Content-Length/ },
  { desc: 'a chunk size that is no hex number', wire: `${OK}Transfer-Encoding: chunked\r\n\r\nzz\r\n`, error: /malformed chunk size/ },
  { desc: 'a chunk size past 2^52', wire: `${OK}Transfer-Encoding: chunked\r\n\r\nfffffffffffffff\r\n`, error: /malformed chunk size/ },
  { desc: 'chunk data longer than its size', wire: `${OK}Transfer-Encoding: chunked\r\n\r\n1\r\nxy\r\n0\r\n\r\n`, error: /chunk not followed by CRLF/ },
  { desc: 'bytes after the end of the response', wire: `${OK}Content-Length: 1\r\n\r\nxHTTP/1.1 200 OK\r\n\r\n`, error: /no request waiting/ },
];

test('a malformed response throws an error saying what was wrong, whole or byte by byte', () => {
  for (const c of BAD) {
    for (const piece of [undefined, 1]) {
      assert.throws(() => parse(c.wire, { piece }), (err: Error & { code?: string }) => err.code === 'BAD_RESPONSE' && c.error.test(err.message), `${c.desc} (pieces of ${piece ?? 'all'})`);
    }
  }
});

test('a response head past the limit is refused, before its end comes or with its end in the same read', () => {
  const filler = `X-F: ${'a'.repeat(1000)}\r\n`.repeat(Math.ceil(MAX_HEAD_BYTES / 1000) + 1);
  assert.throws(() => parse(`${OK}${filler}`, { piece: 4096 }), /response head over/);
  assert.throws(() => parse(`${OK}${filler}\r\n`), /response head over/, 'a head whose end is in the read that passes the limit');
  assert.equal(parse(`${OK}${filler.slice(0, MAX_HEAD_BYTES - 200)}\r\n\r\n`).ended, 0, 'just under the limit: read (no body, no length: until close)');
});

test('one parser reads one response after another on a kept-alive connection', () => {
  const bodies: string[] = [];
  let current = '';
  const parser = new ResponseParser({ onHead: () => {}, onBody: (c) => void (current += c), onEnd: () => { bodies.push(current); current = ''; } });
  for (const body of ['one', 'two', 'three']) {
    parser.expect(false);
    parser.feed(Buffer.from(`${OK}Content-Length: ${body.length}\r\n\r\n${body}`));
    assert.equal(parser.busy, false);
  }
  assert.deepEqual(bodies, ['one', 'two', 'three']);
});
