import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeCertificate, type TestCertificate } from '../../../test/support/certificates.ts';
import { eventually } from '../../../test/support/cutover-harness.ts';
import { silentLogger, type Logger } from '../../core/logger.ts';
import type { CertificatePair } from '../../config/certificate-pair.ts';
import { CertificateStore } from './certificate-store.ts';

function tempDir(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'cutover-certs-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function openStore(t: TestContext, certs: TestCertificate[], log: Logger = silentLogger, pollMs = 60_000): CertificateStore {
  const store = new CertificateStore({ config: { certificates: certs.map(({ cert, key }) => ({ cert, key })) }, log, debounceMs: 20, pollMs });
  t.after(() => store.close());
  store.open();
  return store;
}

/** A logger that keeps its warnings. */
function recordingLog(): Logger & { warnings: string[] } {
  const warnings: string[] = [];
  const log = { ...silentLogger, warnings, warn: (a: object | string, b?: string) => warnings.push(typeof a === 'string' ? a : (b ?? '')) };
  return log as Logger & { warnings: string[] };
}

/** Replaces a certificate's files with another's, as a copy over them would. */
function overwrite(target: TestCertificate, source: TestCertificate): void {
  copyFileSync(source.cert, target.cert);
  copyFileSync(source.key, target.key);
}

test('a handshake gets the certificate naming the host it asked for, exactly or by wildcard, else the default', (t) => {
  const dir = tempDir(t);
  const fallback = makeCertificate(dir, 'default', ['default.test']);
  const shop = makeCertificate(dir, 'shop', ['shop.test', '*.shop.test']);
  const shop2 = makeCertificate(dir, 'shop2', ['shop.test', 'blog.test']);
  const store = openStore(t, [fallback, shop, shop2]);
  const [d, s, s2] = store.certificates.map((p) => p.context);
  const cases: { desc: string; name: string; want: unknown }[] = [
    { desc: 'exact', name: 'shop.test', want: s },
    { desc: 'any case', name: 'SHOP.Test', want: s },
    { desc: 'wildcard, one label', name: 'eu.shop.test', want: s },
    { desc: 'wildcard, not two labels', name: 'a.eu.shop.test', want: undefined },
    { desc: 'the default names itself too', name: 'default.test', want: d },
    { desc: 'only in a later certificate', name: 'blog.test', want: s2 },
    { desc: 'nobody: the server default', name: 'other.test', want: undefined },
  ];
  for (const c of cases) assert.equal(store.contextFor(c.name), c.want, c.desc);
  assert.equal(store.covers('eu.shop.test'), true);
  assert.equal(store.covers('other.test'), false);
});

test('a missing file stops the start with an error naming it', (t) => {
  const dir = tempDir(t);
  const site = makeCertificate(dir, 'site', ['site.test']);
  rmSync(site.key);
  const store = new CertificateStore({ config: { certificates: [{ cert: site.cert, key: site.key }] }, log: silentLogger });
  t.after(() => store.close());
  assert.throws(() => store.open(), { code: 'TLS_CERTIFICATE', message: `cannot serve HTTPS: cannot read ${site.key}: no such file` });
});

test('changed files replace the certificate, and the default one is announced again', async (t) => {
  const dir = tempDir(t);
  const site = makeCertificate(dir, 'site', ['site.test']);
  const shop = makeCertificate(dir, 'shop', ['shop.test']);
  const staged = makeCertificate(tempDir(t), 'next', ['site.test', 'new.test']);
  const store = openStore(t, [site, shop]);
  const defaults: CertificatePair[] = [];
  store.onDefault((pair) => defaults.push(pair));
  const shopBefore = store.certificates[1];

  overwrite(site, staged);
  await store.checkNow();
  assert.equal(store.certificates[0]!.fingerprint, staged.fingerprint);
  assert.equal(store.certificates[1], shopBefore, 'an unchanged certificate is kept as it was');
  assert.deepEqual(defaults.map((p) => p.fingerprint), [site.fingerprint, staged.fingerprint]);
  assert.equal(store.contextFor('new.test'), store.certificates[0]!.context, 'the new names serve at once');
});

test('an unusable new file is logged and the previous certificate stays until a good one arrives', async (t) => {
  const dir = tempDir(t);
  const shop = makeCertificate(dir, 'shop', ['shop.test']);
  const staged = makeCertificate(tempDir(t), 'next', ['shop.test']);
  const log = recordingLog();
  const store = openStore(t, [shop], log);

  copyFileSync(staged.cert, shop.cert); // the key is not there yet: a half-done copy
  await store.checkNow();
  assert.equal(store.certificates[0]!.fingerprint, shop.fingerprint);
  assert.deepEqual(log.warnings, [`the key ${shop.key} does not belong to the certificate ${shop.cert}; still serving the previous certificate`]);

  writeFileSync(shop.key, 'not a key');
  await store.checkNow();
  assert.equal(store.certificates[0]!.fingerprint, shop.fingerprint);
  assert.match(log.warnings[1]!, /is not an unencrypted PEM private key; still serving the previous certificate$/);

  copyFileSync(staged.key, shop.key);
  await store.checkNow();
  assert.equal(store.certificates[0]!.fingerprint, staged.fingerprint);
});

test('the files are watched: a change is picked up without asking', async (t) => {
  const dir = tempDir(t);
  const shop = makeCertificate(dir, 'shop', ['shop.test']);
  const staged = makeCertificate(tempDir(t), 'next', ['shop.test']);
  const store = openStore(t, [shop]);
  overwrite(shop, staged);
  await eventually(() => store.certificates[0]!.fingerprint === staged.fingerprint, 5_000, 'the watched change');
});
