import { Command, InvalidArgumentError } from 'commander';
import { stdout } from './output.ts';

/** `cutover demo [--once]`: a self-contained blue-green deploy under load, on this machine. */
export function demoCommand(): Command {
  return new Command('demo')
    .description('a self-contained blue-green deploy under load, on this machine')
    .option('--once', 'exit after the scenario: status 0 only if no request failed')
    .option('--port <port>', 'proxy port (0: any free port)', portFlag, 8080)
    .option('--admin-port <port>', 'admin API port (0: any free port)', portFlag, 9900)
    .action(async (opts: { once?: boolean; port: number; adminPort: number }) => {
      const { runDemo } = await import('../demo/demo.ts');
      const outcome = await runDemo({ once: Boolean(opts.once), print: (line) => stdout.line(line), port: opts.port, adminPort: opts.adminPort });
      if (!outcome.ok) process.exitCode = 1;
    });
}

function portFlag(value: string): number {
  const port = Number(value);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new InvalidArgumentError('must be a port number, 0 to 65535');
  return port;
}
