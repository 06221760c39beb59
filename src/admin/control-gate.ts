// With several instances sharing etcd, one instance runs each app's control operations. The admin API asks the
// gate before a control call on an app runs, and shows the fleet it reports. Without a shared store there is no
// gate: every call runs here.

import type { IncomingMessage, ServerResponse } from 'node:http';
import type { InstanceRecord } from '../core/types.ts';

export interface ControlGate {
  /**
   * Before a control call on `app` (its body not read yet): false to run it here; true once the gate answered
   * `res` itself (it forwarded the call to the instance that runs the app). Throws a CutoverError when the call can
   * run nowhere now (NOT_LEADER, NO_LEADER, STORE_UNAVAILABLE).
   */
  intercept(app: string, req: IncomingMessage, res: ServerResponse, url: URL): Promise<boolean>;
}

export interface FleetView {
  /** Every instance listed in etcd, this one included. */
  instances(): InstanceStatus[];
  /** The instance that runs `app`'s control operations, when one does. */
  leaderOf(app: string): LeaderStatus | null;
}

export interface LeaderStatus {
  readonly id: string;
  readonly adminUrl: string;
}

/** What `GET /api/instances` lists and `cutover status` prints. */
export interface InstanceStatus extends InstanceRecord {
  /** The apps it runs the control operations of. */
  readonly leads: readonly string[];
  /** The instance that answered. */
  readonly self: boolean;
}
