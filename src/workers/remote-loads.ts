import type { TargetRegistry } from '../pool/target-registry.ts';
import { targetKey } from '../pool/target.ts';
import type { TargetLoad } from './messages.ts';

/**
 * The in-flight work the data-path workers last reported, summed per target into the primary's targets (whose own
 * counts stay zero: the primary serves no traffic), so status shows the whole picture.
 */
export class RemoteLoads {
  /** By worker id: that worker's last report, by target key. */
  private readonly byWorker = new Map<number, Map<string, TargetLoad>>();

  constructor(private readonly registry: TargetRegistry) {}

  update(worker: number, loads: readonly TargetLoad[]): void {
    const mine = new Map<string, TargetLoad>();
    for (const load of loads) {
      mine.set(targetKey(load.app, load.color, load.url), load);
      const target = this.registry.get(load.app, load.color, load.url);
      if (target !== undefined) target.requests += load.requests;
    }
    this.byWorker.set(worker, mine);
    this.sum();
  }

  /** A worker that exited holds nothing any more. */
  forget(worker: number): void {
    this.byWorker.delete(worker);
    this.sum();
  }

  private sum(): void {
    for (const target of this.registry.all()) {
      let inflight = 0;
      let websockets = 0;
      let draining = 0;
      for (const loads of this.byWorker.values()) {
        const load = loads.get(target.key);
        if (load === undefined) continue;
        inflight += load.inflight;
        websockets += load.websockets;
        draining += load.draining;
      }
      Object.assign(target.remote, { inflight, websockets, draining });
    }
  }
}
