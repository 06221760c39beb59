// Every process the bench starts goes through one ProcessSet, so that all of them can be stopped at the end,
// on an error and on Ctrl-C. Each child is the leader of its own process group (detached), and is signalled as
// a group: that also reaches nginx's worker and anything a child forked.
import { spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { join } from 'node:path';

const STOP_GRACE_MS = 3_000;
/** Only the tail of a child's output is kept in memory: enough to find a ready line or show why it died. */
const OUTPUT_TAIL_CHARS = 64 * 1024;
const PIPE_DRAIN_MS = 200;

export class ProcessSet {
  #running = new Set();
  #closing = false;

  /** @param {{ logDir: string, pin: boolean }} options pin: prefix commands with `taskset -c CPU`. */
  constructor(options) {
    this.logDir = options.logDir;
    this.pin = options.pin;
  }

  /** True once stopAll began: the bench is shutting down and starts nothing more. */
  get closing() {
    return this.#closing;
  }

  /** The process group ids of the children still running (each child leads its own group). */
  groups() {
    return new Set([...this.#running].map((child) => child.proc.pid).filter((pid) => pid !== undefined));
  }

  /** Starts `command args` on `cpu` (when pinning), logging its stdout and stderr to logDir/NAME.log. */
  start(name, command, args, { cpu, env, cwd, log = true } = {}) {
    // Once stopping began (Ctrl-C), the main flow must not start the next run behind its back.
    if (this.#closing) throw new Error(`not starting ${name}: the bench is stopping`);
    const [file, argv] = this.pin && cpu !== undefined
      ? ['taskset', ['-c', String(cpu), command, ...args]]
      : [command, args];
    const proc = spawn(file, argv, { detached: true, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env }, cwd });
    const logStream = log ? createWriteStream(join(this.logDir, `${name}.log`), { flags: 'a' }) : null;
    const child = new Child(name, proc, logStream);
    this.#running.add(child);
    child.exited.then(() => this.#running.delete(child));
    return child;
  }

  /** SIGTERM to the group, SIGKILL if it is still there after a grace period. */
  async stop(child) {
    if (child.hasExited) return;
    child.signal('SIGTERM');
    const timer = setTimeout(() => child.signal('SIGKILL'), STOP_GRACE_MS);
    await child.exited;
    clearTimeout(timer);
  }

  async stopAll() {
    this.#closing = true;
    await Promise.all([...this.#running].reverse().map((child) => this.stop(child)));
  }

  /** For process 'exit', where nothing async can run: kill what is left at once. */
  killAllNow() {
    for (const child of this.#running) child.signal('SIGKILL');
  }
}

/** One started process: its output tail, its exit, and a way to wait for a line that says it is ready. */
class Child {
  #output = '';
  #waiters = new Set();

  constructor(name, proc, logStream) {
    this.name = name;
    this.proc = proc;
    this.hasExited = false;
    this.exitCode = null;
    this.exitReason = null;
    this.exited = new Promise((resolve) => {
      proc.once('error', (err) => this.#onExit(`could not start: ${err.message}`, resolve));
      proc.once('exit', (code, sig) => this.#onExit(sig === null ? `exited with code ${code}` : `killed by ${sig}`, resolve, code));
    });
    for (const stream of [proc.stdout, proc.stderr]) {
      stream.setEncoding('utf8');
      stream.on('data', (text) => this.#onOutput(text, logStream));
    }
    this.exited.then(() => logStream?.end(`\n[bench] ${name} ${this.exitReason}\n`));
  }

  get output() {
    return this.#output;
  }

  signal(sig) {
    if (this.hasExited || this.proc.pid === undefined) return;
    try {
      process.kill(-this.proc.pid, sig);
    } catch {
      // Already gone between the check and the kill.
    }
  }

  /** Resolves with the match of `pattern` in the output, rejects if the process exits or `ms` passes first. */
  waitFor(pattern, ms) {
    const found = this.#output.match(pattern);
    if (found) return Promise.resolve(found);
    if (this.hasExited) return Promise.reject(this.#failure(`${this.exitReason} before it was ready`));
    return new Promise((resolve, reject) => {
      const waiter = { pattern, resolve, reject, timer: null };
      waiter.timer = setTimeout(() => this.#settle(waiter, null, this.#failure(`not ready after ${ms} ms`)), ms);
      this.#waiters.add(waiter);
    });
  }

  #onOutput(text, logStream) {
    if (logStream !== null && !logStream.writableEnded) logStream.write(text);
    this.#output = (this.#output + text).slice(-OUTPUT_TAIL_CHARS);
    for (const waiter of this.#waiters) {
      const found = this.#output.match(waiter.pattern);
      if (found) this.#settle(waiter, found, null);
    }
  }

  #onExit(reason, resolve, code = null) {
    if (this.hasExited) return;
    this.hasExited = true;
    this.exitCode = code;
    this.exitReason = reason;
    // Output can still be in the pipes after 'exit'. Wait for the pipes to end, but not for long: a forked
    // grandchild holding them open must not hold up the bench.
    const drained = [this.proc.stdout, this.proc.stderr].map((s) => new Promise((r) => (s.readableEnded ? r() : s.once('close', r))));
    const settle = () => {
      for (const waiter of this.#waiters) this.#settle(waiter, null, this.#failure(`${reason} before it was ready`));
      resolve();
    };
    Promise.race([Promise.all(drained), new Promise((r) => setTimeout(r, PIPE_DRAIN_MS))]).then(settle);
  }

  #settle(waiter, found, error) {
    clearTimeout(waiter.timer);
    this.#waiters.delete(waiter);
    if (error === null) waiter.resolve(found);
    else waiter.reject(error);
  }

  #failure(what) {
    const tail = this.#output.trim().split('\n').slice(-5).join('\n    ');
    return new Error(`${this.name} ${what}${tail ? `; last output:\n    ${tail}` : ''}`);
  }
}
