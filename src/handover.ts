// Restarting or upgrading cutover without a gap: on SIGUSR2 the running cutover starts its successor, hands it the
// listening sockets over IPC when it is about to serve (the kernel keeps accepting on them throughout), waits until
// the successor serves, then stops accepting and finishes what it has in flight. The successor adopts the state file, its lock and the
// processes the drivers run; health checks start again before it serves, with live targets trusted until checked.
import { spawn } from 'node:child_process';
import type { Server } from 'node:net';
import { CutoverError } from './core/errors.ts';
import type { Logger } from './core/logger.ts';
import type { Cutover } from './main.ts';

const BIN = new URL('../bin/cutover.js', import.meta.url).pathname;
const HELLO_MS = 30_000;
const READY_MS = 60_000;
const FROM = 'CUTOVER_HANDOVER_FROM';

type Message = { type: 'hello' } | { type: 'send-listeners' } | { type: 'listener'; name: string } | { type: 'listeners-sent' } | { type: 'ready' };

/** A listening socket's bare handle (libuv's TCP handle), as it comes over IPC: listened on with `server.listen(it)`. */
export interface ListeningHandle {
  close(): void;
}

/** What a successor knows of the hand-over: whom it replaces, and how to get the listening sockets. */
export interface Handover {
  readonly from: number;
  /**
   * Asks for the listening sockets, right before listening on them, and hands each to `take` by name (`admin`,
   * `public`, `preview:<app>`) as a bare handle, which accepts nothing until a server listens on it; resolves once all
   * came. `socket` is undefined when the predecessor could not send it.
   */
  receiveListeners(take: (name: string, socket: ListeningHandle | undefined) => void): Promise<void>;
}

/**
 * The running side: resolves true once the successor serves and this cutover has retired; false if it kept going.
 * The controller knows meanwhile (it refuses a pause then).
 */
export async function handOver(cutover: Cutover, configPath: string, log: Logger): Promise<boolean> {
  const { controller } = cutover;
  // One hand-over at a time: a second SIGUSR2 meanwhile would start a second successor.
  if (controller.handingOver) {
    log.warn('hand-over already in progress; signal ignored');
    return false;
  }
  controller.handingOver = true;
  try {
    return await handOverOnce(cutover, configPath, log);
  } finally {
    controller.handingOver = false;
  }
}

async function handOverOnce(cutover: Cutover, configPath: string, log: Logger): Promise<boolean> {
  // The listening sockets live in node:cluster's primary handles, which cannot be passed on.
  if (cutover.workers !== null) {
    log.warn({ workers: cutover.workers.size }, 'hand-over refused: it needs `workers: 1`; with data-path workers, restart behind a second instance instead');
    return false;
  }
  const busy = cutover.controller.list().find((app) => app.busyWith !== null);
  if (busy) {
    log.warn({ app: busy.name, busy: busy.busyWith }, 'hand-over refused: an operation is in progress; try again when it ends');
    return false;
  }
  // What this process holds could only be refused when it retires (the successor holds its own): not a hand-over.
  const paused = cutover.controller.list().find((app) => app.pausedUntil !== null);
  if (paused) {
    log.warn({ app: paused.name, until: paused.pausedUntil }, 'hand-over refused: the app is paused; try again after it resumes');
    return false;
  }
  const child = spawn(process.execPath, [BIN, 'serve', '-c', configPath], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    env: { ...process.env, [FROM]: String(process.pid) },
  });
  child.on('error', (err) => log.error({ err: err.message }, 'the successor failed'));
  try {
    await expect(child, 'hello', HELLO_MS);
    await expect(child, 'send-listeners', READY_MS);
    sendListeners(child, cutover.servers());
    await expect(child, 'ready', READY_MS);
  } catch (err) {
    child.kill('SIGKILL');
    if (err instanceof Stopping) {
      log.warn({ pid: child.pid }, 'hand-over abandoned: this cutover is stopping');
      return false;
    }
    log.error({ err: (err as Error).message, pid: child.pid }, 'hand-over failed; this cutover keeps serving');
    // The successor may have taken the lock before it failed: it is this cutover's again.
    cutover.reclaimLock();
    return false;
  }
  log.info({ successor: child.pid }, 'handed over; finishing requests in flight');
  child.disconnect();
  child.unref();
  await cutover.retire();
  return true;
}

/** This cutover was told to stop while the successor started: its listeners are closed, there is nothing to hand over. */
class Stopping extends Error {}

/**
 * Each listening socket as its bare handle: a server handed over whole is listened on by Node the moment it arrives,
 * and the successor would accept connections before it can answer them. A bare handle accepts nothing until the
 * successor listens on it.
 */
function sendListeners(child: ReturnType<typeof spawn>, servers: ReadonlyMap<string, unknown>): void {
  const handles = [...servers].map(([name, server]) => [name, (server as Server & { _handle?: object | null })._handle ?? null] as const);
  if (handles.some(([, handle]) => handle === null)) throw new Stopping();
  for (const [name, handle] of handles) child.send({ type: 'listener', name } satisfies Message, handle as Server);
  child.send({ type: 'listeners-sent' } satisfies Message);
}

/**
 * The successor's side, before it starts: the hand-over it is part of, or undefined when it was started plainly.
 * `stopAsked`: the stop signal this process got meanwhile, if any; then it asks for no socket (see receiveListeners).
 */
export function receiveHandover(stopAsked: () => string | null = () => null): Handover | undefined {
  const from = Number(process.env[FROM]);
  if (!Number.isInteger(from) || from <= 0 || process.send === undefined) return undefined;
  delete process.env[FROM];
  process.send({ type: 'hello' } satisfies Message);
  return {
    from,
    receiveListeners: (take) =>
      new Promise((resolve, reject) => {
        // The predecessor went away (it was stopped meanwhile, or crashed): there is nothing to take over.
        const gone = () => reject(new CutoverError('HANDOVER_FAILED', 500, `the cutover being replaced (pid ${from}) went away before it sent its sockets`));
        process.once('disconnect', gone);
        process.on('message', (message: Message, socket: unknown) => {
          if (message.type === 'listener') take(message.name, socket as ListeningHandle | undefined);
          if (message.type !== 'listeners-sent') return;
          process.off('disconnect', gone);
          resolve();
        });
        if (process.send === undefined || !process.connected) return gone();
        // Told to stop while it started: it takes nothing over, and the predecessor goes on serving.
        const signal = stopAsked();
        if (signal !== null) return reject(new CutoverError('HANDOVER_ABANDONED', 500, `${signal} while taking over from pid ${from}: the hand-over is abandoned; pid ${from} goes on serving`));
        process.send({ type: 'send-listeners' } satisfies Message);
      }),
  };
}

/** The successor serves: the predecessor may stop accepting. */
export function handoverDone(): void {
  process.send?.({ type: 'ready' } satisfies Message);
  process.disconnect?.();
}

function expect(child: ReturnType<typeof spawn>, type: Message['type'], ms: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no "${type}" from the successor within ${ms / 1000}s`)), ms);
    const onExit = (code: number | null) => reject(new Error(`the successor exited with ${code} before "${type}"`));
    child.once('exit', onExit);
    child.on('message', function onMessage(message: Message) {
      if (message.type !== type) return;
      clearTimeout(timer);
      child.off('exit', onExit);
      child.off('message', onMessage);
      resolve();
    });
  });
}
