// The entry of a data-path worker process, forked by node:cluster in `cutover serve` when `workers` > 1.
import { importSource } from './sources.js';

const { runWorker } = await importSource('workers/worker-main');
await runWorker();
