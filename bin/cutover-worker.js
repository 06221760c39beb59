// The entry of a data-path worker process, forked by node:cluster in `cutover serve` when `workers` > 1.
import { importSource } from './sources.js';

// Ctrl-C, or a SIGTERM to the whole process group, may reach a worker while it loads: held, as `cutover serve`
// holds them (src/core/early-signals.ts), for runWorker to act on.
(await importSource('core/early-signals')).holdSignals();
const { runWorker } = await importSource('workers/worker-main');
await runWorker();
