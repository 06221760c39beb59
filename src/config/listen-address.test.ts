import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatListenAddress, isLoopback, parseListenAddress } from './listen-address.ts';

test('parseListenAddress reads every accepted form', () => {
  const cases: { desc: string; text: string; host: string; port: number; formatted?: string }[] = [
    { desc: 'IPv4', text: '127.0.0.1:8080', host: '127.0.0.1', port: 8080 },
    { desc: 'IPv6 in brackets', text: '[::1]:8080', host: '::1', port: 8080 },
    { desc: 'every interface', text: ':8080', host: '', port: 8080 },
    { desc: 'a host name, lower-cased', text: 'LocalHost:9900', host: 'localhost', port: 9900, formatted: 'localhost:9900' },
    { desc: 'port 0 picks a free port', text: '127.0.0.1:0', host: '127.0.0.1', port: 0 },
    { desc: 'the highest port', text: '0.0.0.0:65535', host: '0.0.0.0', port: 65535 },
  ];
  for (const { desc, text, host, port, formatted } of cases) {
    const address = parseListenAddress(text);
    assert.deepEqual(address, { host, port }, desc);
    assert.equal(formatListenAddress(address), formatted ?? text, `${desc} formatted`);
  }
});

test('parseListenAddress rejects bad addresses with a plain reason', () => {
  const cases: { desc: string; text: string; error: RegExp }[] = [
    { desc: 'no port', text: '127.0.0.1', error: /has no port; write it as host:port/ },
    { desc: 'a port too high', text: ':65536', error: /port "65536" is not a number from 0 to 65535/ },
    { desc: 'a port that is not a number', text: 'localhost:http', error: /port "http"/ },
    { desc: 'an empty port', text: 'localhost:', error: /port ""/ },
    { desc: 'IPv6 without brackets', text: '::1:8080', error: /put an IPv6 address in brackets/ },
    { desc: 'brackets around a non-IPv6', text: '[localhost]:80', error: /is not an IPv6 address/ },
    { desc: 'a bad host name', text: 'my_host!:80', error: /"my_host!" is not an IP address or host name/ },
  ];
  for (const { desc, text, error } of cases) assert.throws(() => parseListenAddress(text), { name: 'RangeError', message: error }, desc);
});

test('isLoopback knows loopback addresses and nothing else', () => {
  const cases: { desc: string; host: string; loopback: boolean }[] = [
    { desc: '127.0.0.1', host: '127.0.0.1', loopback: true },
    { desc: 'anywhere in 127/8', host: '127.10.20.30', loopback: true },
    { desc: '::1', host: '::1', loopback: true },
    { desc: '::1 spelled out', host: '0:0:0:0:0:0:0:1', loopback: true },
    { desc: 'IPv4-mapped loopback', host: '::ffff:127.0.0.1', loopback: true },
    { desc: 'localhost', host: 'localhost', loopback: true },
    { desc: 'every interface', host: '', loopback: false },
    { desc: '0.0.0.0', host: '0.0.0.0', loopback: false },
    { desc: '::', host: '::', loopback: false },
    { desc: 'a private address', host: '10.0.0.1', loopback: false },
    { desc: 'a name that may resolve anywhere', host: 'myhost', loopback: false },
  ];
  for (const { desc, host, loopback } of cases) assert.equal(isLoopback(host), loopback, desc);
});
