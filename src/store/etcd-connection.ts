// The boundary between cutover and the etcd3 client: the client built from `state.etcd`, each call bounded in
// time, and the client's errors turned into STORE_UNAVAILABLE once, here.

import { readFileSync } from 'node:fs';
import { rootCertificates } from 'node:tls';
import {
  circuitBreaker, ConsecutiveBreaker, ExponentialBackoff, handleWhen, isBrokenCircuitError, type IBackoff,
} from 'cockatiel';
import {
  ClientClosedError, ClientRuntimeError, Etcd3, EtcdAuthenticationFailedError, EtcdError, EtcdInvalidAuthTokenError,
  EtcdPermissionDeniedError, EtcdWatchStreamEnded, GRPCGenericError, isRecoverableError, type IOptions,
} from 'etcd3';
import type { EtcdSettings, EtcdTlsFiles } from '../config/state-schema.ts';
import { CutoverError, StoreUnavailableError } from '../core/errors.ts';

/** How long an endpoint that failed three calls in a row is skipped before one call tries it again. */
export const ETCD_HALF_OPEN_AFTER_MS = 1_000;
/** A broken watch stream reconnects after at most this long, so a returning etcd is noticed soon. */
const MAX_WATCH_BACKOFF_MS = 2_000;
/** Within etcd's own `--grpc-keepalive-min-time` (5 s), which refuses more frequent pings. */
const KEEPALIVE_MS = 10_000;

/** A client for `settings`; it connects lazily, at the first call. */
export function connectEtcd(settings: EtcdSettings): Etcd3 {
  return new Etcd3(clientOptions(settings));
}

/**
 * `work`, bounded by `ms`: past it the caller gets STORE_UNAVAILABLE even when the client would go on waiting. The
 * client's own deadlines end the calls behind it soon after.
 */
export async function withinDeadline<T>(work: Promise<T>, ms: number, context: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new StoreUnavailableError(`${context}: no answer within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([work, timeout]);
  } catch (err) {
    throw storeFailure(err, context);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * The client's failures (network, deadline, auth, an open circuit) mean the store cannot serve: STORE_UNAVAILABLE
 * with the original as cause. Our own typed errors pass through, and so does anything else, which is a bug rather
 * than an outage and should surface as INTERNAL.
 */
export function storeFailure(err: unknown, context: string): unknown {
  if (err instanceof CutoverError || !isClientError(err)) return err;
  // grpc-js ends its messages with an empty "Resolution note:", which says nothing to a user.
  const reason = isBrokenCircuitError(err)
    ? 'every endpoint failed its last calls'
    : (err as Error).message.replace(/\s*Resolution note:\s*$/, '');
  return new StoreUnavailableError(`${context}: ${reason}`, { cause: err });
}

const CLIENT_ERRORS = [
  GRPCGenericError, EtcdError, ClientClosedError, ClientRuntimeError, EtcdAuthenticationFailedError,
  EtcdInvalidAuthTokenError, EtcdPermissionDeniedError, EtcdWatchStreamEnded,
];

function isClientError(err: unknown): boolean {
  return isBrokenCircuitError(err) || CLIENT_ERRORS.some((type) => err instanceof type);
}

function clientOptions(settings: EtcdSettings): IOptions {
  // Half the budget per attempt, so that a member that hangs leaves time to retry on another.
  const attemptMs = Math.max(1, Math.ceil(settings.timeoutMs / 2));
  return {
    hosts: [...settings.endpoints],
    ...(settings.tls === null ? {} : { credentials: readTlsFiles(settings.tls) }),
    ...(settings.username === null ? {} : { auth: { username: settings.username, password: settings.password ?? '' } }),
    dialTimeout: settings.timeoutMs,
    defaultCallOptions: (call) => (call.isStream ? {} : { deadline: Date.now() + attemptMs }),
    // The client's default breaker skips a failed endpoint for 5 s; a single etcd that came back would be refused
    // that long. The default global policy (three tries, each on another endpoint) stays.
    faultHandling: {
      host: () => circuitBreaker(handleWhen(isRecoverableError), {
        halfOpenAfter: ETCD_HALF_OPEN_AFTER_MS,
        breaker: new ConsecutiveBreaker(3),
      }),
      // etcd3 declares a backoff here but calls it as a factory (its own default is `new ExponentialBackoff()`).
      watchBackoff: new ExponentialBackoff({ initialDelay: 100, maxDelay: MAX_WATCH_BACKOFF_MS }) as unknown as IBackoff<unknown>,
    },
    grpcOptions: {
      'grpc.initial_reconnect_backoff_ms': 100,
      'grpc.max_reconnect_backoff_ms': ETCD_HALF_OPEN_AFTER_MS,
      'grpc.keepalive_time_ms': KEEPALIVE_MS,
      'grpc.keepalive_timeout_ms': settings.timeoutMs,
    },
  };
}

/** Without a `ca`, the server is checked against Node's bundled CAs, as for any HTTPS client. */
function readTlsFiles(tls: EtcdTlsFiles): NonNullable<IOptions['credentials']> {
  const read = (key: keyof EtcdTlsFiles) => {
    const path = tls[key];
    if (path === null) return undefined;
    try {
      return readFileSync(path);
    } catch (err) {
      throw new StoreUnavailableError(`cannot read state.etcd.tls.${key} ${path}: ${(err as Error).message}`, { cause: err });
    }
  };
  return {
    rootCertificate: read('ca') ?? Buffer.from(rootCertificates.join('\n')),
    privateKey: read('key'),
    certChain: read('cert'),
  };
}
