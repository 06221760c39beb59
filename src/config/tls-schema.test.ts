import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeCertificate } from '../../test/support/certificates.ts';
import type { ConfigProblem } from '../core/errors.ts';
import { ConfigReader } from './reader.ts';
import { readTls, type TlsConfig } from './tls-schema.ts';

const dir = mkdtempSync(join(tmpdir(), 'cutover-tls-schema-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const site = makeCertificate(dir, 'site', ['site.test']);
const shop = makeCertificate(dir, 'shop', ['shop.test']);
const nameless = makeCertificate(dir, 'nameless', []);

function read(raw: unknown): { config: TlsConfig | null; problems: readonly ConfigProblem[] } {
  const r = new ConfigReader();
  const config = readTls(raw, dir, r);
  return { config, problems: r.problems };
}

test('tls is off, one certificate, or a default plus more, with paths relative to the config', () => {
  const cases: { desc: string; raw: unknown; want: TlsConfig | null }[] = [
    { desc: 'absent: plain HTTP', raw: undefined, want: null },
    { desc: 'an empty key: plain HTTP', raw: null, want: null },
    { desc: 'one certificate, relative', raw: { cert: './site.crt', key: 'site.key' }, want: { certificates: [{ cert: site.cert, key: site.key }] } },
    { desc: 'absolute paths', raw: { cert: site.cert, key: site.key }, want: { certificates: [{ cert: site.cert, key: site.key }] } },
    {
      desc: 'a default and a listed one',
      raw: { cert: './site.crt', key: './site.key', certificates: [{ cert: './shop.crt', key: './shop.key' }] },
      want: { certificates: [{ cert: site.cert, key: site.key }, { cert: shop.cert, key: shop.key }] },
    },
    { desc: 'only a list: its first is the default', raw: { certificates: [{ cert: './shop.crt', key: './shop.key' }] }, want: { certificates: [{ cert: shop.cert, key: shop.key }] } },
    { desc: 'a default without names (clients that send none get it)', raw: { cert: './nameless.crt', key: './nameless.key' }, want: { certificates: [{ cert: nameless.cert, key: nameless.key }] } },
  ];
  for (const c of cases) assert.deepEqual(read(c.raw), { config: c.want, problems: [] }, c.desc);
});

test('a bad tls setting names its path and the file at fault', () => {
  const cases: { desc: string; raw: unknown; want: ConfigProblem[] }[] = [
    { desc: 'a string', raw: './site.crt', want: [{ path: 'tls', message: 'must be a mapping like { cert: ./site.crt, key: ./site.key }' }] },
    { desc: 'nothing in it', raw: {}, want: [{ path: 'tls', message: 'needs a certificate: { cert: ./site.crt, key: ./site.key }' }] },
    { desc: 'a cert without its key', raw: { cert: './site.crt' }, want: [{ path: 'tls', message: 'has a cert but no key; give both' }] },
    { desc: 'a misspelt key', raw: { cert: './site.crt', key: './site.key', certs: [] }, want: [{ path: 'tls.certs', message: 'unknown key; did you mean `cert`?' }] },
    { desc: 'a missing file', raw: { cert: './gone.crt', key: './site.key' }, want: [{ path: 'tls.cert', message: `cannot read ${dir}/gone.crt: no such file` }] },
    { desc: 'a key where the cert goes', raw: { cert: './site.key', key: './site.key' }, want: [{ path: 'tls.cert', message: `${dir}/site.key is not a PEM certificate` }] },
    { desc: 'a cert where the key goes', raw: { cert: './site.crt', key: './site.crt' }, want: [{ path: 'tls.key', message: `${dir}/site.crt is not an unencrypted PEM private key` }] },
    { desc: 'a key of another certificate', raw: { cert: './site.crt', key: './shop.key' }, want: [{ path: 'tls', message: `the key ${dir}/shop.key does not belong to the certificate ${dir}/site.crt` }] },
    { desc: 'a list that is not one', raw: { certificates: './shop.crt' }, want: [{ path: 'tls.certificates', message: 'must be a list like [{ cert: ./shop.crt, key: ./shop.key }]' }] },
    { desc: 'a listed cert without key', raw: { certificates: [{ cert: './shop.crt' }] }, want: [{ path: 'tls.certificates[0]', message: 'needs a key, like ./shop.key' }] },
    {
      desc: 'a listed certificate no name can select',
      raw: { cert: './site.crt', key: './site.key', certificates: [{ cert: './nameless.crt', key: './nameless.key' }] },
      want: [{ path: 'tls.certificates[0].cert', message: `${dir}/nameless.crt names no DNS host (no subjectAltName DNS entry or CN), so no client can select it` }],
    },
    {
      desc: 'each listed problem at its index',
      raw: { certificates: [{ cert: './shop.crt', key: './shop.key' }, { cert: './shop.crt', key: './site.key' }] },
      want: [{ path: 'tls.certificates[1]', message: `the key ${dir}/site.key does not belong to the certificate ${dir}/shop.crt` }],
    },
  ];
  for (const c of cases) assert.deepEqual(read(c.raw), { config: null, problems: c.want }, c.desc);
});
