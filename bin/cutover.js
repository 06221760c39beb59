#!/usr/bin/env node
// The installed `cutover` command: loads cutover (compiled, or its TypeScript sources through tsx), then runs the CLI.
import { importSource } from './sources.js';

// `cutover serve` must not be ended by a signal that comes while its modules load (see src/core/early-signals.ts).
if (verbOf(process.argv.slice(2)) === 'serve') (await importSource('core/early-signals')).holdSignals();
const { main } = await importSource('cli/main');
process.exitCode = await main(process.argv);
// A command that has finished must end even if a socket or timer was left behind; give stdout time to flush.
setTimeout(() => process.exit(), 1_000).unref();

/** The verb: the first argument that is neither an option nor the value of the program's `--admin URL`. */
function verbOf(args) {
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '--admin') i++;
    else if (!args[i].startsWith('-')) return args[i];
  }
  return null;
}
