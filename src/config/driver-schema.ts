// `driver:`, how an environment's targets come to exist. `static` (the default): the caller gives their URLs.
// `process`: cutover runs `instances` copies of a command, each with PORT set, and uses them as the targets.

import type { DriverConfig, ProcessDriverConfig } from './config.ts';
import {
  DEFAULT_DRIVER,
  DEFAULT_PROCESS_INSTANCES,
  DEFAULT_STOP_GRACE_MS,
  MAX_PROCESS_INSTANCES,
} from './defaults.ts';
import { closestWord, notBuiltMessage } from './keys.ts';
import { type ConfigReader, isAbsent, isMapping } from './reader.ts';
import { INSTANCE_VARS, templateProblem } from './template-syntax.ts';

/** `baseDir` is the config file's directory; a process driver's relative `cwd` resolves against it. */
export function readDriver(raw: unknown, path: string, r: ConfigReader, baseDir: string): DriverConfig {
  if (isAbsent(raw)) return DEFAULT_DRIVER;
  if (typeof raw === 'string') return readDriverName(raw, path, r);
  const driver = r.section(raw, path, DRIVER_KEYS);
  const names = Object.keys(driver);
  if (isMapping(raw) && names.length === 0) r.problem(path, 'must name a driver, like static');
  if (names.length > 1) r.problem(path, `must name one driver, not ${names.length}`);
  if ('static' in driver) r.section(driver.static, `${path}.static`, { known: [] });
  if ('process' in driver) {
    const process = readProcess(driver.process, `${path}.process`, r, baseDir);
    if (names.length === 1) return process;
  }
  return DEFAULT_DRIVER;
}

const DRIVERS = ['static', 'process'] as const;
const DRIVER_KEYS = { known: [...DRIVERS], notBuilt: ['container'] };
const PROCESS_KEYS = { known: ['command', 'cwd', 'instances', 'env', 'stopGrace'] };
const NEEDS_COMMAND = 'needs a command to run, like { command: node server.js }';
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

// `driver: static` and `driver: { static: {} }` mean the same; `process` has a required command, so its short
// form can only be a hint.
function readDriverName(name: string, path: string, r: ConfigReader): DriverConfig {
  if (name === 'static') return DEFAULT_DRIVER;
  if (name === 'process') r.problem(path, 'process needs a command, like driver: { process: { command: node server.js } }');
  else if (DRIVER_KEYS.notBuilt.includes(name)) r.problem(path, notBuiltMessage(name));
  else r.problem(path, unknownDriverMessage(name));
  return DEFAULT_DRIVER;
}

function unknownDriverMessage(name: string): string {
  const guess = closestWord(name, DRIVERS);
  return guess ? `unknown driver; did you mean \`${guess}\`?` : `unknown driver; the drivers are ${DRIVERS.join(', ')}`;
}

function readProcess(raw: unknown, path: string, r: ConfigReader, baseDir: string): ProcessDriverConfig {
  const section = r.section(raw, path, PROCESS_KEYS);
  const command = r.requiredString(section, 'command', path, NEEDS_COMMAND);
  if (command !== null) checkTemplate(command, `${path}.command`, r);
  const cwd = r.optionalString(section.cwd, `${path}.cwd`);
  if (cwd !== null) checkTemplate(cwd, `${path}.cwd`, r);
  return {
    kind: 'process',
    command: command ?? '',
    cwd,
    instances: r.integer(section.instances, `${path}.instances`, DEFAULT_PROCESS_INSTANCES, {
      min: 1,
      max: MAX_PROCESS_INSTANCES,
    }),
    env: r.stringMap(section.env, `${path}.env`, envProblem),
    // Zero is allowed: SIGKILL at once, for apps that need no graceful stop.
    stopGraceMs: r.duration(section.stopGrace, `${path}.stopGrace`, DEFAULT_STOP_GRACE_MS, { allowZero: true }),
    baseDir,
  };
}

function envProblem(name: string, value: string): string | undefined {
  if (!ENV_NAME.test(name)) return 'is not a valid variable name: use letters, digits and _, not starting with a digit';
  // Each instance gets its own port; a fixed PORT would make every instance after the first fail to bind.
  if (name === 'PORT') return 'is set by cutover for each instance; use {{port}} elsewhere if the app needs it twice';
  return templateProblem(value, INSTANCE_VARS);
}

function checkTemplate(text: string, path: string, r: ConfigReader): void {
  const problem = templateProblem(text, INSTANCE_VARS);
  if (problem) r.problem(path, problem);
}
