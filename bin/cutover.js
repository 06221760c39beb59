#!/usr/bin/env node
// The installed `cutover` command: loads the TypeScript sources through tsx, then runs the CLI.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../src/cli/main.ts');
process.exitCode = await main(process.argv);
// A command that has finished must end even if a socket or timer was left behind; give stdout time to flush.
setTimeout(() => process.exit(), 1_000).unref();
