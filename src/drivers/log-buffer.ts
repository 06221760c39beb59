import type { LogLine } from './environment-driver.ts';

/** The last `capacity` lines of one environment, oldest first; older lines fall off the front. */
export class LogBuffer {
  private readonly ring: LogLine[] = [];
  private next = 0;

  constructor(private readonly capacity: number) {}

  push(line: LogLine): void {
    if (this.ring.length < this.capacity) this.ring.push(line);
    else this.ring[this.next] = line;
    this.next = (this.next + 1) % this.capacity;
  }

  lines(): LogLine[] {
    if (this.ring.length < this.capacity) return [...this.ring];
    return [...this.ring.slice(this.next), ...this.ring.slice(0, this.next)];
  }
}
