import { Command } from 'commander';
import { loadConfig } from '../config/load.ts';
import { toCutoverError } from '../core/errors.ts';
import { handOver, handoverDone, receiveHandover } from '../handover.ts';
import { stdout } from './output.ts';
import { DEFAULT_CONFIG_PATH } from './validate.ts';

/**
 * `cutover serve`: runs the proxy, admin API and controller until SIGTERM or SIGINT (graceful: requests in flight
 * finish, up to the drain time) and re-reads the config on SIGHUP.
 */
export function serveCommand(): Command {
  return new Command('serve')
    .description('run the proxy, admin API and controller')
    .addHelpText(
      'after',
      '\nSignals:\n  SIGHUP   re-read the config file (an invalid one is refused; the running config stays)\n' +
        '  SIGTERM  stop: finish requests in flight (up to the drain time), then exit 0 (also SIGINT)\n' +
        '  SIGUSR2  restart in place: a new cutover takes over the sockets, state and processes without a gap\n' +
        '           (the pid to signal is in the state file\'s .lock file; needs `workers: 1`)',
    )
    .option('-c, --config <file>', 'config file', DEFAULT_CONFIG_PATH)
    .action(async (opts: { config: string }) => {
      const config = await loadConfig(opts.config);
      const handover = await receiveHandover();
      // Loaded here, not at the top: the other verbs only talk to the admin API and start faster without it.
      const { Cutover } = await import('../main.ts');
      const cutover = await Cutover.start({ config, handover });
      if (handover) handoverDone();
      // The signals are handled before the ready line is printed: whoever waits for that line may stop it at once.
      const stopped = new Promise<void>((resolve) => {
        const stop = (signal: string) => {
          cutover.log.info({ signal }, 'shutting down: finishing requests in flight');
          cutover.stop().then(resolve, resolve);
        };
        process.once('SIGTERM', () => stop('SIGTERM'));
        process.once('SIGINT', () => stop('SIGINT'));
        // SIGUSR2: restart or upgrade in place, without refusing a connection or failing a request in flight.
        process.on('SIGUSR2', () => {
          handOver(cutover, opts.config, cutover.log).then(
            (done) => done && resolve(),
            (err) => cutover.log.error({ err }, 'the hand-over failed; this cutover goes on serving'),
          );
        });
      });
      process.on('SIGHUP', () => {
        cutover.reload().catch((err) => cutover.log.error({ code: toCutoverError(err).code }, `reload refused, the running config stays: ${toCutoverError(err).message}`));
      });
      cutover.log.info({ proxy: cutover.proxyUrl, admin: cutover.adminUrl, config: config.source, pid: process.pid }, 'cutover is serving');
      stdout.error(`cutover: proxy on ${cutover.proxyUrl}, admin API on ${cutover.adminUrl}`);
      for (const [app, url] of Object.entries(cutover.listeners.previewUrls())) stdout.error(`cutover: preview of ${app} on ${url}`);
      await stopped;
      cutover.log.info('stopped');
    });
}
