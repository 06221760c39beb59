import { fillTemplate } from '../config/template.ts';
import { statSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import type { ProcessDriverConfig } from '../config/config.ts';
import type { Color } from '../core/types.ts';
import { DriverError } from './driver-error.ts';
import { LOOPBACK } from './free-port.ts';

/** Everything needed to run (and re-run) one instance of a process environment. */
export interface InstanceSpec {
  readonly app: string;
  readonly color: Color;
  readonly version: string;
  readonly index: number;
  readonly port: number;
  readonly url: string;
  readonly command: string;
  readonly cwd: string;
  readonly env: Readonly<Record<string, string>>;
  readonly stdoutPath: string;
  readonly stderrPath: string;
}

export interface SpecInput {
  readonly app: string;
  readonly color: Color;
  readonly version: string;
  readonly index: number;
  readonly port: number;
  /** Where the instance's output files live. */
  readonly outputDir: string;
}

/** Fills `{{version}}`, `{{env}}`, `{{port}}` and `{{instance}}` for one instance. */
export function fillInstanceTemplate(template: string, input: Omit<SpecInput, 'app' | 'outputDir'>): string {
  return fillTemplate(template, { version: input.version, env: input.color, port: String(input.port), instance: String(input.index) });
}

/** Templates the config for one instance; throws DriverError naming the directory when `cwd` does not exist. */
export function instanceSpec(config: ProcessDriverConfig, input: SpecInput): InstanceSpec {
  const cwd = workingDirectory(config, input);
  const templatedEnv = Object.fromEntries(Object.entries(config.env).map(([k, v]) => [k, fillInstanceTemplate(v, input)]));
  const env = {
    ...inheritedEnv(process.env),
    ...templatedEnv,
    PORT: String(input.port),
    CUTOVER_VERSION: input.version,
    CUTOVER_ENV: input.color,
    CUTOVER_APP: input.app,
    CUTOVER_INSTANCE: String(input.index),
  };
  const base = join(input.outputDir, `${input.color}.${input.index}`);
  return {
    ...input,
    url: `http://${LOOPBACK}:${input.port}`,
    command: fillInstanceTemplate(config.command, input),
    cwd,
    env,
    stdoutPath: `${base}.stdout.log`,
    stderrPath: `${base}.stderr.log`,
  };
}

function workingDirectory(config: ProcessDriverConfig, input: SpecInput): string {
  const filled = config.cwd === null ? config.baseDir : fillInstanceTemplate(config.cwd, input);
  const cwd = isAbsolute(filled) ? filled : resolve(config.baseDir, filled);
  if (!isDirectory(cwd)) {
    const setting = config.cwd === null ? 'the config file\'s directory' : `driver.process.cwd: "${config.cwd}"`;
    throw new DriverError(`cannot start ${input.app} ${input.version} on ${input.color}: the working directory ${cwd} does not exist (${setting})`);
  }
  return cwd;
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

/** Variables of cutover's own environment an app must not inherit: the admin token would let it drive cutover. */
const NOT_INHERITED = new Set(['CUTOVER_TOKEN']);

function inheritedEnv(env: NodeJS.ProcessEnv): Record<string, string> {
  return Object.fromEntries(Object.entries(env).filter((e): e is [string, string] => e[1] !== undefined && !NOT_INHERITED.has(e[0])));
}
