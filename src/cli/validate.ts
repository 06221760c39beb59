import { Command } from 'commander';
import { loadConfig } from '../config/load.ts';
import { stdout } from './output.ts';

export const DEFAULT_CONFIG_PATH = 'cutover.yaml';

/** `cutover validate [-c file]`: exit 0 for a valid file, 1 with every problem named by its path. */
export function validateCommand(): Command {
  return new Command('validate')
    .description('check a config file; exit 1 listing every error with its path')
    .option('-c, --config <file>', 'config file', DEFAULT_CONFIG_PATH)
    .action(async (opts: { config: string }) => {
      const config = await loadConfig(opts.config);
      const apps = Object.keys(config.apps);
      stdout.line(`${opts.config}: valid (${apps.length} app${apps.length === 1 ? '' : 's'}${apps.length ? ': ' + apps.join(', ') : ''})`);
    });
}
