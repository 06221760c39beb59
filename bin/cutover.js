#!/usr/bin/env node
// The installed `cutover` command: loads cutover (compiled, or its TypeScript sources through tsx), then runs the CLI.
import { importSource } from './sources.js';

// `cutover serve` must not be ended by a signal that comes while its modules load (see src/core/early-signals.ts).
if (process.argv.slice(2).includes('serve')) (await importSource('core/early-signals')).holdSignals();
const { main } = await importSource('cli/main');
process.exitCode = await main(process.argv);
// A command that has finished must end even if a socket or timer was left behind; give stdout time to flush.
setTimeout(() => process.exit(), 1_000).unref();
