import { otherColor, type Color } from '../core/types.ts';
import type { AppController, DeployRequest } from './app-controller.ts';
import { newDeployment } from './deployment.ts';
import { BEGIN_EFFECTS } from './deployment-machine.ts';
import { DeploymentRun } from './deployment-run.ts';

/**
 * Creates and stores a deployment of `req.version` on the environment that is not live, and starts it. A deployment
 * still waiting there (ready, manual switch) is superseded first. `started` settles when the new one is ready and
 * waiting, watched, or ended.
 */
export async function startDeployment(app: AppController, req: DeployRequest): Promise<{ run: DeploymentRun; started: Promise<void> }> {
  const record = app.record;
  const color: Color = record.live === null ? 'blue' : otherColor(record.live);
  const waiting = app.current;
  if (waiting?.open && waiting.deployment.color === color) {
    await waiting.dispatch({ type: 'fail', reason: `superseded by the deployment of ${req.version}` });
  }
  const live = record.live === null ? null : record.envs[record.live];
  const deployment = newDeployment({
    app: app.name,
    version: req.version,
    color,
    previousVersion: live?.version ?? null,
    targets: req.targets,
    who: req.who,
    at: app.options.clock.now(),
  });
  await app.persist(deployment);
  app.emit({ type: 'deployment', app: app.name, deployment: deployment.id, version: req.version, color, phase: 'starting', message: `deploying ${req.version} to ${color}`, metrics: null });
  const autoSwitch = req.forceSwitch === true || (!req.noSwitch && app.config.switch === 'auto');
  const run = new DeploymentRun(app, app.runDeps, deployment, autoSwitch);
  app.current = run;
  return { run, started: run.begin(BEGIN_EFFECTS) };
}
