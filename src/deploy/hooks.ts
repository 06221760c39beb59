// The user's hook commands (`hooks:` in the config), run at points of a deployment with what it is about in the
// environment. Whether a failing hook fails the deployment is the controller's call; this only runs them.

import type { HookName, HooksConfig } from '../config/config.ts';
import { type Logger, silentLogger } from '../core/logger.ts';
import { type CommandResult, runCommand } from './verify.ts';

/** What a hook is told, as environment variables. */
export interface HookEnv {
  readonly CUTOVER_APP: string;
  readonly CUTOVER_VERSION: string;
  /** Null (an empty variable) for an app's first deployment. */
  readonly CUTOVER_PREVIOUS_VERSION: string | null;
  /** The environment being deployed to: blue or green. */
  readonly CUTOVER_ENV: string;
  readonly CUTOVER_DEPLOYMENT_ID: string;
}

export interface HookResult extends CommandResult {
  readonly hook: HookName;
  readonly command: string;
}

export interface HookRunnerOptions {
  readonly log?: Logger;
  /** Stops a running hook (cutover is stopping); the result then has ok false and timedOut false. */
  readonly signal?: AbortSignal;
}

export class HookRunner {
  private readonly log: Logger;

  constructor(
    private readonly config: HooksConfig,
    private readonly options: HookRunnerOptions = {},
  ) {
    this.log = options.log ?? silentLogger;
  }

  has(name: HookName): boolean {
    return this.config.commands[name] !== undefined;
  }

  /** Null when the hook is not configured. Never rejects: a hook that cannot start is a failed result. */
  async run(name: HookName, env: HookEnv): Promise<HookResult | null> {
    const command = this.config.commands[name];
    if (command === undefined) return null;
    this.log.info({ hook: name, command, deployment: env.CUTOVER_DEPLOYMENT_ID }, 'hook started');
    const result = await runCommand(command, {
      cwd: this.config.cwd,
      env: { ...env, CUTOVER_PREVIOUS_VERSION: env.CUTOVER_PREVIOUS_VERSION ?? '', CUTOVER_HOOK: name },
      timeoutMs: this.config.timeoutMs,
      ...(this.options.signal ? { signal: this.options.signal } : {}),
    });
    this.report(name, result);
    return { hook: name, command, ...result };
  }

  private report(name: HookName, result: CommandResult): void {
    const { ok, exitCode, signal, ms, timedOut } = result;
    if (ok) this.log.info({ hook: name, ms }, 'hook succeeded');
    // The output's tail goes into the log: a failed migration's last lines are what the operator needs first.
    else this.log.warn({ hook: name, exitCode, signal, ms, timedOut, output: result.output }, 'hook failed');
  }
}
