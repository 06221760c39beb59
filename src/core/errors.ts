// Every error a user can see: a stable code, an HTTP status, a plain message, and the original as `cause`.
// Socket, store and driver errors are translated into one of these once, at the boundary where they happen.

export interface ErrorOptions {
  cause?: unknown;
  details?: unknown;
}

export class CutoverError extends Error {
  readonly code: string;
  readonly status: number;
  readonly details?: unknown;

  constructor(code: string, status: number, message: string, options: ErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.status = status;
    this.details = options.details;
  }

  toJSON(): { code: string; message: string; details?: unknown } {
    const body: { code: string; message: string; details?: unknown } = { code: this.code, message: this.message };
    if (this.details !== undefined) body.details = this.details;
    return body;
  }
}

/** One problem in a config file, named by its dotted path. */
export interface ConfigProblem {
  path: string;
  message: string;
}

export class ConfigError extends CutoverError {
  readonly problems: readonly ConfigProblem[];

  constructor(problems: readonly ConfigProblem[], options: ErrorOptions = {}) {
    const lines = problems.map((p) => `  ${p.path || '(root)'}: ${p.message}`);
    super('CONFIG_INVALID', 400, `the config has ${problems.length} problem(s):\n${lines.join('\n')}`, {
      ...options,
      details: problems,
    });
    this.problems = problems;
  }
}

export class BadRequestError extends CutoverError {
  constructor(message: string, options: ErrorOptions = {}) {
    super('BAD_REQUEST', 400, message, options);
  }
}

export class UnauthorizedError extends CutoverError {
  constructor(message = 'a valid bearer token is required') {
    super('UNAUTHORIZED', 401, message);
  }
}

export class NotFoundError extends CutoverError {
  constructor(message: string) {
    super('NOT_FOUND', 404, message);
  }
}

/** Another control operation holds the app's lock. */
export class BusyError extends CutoverError {
  constructor(app: string, holder: string, hint = 'try again when it ends') {
    super('BUSY', 409, `app "${app}" is busy: ${holder} is in progress; ${hint}`);
  }
}

/** A switch or rollback target is not healthy enough to take traffic. */
export class NotHealthyError extends CutoverError {
  constructor(message: string) {
    super('NOT_HEALTHY', 409, message);
  }
}

/** The request makes no sense in the app's current state (no candidate, no standby, ...). */
export class StateConflictError extends CutoverError {
  constructor(code: string, message: string) {
    super(code, 409, message);
  }
}

/** A compare-and-swap on the store lost against another writer. */
export class RevisionConflictError extends CutoverError {
  constructor(key: string, expected: number, actual: number) {
    super('REVISION_CONFLICT', 409, `${key} changed underneath: expected revision ${expected}, found ${actual}`);
  }
}

export class StoreUnavailableError extends CutoverError {
  constructor(message: string, options: ErrorOptions = {}) {
    super('STORE_UNAVAILABLE', 503, message, options);
  }
}

/**
 * A control call reached an instance that does not run the app's deployments, and was not forwarded (it came
 * forwarded already). 421 Misdirected Request (RFC 9110 §15.5.20): the call is fine, this server is the wrong one.
 */
export class NotLeaderError extends CutoverError {
  constructor(app: string, leader: { id: string; adminUrl: string }) {
    super('NOT_LEADER', 421, `app "${app}" is run by instance ${leader.id}: send control calls to ${leader.adminUrl}`, {
      details: { leader },
    });
  }
}

/** No instance holds an app's election right now (the last one died and its lease has not run out yet). */
export class NoLeaderError extends CutoverError {
  constructor(app: string, why: string) {
    super('NO_LEADER', 503, `no instance runs app "${app}" right now (${why}); try again in a few seconds`);
  }
}

export class DeployFailedError extends CutoverError {
  constructor(message: string, options: ErrorOptions = {}) {
    super('DEPLOY_FAILED', 500, message, options);
  }
}

export class NoHealthyTargetError extends CutoverError {
  constructor(app: string) {
    super('NO_TARGET', 502, `app "${app}" has no target to send the request to`);
  }
}

export class UpstreamError extends CutoverError {
  constructor(code: 'UPSTREAM_CONNECT' | 'UPSTREAM_RESET' | 'UPSTREAM_BAD_RESPONSE' | 'UPSTREAM_ERROR', message: string, cause: unknown) {
    super(code, 502, message, { cause });
  }
}

export class UpstreamTimeoutError extends CutoverError {
  constructor(message: string, cause: unknown) {
    super('UPSTREAM_TIMEOUT', 504, message, { cause });
  }
}

/** Anything thrown that is not a CutoverError becomes an INTERNAL error, keeping the original as cause. */
export function toCutoverError(err: unknown): CutoverError {
  if (err instanceof CutoverError) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new CutoverError('INTERNAL', 500, message, { cause: err });
}
