import { CutoverError, type ErrorOptions } from '../core/errors.ts';

/** A driver could not bring an environment up or down: a missing directory, a spawn that failed, a closed driver. */
export class DriverError extends CutoverError {
  constructor(message: string, options: ErrorOptions = {}) {
    super('DRIVER_FAILED', 500, message, options);
  }
}
