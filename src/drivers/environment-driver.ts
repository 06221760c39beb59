import type { Color } from '../core/types.ts';

/** What a driver is asked to bring up: one version of one app on one environment. */
export interface StartRequest {
  readonly app: string;
  readonly color: Color;
  readonly version: string;
  /** The targets the caller gave (`cutover deploy --target`); only the static driver uses them. */
  readonly targets: readonly string[];
}

/** One running instance, as `cutover status` and `describe` show it. */
export interface InstanceDescription {
  readonly url: string;
  readonly state: 'starting' | 'running' | 'restarting' | 'stopped' | 'failed' | 'external';
  readonly pid: number | null;
  readonly restarts: number;
  readonly startedAt: number | null;
  /**
   * How its process last ended on its own (`exited with code 3`); null while it never has, and once the process
   * after it has run steadily (as long as a restart streak lasts, 30 s by default).
   */
  readonly lastExit: string | null;
}

export interface InstanceEvent {
  readonly app: string;
  readonly color: Color;
  readonly url: string;
  readonly kind: 'exited' | 'restarted' | 'gave-up';
  readonly detail: string;
}

/** Told when an instance a driver runs exits, is restarted, or is given up on. */
export interface DriverListener {
  onInstanceEvent(event: InstanceEvent): void;
}

/** One line an instance wrote. */
export interface LogLine {
  /** When cutover read the line: within a poll (100 ms) of its writing, unless `written` is 'before'. */
  readonly at: number;
  /**
   * 'at': written at `at`. 'before': written at some time before `at` that cannot be known: the line was in the
   * instance's output file when this cutover run took the instance over from the previous one, and that file keeps
   * no times.
   */
  readonly written: 'at' | 'before';
  readonly color: Color;
  readonly instance: number;
  readonly stream: 'stdout' | 'stderr';
  readonly text: string;
}

/**
 * How an environment's targets come to exist. One driver serves one app (it is built from that app's config);
 * every method is safe to call for an environment it does not run.
 */
export interface EnvironmentDriver {
  readonly kind: 'static' | 'process' | 'container';
  /** Brings `version` up on the environment and resolves with its target URLs once they were started. */
  start(request: StartRequest, signal: AbortSignal): Promise<string[]>;
  /**
   * After a restart of cutover: takes over what still runs of the environment from the previous run (or starts
   * it again), and resolves with its target URLs, which may differ from `targets` when it had to restart.
   */
  restore(request: StartRequest): Promise<string[]>;
  /** Stops the environment's instances (SIGTERM, then SIGKILL after a grace). */
  stop(app: string, color: Color): Promise<void>;
  describe(app: string, color: Color): InstanceDescription[];
  /** Recent output of the environment's instances, oldest first; empty for drivers that run nothing. */
  logs(app: string, color: Color): LogLine[];
  /** Calls `listener` with every new line; returns the unsubscribe function. */
  followLogs(app: string, color: Color | null, listener: (line: LogLine) => void): () => void;
  /** Stops everything this driver started (cutover's shutdown). */
  close(): Promise<void>;
}
