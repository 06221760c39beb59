// This instance's place in the fleet: an etcd lease, kept alive by the client, with the instance's record under
// it. Everything the instance holds in etcd (its record, the app elections it won) hangs on the lease, so when the
// instance dies the lease runs out and all of it goes at once.
//
// `connected` is false from the first failed keepalive until one succeeds again; the lease itself is only gone
// when the client gives up on it (etcd said so, or twice its TTL passed without an answer). Then the instance
// grants a new lease as soon as etcd answers again, and registers again.

import type { Lease, Namespace } from 'etcd3';
import type { Logger } from '../core/logger.ts';
import type { InstanceRecord } from '../core/types.ts';
import { withinDeadline } from '../store/etcd-connection.ts';
import { instanceKey } from './fleet-keys.ts';

export interface MembershipListener {
  /** A lease is held and the instance is listed: at start, and again after a lost lease was replaced. */
  onJoined(lease: string): void;
  /** The lease is gone: nothing held under it is this instance's any more. */
  onLost(err: unknown): void;
  /** Keepalives go through again after failing (etcd came back before the lease was lost). */
  onReconnected(): void;
}

export interface MembershipOptions {
  readonly kv: Namespace;
  readonly leaseMs: number;
  readonly timeoutMs: number;
  /** The record to publish; read at every report. */
  readonly record: () => InstanceRecord;
  readonly listener: MembershipListener;
  readonly log: Logger;
}

const REJOIN_AFTER_MS = 500;

export class Membership {
  #lease: Lease | null = null;
  #leaseId: string | null = null;
  #connected = false;
  #reporting: Promise<void> | null = null;
  #reportAgain = false;
  #rejoin: NodeJS.Timeout | null = null;
  #stopped = false;
  #failing = false;

  constructor(private readonly options: MembershipOptions) {}

  /** The lease this instance holds, or null while it has none. */
  get leaseId(): string | null {
    return this.#leaseId;
  }

  /** A lease is held and its last keepalive went through. */
  get connected(): boolean {
    return this.#leaseId !== null && this.#connected;
  }

  /** The first attempt to join; when etcd does not answer, it goes on trying in the background. */
  async start(): Promise<void> {
    await this.#join();
  }

  /** Publishes the record again (coalesced: one write in flight, the latest record wins). */
  report(): void {
    if (this.#leaseId === null) return;
    if (this.#reporting !== null) {
      this.#reportAgain = true;
      return;
    }
    this.#reporting = this.#write()
      .catch((err) => this.options.log.warn({ err }, 'could not update this instance in etcd'))
      .finally(() => {
        this.#reporting = null;
        if (this.#reportAgain) {
          this.#reportAgain = false;
          this.report();
        }
      });
  }

  /** Revokes the lease, so that the others take over this instance's apps at once rather than after its TTL. */
  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#rejoin !== null) clearTimeout(this.#rejoin);
    const lease = this.#lease;
    this.#lease = null;
    this.#leaseId = null;
    await this.#reporting;
    if (lease !== null) await withinDeadline(lease.revoke(), this.options.timeoutMs, 'revoke the lease').catch(() => lease.release());
  }

  async #join(): Promise<void> {
    if (this.#stopped) return;
    const lease = this.options.kv.lease(this.options.leaseMs / 1_000);
    lease.on('lost', (err) => this.#lost(lease, err));
    lease.on('keepaliveFailed', () => this.#keepalive(lease, false));
    lease.on('keepaliveSucceeded', () => this.#keepalive(lease, true));
    try {
      const id = await withinDeadline(lease.grant(), this.options.timeoutMs, 'grant a lease');
      if (this.#stopped) return void lease.revoke().catch(() => {});
      [this.#lease, this.#leaseId, this.#connected] = [lease, id, true];
      await this.#write();
      this.options.log[this.#failing ? 'warn' : 'info']({ instance: this.options.record().id, lease: id }, 'joined the fleet in etcd');
      this.#failing = false;
      this.options.listener.onJoined(id);
    } catch (err) {
      if (this.#lease === lease) return this.#lost(lease, err);
      lease.release();
      // Once per outage is enough to say so; the attempts every half second go to debug.
      const level = this.#failing ? 'debug' : 'warn';
      this.#failing = true;
      this.options.log[level]({ err }, `cannot join the fleet in etcd; trying again every ${REJOIN_AFTER_MS} ms`);
      this.#rejoinSoon();
    }
  }

  #lost(lease: Lease, err: unknown): void {
    if (this.#lease !== lease) return;
    lease.release();
    [this.#lease, this.#leaseId, this.#connected] = [null, null, false];
    this.options.log.warn({ err }, 'lost the lease in etcd: this instance leads no app until it joins again');
    this.options.listener.onLost(err);
    this.#rejoinSoon();
  }

  #keepalive(lease: Lease, ok: boolean): void {
    if (this.#lease !== lease || this.#connected === ok) return;
    this.#connected = ok;
    if (ok) this.options.listener.onReconnected();
    else this.options.log.warn('etcd does not answer keepalives; control calls are refused until it does');
  }

  #rejoinSoon(): void {
    if (this.#stopped || this.#rejoin !== null) return;
    this.#rejoin = setTimeout(() => {
      this.#rejoin = null;
      void this.#join();
    }, REJOIN_AFTER_MS);
    this.#rejoin.unref();
  }

  async #write(): Promise<void> {
    const id = this.#leaseId;
    if (id === null) return;
    const record = this.options.record();
    const put = this.options.kv.put(instanceKey(record.id)).value(JSON.stringify(record)).lease(id).exec();
    await withinDeadline(put, this.options.timeoutMs, 'register this instance');
  }
}
