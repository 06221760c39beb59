// Rules that join `state` and `apps`: with `state.etcd` several cutover instances, usually on several machines,
// share every app (issue #6). The static driver fits: its targets are URLs any instance can reach. The process
// driver does not: it starts its processes on the machine of the instance that deploys, on loopback ports, and
// keeps their records in a local folder, so the other instances could neither route to them nor adopt them.

import type { AppConfig, StateConfig } from './config.ts';
import type { ConfigReader } from './reader.ts';

export function checkScaleOut(state: StateConfig, apps: Readonly<Record<string, AppConfig>>, r: ConfigReader): void {
  if (!('etcd' in state)) return;
  for (const [name, app] of Object.entries(apps)) {
    if (app.driver.kind !== 'process') continue;
    r.problem(
      `apps.${name}.driver`,
      'the process driver runs its processes on one machine, but with state.etcd several instances share this app; ' +
        'use the static driver (targets any instance can reach), or state.sqlite for one instance',
    );
  }
}
