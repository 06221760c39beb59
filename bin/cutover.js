#!/usr/bin/env node
// The installed `cutover` command: loads cutover (compiled, or its TypeScript sources through tsx), then runs the CLI.
import { importSource } from './sources.js';

const { main } = await importSource('cli/main');
process.exitCode = await main(process.argv);
// A command that has finished must end even if a socket or timer was left behind; give stdout time to flush.
setTimeout(() => process.exit(), 1_000).unref();
