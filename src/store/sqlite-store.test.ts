import { describe, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { StoreUnavailableError } from '../core/errors.ts';
import { newAppRecord } from '../core/types.ts';
import { SQLITE_BUSY_TIMEOUT_MS, SqliteStore } from './sqlite-store.ts';
import { reopenableStore, stateStoreContract } from './state-store.contract.ts';
import { sampleAudit, sampleDeployment } from './fixtures/records.ts';

const PROJECT_ROOT = fileURLToPath(new URL('../..', import.meta.url));
const WRITE_AND_HANG = fileURLToPath(new URL('./fixtures/write-and-hang.ts', import.meta.url));
const CHILD_TIMEOUT_MS = 15_000;

stateStoreContract('SqliteStore', async () => {
  const dir = tempDir();
  const path = join(dir, 'state', 'cutover.db');
  return reopenableStore(() => SqliteStore.open(path), () => rmSync(dir, { recursive: true, force: true }));
});

describe('SqliteStore', () => {
  test('runs in WAL mode with synchronous NORMAL (it flushes the WAL itself) and a busy timeout', async (t) => {
    const store = await openIn(t, 'cutover.db');
    assert.deepEqual(await store.info(), {
      path: store.path,
      journalMode: 'wal',
      synchronous: 'normal',
      busyTimeoutMs: SQLITE_BUSY_TIMEOUT_MS,
      schemaVersion: 2,
    });
  });

  test('a write is committed at once and resolves only once its write-ahead log is flushed', async (t) => {
    const dir = tempDir(t);
    const path = join(dir, 'cutover.db');
    const flushed: string[] = [];
    let endFlush = (): void => {};
    const syncFile = async () => {
      flushed.push('flush');
      await new Promise<void>((resolve) => (endFlush = resolve));
    };
    const opening = SqliteStore.open(path, { syncFile });
    await new Promise((r) => setImmediate(r));
    endFlush(); // the schema written on open
    const store = await opening;
    t.after(() => store.close());
    let committed = false;
    let resolved = false;
    const write = store.putApp(newAppRecord('web', 1_000), 0, { onCommitted: () => (committed = true) }).then(() => (resolved = true));
    await new Promise((r) => setImmediate(r));
    assert.deepEqual([committed, resolved], [true, false], 'committed, but not resolved before the flush ends');
    assert.ok(await store.getApp('web'), 'readable before the flush ends');
    assert.equal(flushed.length, 2, 'the flush of the open, then this one');
    endFlush();
    await write;
    for (const put of [() => store.putDeployment(sampleDeployment()), () => store.putAudit(sampleAudit()), () => store.deleteApp('web')]) {
      const pending = put();
      await new Promise((r) => setImmediate(r));
      endFlush();
      await pending;
    }
    assert.equal(flushed.length, 5, 'every write flushes');
  });

  test('a write whose flush fails is refused as STORE_UNAVAILABLE', async (t) => {
    const dir = tempDir(t);
    let fail = false;
    const syncFile = async () => {
      if (fail) throw Object.assign(new Error('EIO: i/o error, fdatasync'), { code: 'EIO', syscall: 'fdatasync' });
    };
    const store = await SqliteStore.open(join(dir, 'cutover.db'), { syncFile });
    t.after(() => store.close());
    fail = true;
    await assert.rejects(store.putDeployment(sampleDeployment()), (err: unknown) => {
      assert.ok(err instanceof StoreUnavailableError);
      assert.match(err.message, /write deployment "d-1".*write-ahead log could not be flushed to disk: EIO/);
      return true;
    });
    fail = false; // the disk answers again, but what the failed flush held may be gone: no write counts as durable
    await assert.rejects(store.putAudit(sampleAudit()), (err: unknown) => {
      assert.ok(err instanceof StoreUnavailableError);
      assert.match(err.message, /failed earlier \(EIO: i\/o error, fdatasync\).*restart cutover/);
      return true;
    });
  });

  test('an app and a deployment put together are one transaction: a deployment refused takes the app with it', async (t) => {
    const store = await openIn(t, 'cutover.db');
    const base = await store.putApp(newAppRecord('web', 1_000), 0);
    // STRICT: created_at is an INTEGER column, so this deployment cannot be stored.
    const refused = sampleDeployment({ createdAt: 1.5 });
    await assert.rejects(store.putApp({ ...base, live: 'blue' }, base.revision, { deployment: refused }), StoreUnavailableError);
    assert.deepEqual(await store.getApp('web'), base, 'the app was not written either');
    assert.equal(await store.getDeployment(refused.id), null);
  });

  test(':memory: is a database of the store alone, not a file of that name', async (t) => {
    const dir = tempDir(t);
    const cwd = process.cwd();
    process.chdir(dir);
    t.after(() => process.chdir(cwd));
    const store = await SqliteStore.open(':memory:');
    t.after(() => store.close());
    const app = await store.putApp(newAppRecord('web', 1_000), 0);
    assert.deepEqual(await store.getApp('web'), app);
    assert.equal(existsSync(join(dir, ':memory:')), false);
  });

  test('creates the parent directories of a relative path', async (t) => {
    const dir = tempDir(t);
    const path = `./${relative(process.cwd(), join(dir, 'x', 'y', 'cutover.db'))}`;
    const store = await SqliteStore.open(path);
    t.after(() => store.close());
    assert.equal(store.path, join(dir, 'x', 'y', 'cutover.db'));
    assert.ok(existsSync(store.path));
  });

  test('putApp returns the expected revision plus one', async (t) => {
    const store = await openIn(t, 'cutover.db');
    const first = await store.putApp(newAppRecord('web', 1_000), 0);
    const second = await store.putApp(first, first.revision);
    assert.deepEqual([first.revision, second.revision], [1, 2]);
  });

  test('deployments created in the same millisecond list in insertion order, newest first', async (t) => {
    const store = await openIn(t, 'cutover.db');
    for (const id of ['a', 'b', 'c']) await store.putDeployment(sampleDeployment({ id, createdAt: 1_000 }));
    assert.deepEqual((await store.listDeployments('web', 10)).map((d) => d.id), ['c', 'b', 'a']);
  });

  test('reopening keeps the schema version and the data', async (t) => {
    const dir = tempDir(t);
    const first = await SqliteStore.open(join(dir, 'cutover.db'));
    await first.putApp(newAppRecord('web', 1_000), 0);
    await first.close();
    const second = await SqliteStore.open(join(dir, 'cutover.db'));
    t.after(() => second.close());
    assert.equal((await second.info()).schemaVersion, 2);
    assert.equal((await second.getApp('web'))?.revision, 1);
  });

  test('a file of schema version 1 gains the audit trail and keeps its data', async (t) => {
    const path = join(tempDir(t), 'cutover.db');
    const first = await SqliteStore.open(path);
    await first.putApp(newAppRecord('web', 1_000), 0);
    await first.close();
    // What a cutover from before the audit trail left behind.
    const raw = new Database(path);
    raw.exec('DROP TABLE audit');
    raw.pragma('user_version = 1');
    raw.close();
    const store = await SqliteStore.open(path);
    t.after(() => store.close());
    assert.equal((await store.info()).schemaVersion, 2);
    assert.equal((await store.getApp('web'))?.revision, 1);
    await store.putAudit(sampleAudit());
    assert.deepEqual(await store.listAudit({ limit: 5 }), [sampleAudit()]);
  });

  test('records written before a kill -9 are there after a reopen', async (t) => {
    const dir = tempDir(t);
    const path = join(dir, 'cutover.db');
    await runUntilWrittenThenKill(t, path);
    // The writer never closed the store, so its commits are still in the WAL: this checks WAL recovery.
    assert.ok(statSync(`${path}-wal`).size > 0, 'the killed writer should have left a non-empty WAL');
    const store = await SqliteStore.open(path);
    t.after(() => store.close());
    assert.deepEqual(await store.getApp('web'), {
      ...newAppRecord('web', 1_000),
      live: 'blue',
      generation: 1,
      revision: 1,
    });
    assert.deepEqual(await store.getDeployment('d-1'), sampleDeployment({ phase: 'switching' }));
    assert.deepEqual((await store.listOpenDeployments()).map((d) => d.id), ['d-1']);
  });
});

describe('SqliteStore errors', () => {
  test('a file that is not a database gives STORE_UNAVAILABLE naming the file', async (t) => {
    const path = join(tempDir(t), 'cutover.db');
    writeFileSync(path, 'this is not a database, just text that fills a page or two. '.repeat(200));
    await assertUnavailable(SqliteStore.open(path), [path, 'not a database'], 'SQLITE_NOTADB');
  });

  test('a path under a regular file gives STORE_UNAVAILABLE naming the path', async (t) => {
    const blocker = join(tempDir(t), 'blocker');
    writeFileSync(blocker, '');
    const path = join(blocker, 'cutover.db');
    await assertUnavailable(SqliteStore.open(path), [path, `cannot create its directory ${blocker}`]);
  });

  test('a file from a newer cutover gives STORE_UNAVAILABLE instead of being rewritten', async (t) => {
    const path = join(tempDir(t), 'cutover.db');
    const raw = new Database(path);
    raw.pragma('user_version = 99');
    raw.close();
    await assertUnavailable(SqliteStore.open(path), [path, 'schema version 99', 'newer cutover']);
  });

  test('reads and writes on a closed store give STORE_UNAVAILABLE; close stays idempotent', async (t) => {
    const store = await openIn(t, 'cutover.db');
    await store.close();
    await store.close();
    await assertUnavailable(store.getApp('web'), ['closed']);
    await assertUnavailable(store.putApp(newAppRecord('web', 1_000), 0), ['closed']);
    await assertUnavailable(store.putDeployment(sampleDeployment()), ['closed']);
    await assertUnavailable(store.listOpenDeployments(), ['closed']);
  });

  test('a write blocked by another connection past the busy timeout gives STORE_UNAVAILABLE', async (t) => {
    const path = join(tempDir(t), 'cutover.db');
    const store = await SqliteStore.open(path, { busyTimeoutMs: 50 });
    t.after(() => store.close());
    const other = new Database(path);
    t.after(() => other.close()); // closing rolls the open transaction back
    other.exec('BEGIN IMMEDIATE');
    const write = store.putApp(newAppRecord('web', 1_000), 0);
    await assertUnavailable(write, ['write app "web"', 'locked'], 'SQLITE_BUSY');
    assert.deepEqual(await store.listApps(), [], 'reads still work while another connection writes (WAL)');
  });
});

function tempDir(t?: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'cutover-sqlite-'));
  t?.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

async function openIn(t: TestContext, file: string): Promise<SqliteStore> {
  const store = await SqliteStore.open(join(tempDir(t), file));
  t.after(() => store.close());
  return store;
}

/** `causeCode`: the SQLite or errno code of the original error, which must be kept as `cause`. */
async function assertUnavailable(work: Promise<unknown>, phrases: string[], causeCode?: string): Promise<void> {
  await assert.rejects(work, (err: unknown) => {
    assert.ok(err instanceof StoreUnavailableError, `expected a StoreUnavailableError, got ${err}`);
    assert.equal(err.code, 'STORE_UNAVAILABLE');
    assert.equal(err.status, 503);
    for (const phrase of phrases) assert.ok(err.message.includes(phrase), `"${err.message}" lacks "${phrase}"`);
    if (causeCode !== undefined) assert.equal((err.cause as { code?: string } | undefined)?.code, causeCode);
    return true;
  });
}

/** Runs the write-and-hang fixture on `path`, waits for its "written", then SIGKILLs it. */
async function runUntilWrittenThenKill(t: TestContext, path: string): Promise<void> {
  const child = spawn(process.execPath, ['--import', 'tsx', WRITE_AND_HANG, path], {
    cwd: PROJECT_ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  t.after(() => child.kill('SIGKILL'));
  let stderr = '';
  child.stderr.on('data', (chunk) => (stderr += chunk));
  await waitForLine(child.stdout, 'written', CHILD_TIMEOUT_MS).catch((err: Error) => {
    throw new Error(`${err.message}; the writer's stderr: ${stderr}`);
  });
  child.kill('SIGKILL');
  const [, signal] = await once(child, 'exit');
  assert.equal(signal, 'SIGKILL');
}

function waitForLine(stream: NodeJS.ReadableStream, line: string, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    let seen = '';
    const timer = setTimeout(() => reject(new Error(`no "${line}" within ${timeoutMs} ms`)), timeoutMs);
    stream.on('data', (chunk) => {
      seen += chunk;
      if (seen.split('\n').includes(line)) {
        clearTimeout(timer);
        resolve();
      }
    });
    stream.on('end', () => reject(new Error(`the writer exited before printing "${line}"`)));
  });
}
