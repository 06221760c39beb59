import { readFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import { ConfigError, CutoverError } from '../core/errors.ts';
import { auditCommand } from './audit.ts';
import { demoCommand } from './demo.ts';
import { deployCommand } from './deploy.ts';
import { flipCommand } from './flip.ts';
import { historyCommand } from './history.ts';
import { logsCommand } from './logs.ts';
import { pauseCommand, resumeCommand } from './pause.ts';
import { reloadCommand } from './reload.ts';
import { stdout } from './output.ts';
import { serveCommand } from './serve.ts';
import { statusCommand } from './status.ts';
import { validateCommand } from './validate.ts';

const VERSION = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;

/** Runs the CLI; resolves with the exit code. A user's mistake prints one clear line, never a stack trace. */
export async function main(argv: readonly string[]): Promise<number> {
  // `cutover status | head` closes the pipe early; that is the reader's choice, not an error.
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(0);
    throw err;
  });
  const program = new Command('cutover')
    .description('zero-downtime blue-green deployments behind a reverse proxy')
    .version(VERSION, '-V, --version', 'print the version of cutover')
    // `cutover --version` is the program's; `cutover deploy web --version v2` is deploy's own option.
    .enablePositionalOptions()
    .option('--admin <url>', 'admin API URL (default: $CUTOVER_ADMIN or http://127.0.0.1:9900)');
  program.addCommand(serveCommand());
  program.addCommand(validateCommand());
  program.addCommand(statusCommand());
  program.addCommand(deployCommand());
  program.addCommand(flipCommand('switch'));
  program.addCommand(flipCommand('rollback'));
  program.addCommand(pauseCommand());
  program.addCommand(resumeCommand());
  program.addCommand(reloadCommand());
  program.addCommand(historyCommand());
  program.addCommand(logsCommand());
  program.addCommand(auditCommand());
  program.addCommand(demoCommand());
  reportUsageErrors(program);
  try {
    await program.parseAsync(argv as string[]);
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (err) {
    return report(err);
  }
}

/**
 * Commander's own errors (unknown command or option, missing argument, a value a parser refused) get the one line
 * every other error gets, with a hint: `cutover: unknown option '--bogus' (see `cutover status --help`)`. The exit
 * is commander's, thrown (exitOverride) to report() rather than a process.exit. Verbs added with addCommand inherit
 * none of these settings from the program, so every command of the tree gets them.
 */
function reportUsageErrors(command: Command): void {
  command.exitOverride().configureOutput({
    outputError: (message) => stdout.error(`cutover: ${oneLine(message)} (see \`${pathOf(command)} --help\`)`),
  });
  for (const sub of command.commands) reportUsageErrors(sub);
}

/** Commander's message starts with "error: " and may end with a "(Did you mean status?)" line of its own. */
function oneLine(message: string): string {
  return message.replace(/^error: /, '').trim().replace(/\s*\n\s*/g, ' ');
}

function pathOf(command: Command): string {
  return command.parent === null ? command.name() : `${pathOf(command.parent)} ${command.name()}`;
}

function report(err: unknown): number {
  // Commander has had its say: the help, the version, or a usage error (reportUsageErrors).
  if (err instanceof CommanderError) return err.exitCode;
  if (err instanceof ConfigError) {
    stdout.error(`cutover: ${err.message}`);
    return 1;
  }
  if (err instanceof CutoverError) {
    stdout.error(`cutover: ${err.message} [${err.code}]`);
    return 1;
  }
  stdout.error(`cutover: unexpected error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
  return 2;
}
