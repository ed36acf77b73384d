/** Latency histograms with fixed buckets: observed in a worker for a few operations each, summed across workers by the supervisor. */

/** Upper bounds (seconds) of the upstream latency buckets: from a LAN resolver's 1 ms to the 3 s forward deadline. */
export const UPSTREAM_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

/** A histogram as sent over IPC: per-bucket counts (not cumulative; one more than the bounds, the last for +Inf), their sum and count. */
export interface HistogramSnapshot {
  counts: number[];
  sum: number;
  count: number;
}

/** Counts observations into buckets; observe() is a short loop over a dozen bounds. */
export class Histogram {
  private readonly counts: number[];
  private sum = 0;
  private count = 0;

  constructor(private readonly bounds: readonly number[] = UPSTREAM_BUCKETS) {
    this.counts = new Array<number>(bounds.length + 1).fill(0);
  }

  /** One observation, in seconds. */
  observe(seconds: number): void {
    let i = 0;
    while (i < this.bounds.length && seconds > this.bounds[i]!) i++;
    this.counts[i]!++;
    this.sum += seconds;
    this.count++;
  }

  snapshot(): HistogramSnapshot {
    return { counts: [...this.counts], sum: this.sum, count: this.count };
  }
}

/**
 * Cumulative counts per upper bound as Prometheus exposes them
 * (`le="0.005"` counts everything at or below 5 ms; `+Inf` everything).
 */
export function cumulative(counts: readonly number[], bounds: readonly number[] = UPSTREAM_BUCKETS): { le: string; count: number }[] {
  let running = 0;
  return counts.map((n, i) => {
    running += n;
    return { le: i < bounds.length ? String(bounds[i]) : '+Inf', count: running };
  });
}
