import { test } from 'node:test';
import assert from 'node:assert/strict';
import { clientResponseHeaders, upstreamRequestHeaders } from './headers.ts';

const fwd = { clientIp: '192.0.2.7', proto: 'http' as const, previewHeader: null };

function pairs(flat: string[]): [string, string][] {
  const out: [string, string][] = [];
  for (let i = 0; i < flat.length; i += 2) out.push([flat[i]!.toLowerCase(), flat[i + 1]!]);
  return out;
}

test('request headers: hop-by-hop fields go, Host stays, X-Forwarded-* are set', () => {
  const cases: { desc: string; raw: string[]; want: [string, string][] }[] = [
    {
      desc: 'plain request',
      raw: ['Host', 'a.example', 'Accept', '*/*'],
      want: [['host', 'a.example'], ['accept', '*/*'], ['x-forwarded-for', '192.0.2.7'], ['x-forwarded-proto', 'http'], ['x-forwarded-host', 'a.example']],
    },
    {
      desc: 'RFC 9110 §7.6.1 fields and those named by Connection',
      raw: ['Host', 'a', 'Connection', 'keep-alive, X-Foo', 'X-Foo', '1', 'Keep-Alive', '5', 'TE', 'trailers', 'Upgrade', 'h2c', 'Proxy-Authorization', 'x', 'Transfer-Encoding', 'chunked'],
      want: [['host', 'a'], ['x-forwarded-for', '192.0.2.7'], ['x-forwarded-proto', 'http'], ['x-forwarded-host', 'a']],
    },
    {
      desc: 'Host named in Connection stays: cutover routed by it (a client must not make the app see another)',
      raw: ['Host', 'a.example', 'Connection', 'host, X-Foo', 'X-Foo', '1'],
      want: [['host', 'a.example'], ['x-forwarded-for', '192.0.2.7'], ['x-forwarded-proto', 'http'], ['x-forwarded-host', 'a.example']],
    },
    {
      desc: 'an existing X-Forwarded-For chain is extended; client -Proto and -Host are replaced',
      raw: ['Host', 'a', 'X-Forwarded-For', '10.0.0.1', 'x-forwarded-for', '10.0.0.2', 'X-Forwarded-Proto', 'https', 'X-Forwarded-Host', 'evil'],
      want: [['host', 'a'], ['x-forwarded-for', '10.0.0.1, 10.0.0.2, 192.0.2.7'], ['x-forwarded-proto', 'http'], ['x-forwarded-host', 'a']],
    },
    {
      desc: 'Expect is answered by the proxy itself, not forwarded',
      raw: ['Host', 'a', 'Expect', '100-continue', 'Content-Length', '3'],
      want: [['host', 'a'], ['content-length', '3'], ['x-forwarded-for', '192.0.2.7'], ['x-forwarded-proto', 'http'], ['x-forwarded-host', 'a']],
    },
  ];
  for (const c of cases) assert.deepEqual(pairs(upstreamRequestHeaders(c.raw, fwd)), c.want, c.desc);
});

test('response headers: hop-by-hop fields go, repeated fields like Set-Cookie stay', () => {
  const raw = ['Content-Type', 'text/plain', 'Connection', 'close, X-Internal', 'X-Internal', 'yes', 'Set-Cookie', 'a=1', 'Set-Cookie', 'b=2', 'Transfer-Encoding', 'chunked', 'Keep-Alive', 'timeout=5'].map((s) => Buffer.from(s, 'latin1'));
  assert.deepEqual(pairs(clientResponseHeaders(raw)), [['content-type', 'text/plain'], ['set-cookie', 'a=1'], ['set-cookie', 'b=2']]);
});

test('the preview header and cookie never reach the app', () => {
  const raw = ['Host', 'a', 'X-Cutover-Preview', 'secret', 'Cookie', 'session=1; cutover-preview=abc; theme=dark', 'Cookie', 'cutover-preview=abc'];
  assert.deepEqual(pairs(upstreamRequestHeaders(raw, { ...fwd, previewHeader: 'x-cutover-preview' })).slice(0, 2), [
    ['host', 'a'],
    ['cookie', 'session=1; theme=dark'],
  ]);
});

test('an HTTP/2 request goes upstream as HTTP/1.1: no pseudo-headers, Host from :authority, one Cookie', () => {
  const https = { ...fwd, proto: 'https' as const };
  const h2 = [':method', 'GET', ':path', '/a', ':scheme', 'https', ':authority', 'shop.example:8443'];
  const cases: { desc: string; raw: string[]; want: [string, string][] }[] = [
    {
      desc: 'no host field: :authority gives it, and X-Forwarded-Host',
      raw: [...h2, 'accept', '*/*'],
      want: [['host', 'shop.example:8443'], ['accept', '*/*'], ['x-forwarded-for', '192.0.2.7'], ['x-forwarded-proto', 'https'], ['x-forwarded-host', 'shop.example:8443']],
    },
    {
      desc: 'a host field the client sent is kept',
      raw: [...h2, 'host', 'shop.example'],
      want: [['host', 'shop.example'], ['x-forwarded-for', '192.0.2.7'], ['x-forwarded-proto', 'https'], ['x-forwarded-host', 'shop.example']],
    },
    {
      desc: 'RFC 9113 §8.2.3: split cookie fields are joined with "; "',
      raw: [...h2, 'cookie', 'a=1', 'accept', '*/*', 'cookie', 'b=2'],
      want: [['host', 'shop.example:8443'], ['accept', '*/*'], ['cookie', 'a=1; b=2'], ['x-forwarded-for', '192.0.2.7'], ['x-forwarded-proto', 'https'], ['x-forwarded-host', 'shop.example:8443']],
    },
    {
      desc: 'te: trailers, the only TE HTTP/2 allows, is hop-by-hop all the same',
      raw: [...h2, 'te', 'trailers'],
      want: [['host', 'shop.example:8443'], ['x-forwarded-for', '192.0.2.7'], ['x-forwarded-proto', 'https'], ['x-forwarded-host', 'shop.example:8443']],
    },
  ];
  for (const c of cases) assert.deepEqual(pairs(upstreamRequestHeaders(c.raw, https)), c.want, c.desc);
});

test('HTTP/1.1 cookie fields are left as they came', () => {
  const raw = ['Host', 'a', 'Cookie', 'a=1', 'Cookie', 'b=2'];
  assert.deepEqual(pairs(upstreamRequestHeaders(raw, fwd)).slice(0, 3), [['host', 'a'], ['cookie', 'a=1'], ['cookie', 'b=2']]);
});

test('the preview cookie is taken out of split HTTP/2 cookie fields too', () => {
  const raw = [':method', 'GET', ':authority', 'a', 'cookie', 'cutover-preview=abc', 'cookie', 'session=1'];
  const out = pairs(upstreamRequestHeaders(raw, { ...fwd, previewHeader: 'x-cutover-preview' }));
  assert.deepEqual(out.filter(([name]) => name === 'cookie'), [['cookie', 'session=1']]);
});
