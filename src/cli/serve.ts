import { Command } from 'commander';
import { loadConfig } from '../config/load.ts';
import { toCutoverError } from '../core/errors.ts';
import { handoverDone, receiveHandover } from '../handover.ts';
import type { Cutover } from '../main.ts';
import { stdout } from './output.ts';
import { ServeSignals } from './serve-signals.ts';
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
      '\nSignals:\n  SIGHUP   re-read the config file, as `cutover reload` does (an invalid one is refused; the running config stays)\n' +
        '  SIGTERM  stop: finish requests in flight (up to the drain time), then exit 0 (also SIGINT)\n' +
        '  SIGUSR2  restart in place: a new cutover takes over the sockets, state and processes without a gap\n' +
        '           (the pid to signal is in the state file\'s .lock file; needs `workers: 1`; refused while a\n' +
        '           deployment or another operation runs, or an app is paused)\n' +
        'A signal sent while cutover starts is acted on once it serves (SIGUSR2 is refused then).',
    )
    .option('-c, --config <file>', 'config file', DEFAULT_CONFIG_PATH)
    .action(async (opts: { config: string }) => {
      // Before anything else: a signal sent while cutover starts must not end it with Node's default action.
      const signals = new ServeSignals(opts.config);
      const config = await loadConfig(opts.config);
      const handover = receiveHandover(() => signals.stopAsked);
      // Loaded here, not at the top: the other verbs only talk to the admin API and start faster without it.
      const { Cutover } = await import('../main.ts');
      const cutover = await Cutover.start({ config, handover }).catch((err: unknown) => {
        // Asked to stop while starting: a start cut short by that (a worker hit by the same Ctrl-C) is the stop.
        if (signals.stopAsked === null) throw err;
        stdout.error(`cutover: stopped by ${signals.stopAsked} while starting; the start did not finish: ${toCutoverError(err).message}`);
        return null;
      });
      if (cutover === null) return;
      if (handover && signals.stopAsked !== null) return abandonHandover(cutover, signals.stopAsked, handover.from);
      if (handover) handoverDone();
      cutover.log.info({ proxy: cutover.proxyUrl, admin: cutover.adminUrl, config: config.source, pid: process.pid }, 'cutover is serving');
      stdout.error(`cutover: proxy on ${cutover.proxyUrl}, admin API on ${cutover.adminUrl}`);
      for (const [app, url] of Object.entries(cutover.listeners.previewUrls())) stdout.error(`cutover: preview of ${app} on ${url}`);
      signals.serving(cutover);
      await signals.stopped;
      cutover.log.info('stopped');
    });
}

/**
 * A successor asked to stop while it took over: the cutover it was to replace never hears that it serves, so that
 * one goes on serving and takes its lock back. This one retires: it stops accepting on the shared sockets, finishes
 * what it accepted meanwhile, and stops none of the apps' processes (they are the other's again).
 */
async function abandonHandover(cutover: Cutover, signal: string, from: number): Promise<void> {
  stdout.error(`cutover: ${signal} while taking over from pid ${from}: the hand-over is abandoned; pid ${from} goes on serving`);
  await cutover.retire();
}
