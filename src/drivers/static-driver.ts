import { BadRequestError } from '../core/errors.ts';
import type { Color } from '../core/types.ts';
import type { EnvironmentDriver, InstanceDescription, LogLine, StartRequest } from './environment-driver.ts';

/** Targets the caller runs itself (`cutover deploy --target URL`): the driver only remembers them. */
export class StaticDriver implements EnvironmentDriver {
  readonly kind = 'static';
  private readonly targets = new Map<string, readonly string[]>();

  async start(request: StartRequest, signal: AbortSignal): Promise<string[]> {
    signal.throwIfAborted();
    if (request.targets.length === 0) throw new BadRequestError('a static app needs at least one target URL in "targets"');
    return this.remember(request);
  }

  async restore(request: StartRequest): Promise<string[]> {
    return this.remember(request);
  }

  async stop(app: string, color: Color): Promise<void> {
    this.targets.delete(key(app, color));
  }

  describe(app: string, color: Color): InstanceDescription[] {
    const targets = this.targets.get(key(app, color)) ?? [];
    return targets.map((url) => ({ url, state: 'external', pid: null, restarts: 0, startedAt: null, lastExit: null }));
  }

  logs(_app: string, _color: Color): LogLine[] {
    return [];
  }

  followLogs(_app: string, _color: Color | null, _listener: (line: LogLine) => void): () => void {
    return () => {};
  }

  async close(): Promise<void> {
    this.targets.clear();
  }

  private remember(request: StartRequest): string[] {
    this.targets.set(key(request.app, request.color), [...request.targets]);
    return [...request.targets];
  }
}

function key(app: string, color: Color): string {
  return `${app}/${color}`;
}
