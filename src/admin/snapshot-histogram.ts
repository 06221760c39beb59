// A Prometheus histogram whose buckets are read, at scrape time, from counts cutover already keeps (the stats'
// latency bins, the phase durations), instead of being fed one observation at a time: prom-client's Histogram
// can only `observe`, which on the data path would mean a call, a label hash and a lookup per request.
// It implements what prom-client's Registry asks of a metric: a name, a type and `get()`.

import type { Metric, MetricValueWithName, Registry } from 'prom-client';

export interface HistogramSeries {
  readonly labels: Readonly<Record<string, string>>;
  /** Cumulative counts, one per bucket bound, then the total (+Inf). */
  readonly cumulative: readonly number[];
  readonly sum: number;
}

export interface SnapshotHistogramOptions {
  readonly name: string;
  readonly help: string;
  /** Upper bounds, ascending, without +Inf. */
  readonly buckets: readonly number[];
  readonly registry: Registry;
  /** Called once per scrape. */
  readonly collect: () => Iterable<HistogramSeries>;
}

export class SnapshotHistogram {
  readonly name: string;
  readonly help: string;
  readonly type = 'histogram' as const;
  readonly aggregator = 'sum' as const;
  private readonly bounds: readonly string[];

  constructor(private readonly options: SnapshotHistogramOptions) {
    this.name = options.name;
    this.help = options.help;
    this.bounds = [...options.buckets.map(String), '+Inf'];
    options.registry.registerMetric(this as unknown as Metric);
  }

  /** What the Registry formats: prom-client's MetricObjectWithValues, less the `collect` it never reads. */
  async get(): Promise<{ name: string; help: string; type: 'histogram'; aggregator: 'sum'; values: MetricValueWithName<string>[] }> {
    const values: MetricValueWithName<string>[] = [];
    for (const series of this.options.collect()) {
      if (series.cumulative.length !== this.bounds.length) {
        throw new RangeError(`${this.name}: ${series.cumulative.length} bucket counts for ${this.bounds.length} buckets`);
      }
      this.bounds.forEach((le, i) => {
        values.push({ metricName: `${this.name}_bucket`, labels: { ...series.labels, le }, value: series.cumulative[i]! });
      });
      values.push({ metricName: `${this.name}_sum`, labels: series.labels, value: series.sum });
      values.push({ metricName: `${this.name}_count`, labels: series.labels, value: series.cumulative.at(-1)! });
    }
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values };
  }

  /** Nothing to reset: the counts belong to their owners. Here because Registry.resetMetrics calls it. */
  reset(): void {}
}
