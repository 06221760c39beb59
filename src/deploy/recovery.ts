import { COLORS, type Color, type DeploymentRecord } from '../core/types.ts';
import type { AppController } from './app-controller.ts';
import { DeploymentRun } from './deployment-run.ts';

const RUNNING_STATES = new Set(['live', 'standby', 'ready']);

/**
 * Before cutover takes traffic: the environments that should run are taken over (or started again) through the
 * driver, so the route table has their targets.
 */
export async function restoreApp(app: AppController): Promise<void> {
  for (const color of COLORS) await restoreEnvironment(app, color);
}

/**
 * Once cutover serves: deployments a restart caught mid-way are resumed or failed cleanly (their hooks and driver
 * stops may take a while, so this does not hold the listener back), and standby retirement is scheduled again.
 */
export async function settleApp(app: AppController, interruption: string): Promise<void> {
  for (const d of await interruptedDeployments(app)) await settle(app, d, interruption);
  for (const color of COLORS) scheduleRetirement(app, color);
}

/** The app's deployments left open by a stop; one this process runs (started after the listeners opened) is not. */
export async function interruptedDeployments(app: AppController): Promise<DeploymentRecord[]> {
  const open = await app.options.store.listOpenDeployments();
  return open.filter((d) => d.app === app.name && d.id !== app.current?.deployment.id);
}

async function restoreEnvironment(app: AppController, color: Color): Promise<void> {
  const env = app.record.envs[color];
  if (!RUNNING_STATES.has(env.state) || env.version === null) return;
  try {
    const targets = await app.options.driver.restore({ app: app.name, color, version: env.version, targets: env.targets });
    if (targets.join() === env.targets.join()) return;
    await app.save({ ...app.record, envs: { ...app.record.envs, [color]: { ...env, targets } } });
  } catch (err) {
    app.options.log.error({ app: app.name, env: color, version: env.version, err }, `could not bring ${color} back after the restart`);
  }
}

async function settle(app: AppController, d: DeploymentRecord, interruption: string): Promise<void> {
  const run = new DeploymentRun(app, app.runDeps, d, false);
  const live = app.record.live;
  if (d.phase === 'ready' && app.record.envs[d.color].state === 'ready') {
    app.current = run;
  } else if (d.phase === 'watching' && live === d.color) {
    app.current = run;
    await run.begin([{ type: 'watch' }]);
  } else if (d.phase === 'switching' && live === d.color) {
    app.current = run;
    await run.dispatch({ type: 'switched' });
  } else if (d.phase === 'watching' && live !== null && live !== d.color) {
    // Still watching a version that is no longer live: a flip back stored without the deployment's record. Since the
    // two share one commit cutover does not write this, but a state file from before may hold it.
    await run.dispatch({ type: 'rollback', who: 'cutover', reason: `rolled back; recorded after ${interruption}` });
  } else {
    await run.dispatch({ type: 'fail', reason: `interrupted by ${interruption} during ${d.phase}` });
  }
}

function scheduleRetirement(app: AppController, color: Color): void {
  const env = app.record.envs[color];
  const waitingForSwitch = app.current?.open && app.current.deployment.color === color;
  if (app.record.live === color || waitingForSwitch || (env.state !== 'standby' && env.state !== 'ready')) return;
  app.scheduleRetire(color, env.since + app.config.standbyMs - app.options.clock.now());
}
