// The entry of a data-path worker process (started by node:cluster in `cutover serve` with `workers` > 1): loads
// the TypeScript sources through tsx, as bin/cutover.js does, then runs the worker.
import { register } from 'tsx/esm/api';

register();
const { runWorker } = await import('./worker-main.ts');
await runWorker();
