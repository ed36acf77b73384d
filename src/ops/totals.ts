/** Totals that never go backwards when the process (or socket) behind a counter is replaced: per key, earlier instances' last counts plus the current one's. */

/** A report's numbers flattened to dotted keys (`rcodes.NOERROR`, `forwarding.cacheHits`, `upstreamLatency.counts.3`). */
export type Flat = Map<string, number>;

/** Flattens the numbers of a nested object (arrays by index); anything else is left out. */
export function flattenNumbers(value: unknown, prefix = '', out: Flat = new Map()): Flat {
  if (typeof value === 'number') {
    if (Number.isFinite(value)) out.set(prefix, value);
  } else if (value !== null && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) flattenNumbers(v, prefix === '' ? k : `${prefix}.${k}`, out);
  }
  return out;
}

interface Entry {
  /** Who reported last: a pid, a socket inode. */
  instance: number;
  /** The counts of instances before it, at their last report. */
  base: Flat;
  /** Its last report. */
  last: Flat;
  /** The round in which it last reported. */
  round: number;
}

/**
 * Counters reported by instances that come and go under a stable key: a
 * worker slot's processes (instance: the pid), a slot's socket (instance:
 * the inode). A new instance starts from zero; its predecessor's last
 * counts are kept as a base, so the totals never go backwards (what the
 * predecessor counted after its last report is lost, never subtracted).
 * Gauges (`isGauge`) are not added up over instances: they are the current
 * instance's, and only while it reports.
 */
export class MonotonicTotals {
  private readonly entries = new Map<string, Entry>();
  private round = 0;

  constructor(private readonly isGauge: (key: string) => boolean = () => false) {}

  /** Starts a collection round: gauges of keys not reported in it count as absent. */
  beginRound(): void {
    this.round++;
  }

  /** One report of `key` by `instance`. */
  update(key: string, instance: number, values: Flat): void {
    let e = this.entries.get(key);
    if (e === undefined) {
      e = { instance, base: new Map(), last: new Map(), round: this.round };
      this.entries.set(key, e);
    } else if (e.instance !== instance) {
      for (const [k, v] of e.last) if (!this.isGauge(k)) e.base.set(k, (e.base.get(k) ?? 0) + v);
      e.instance = instance;
      e.last = new Map();
    }
    // Within one instance a counter only grows; a smaller number (a report overtaken by an older one) is ignored.
    for (const [k, v] of values) {
      const was = e.last.get(k);
      if (this.isGauge(k) || was === undefined || v >= was) e.last.set(k, v);
    }
    e.round = this.round;
  }

  /** The keys seen so far. */
  keys(): string[] {
    return [...this.entries.keys()];
  }

  /** Was `key` reported in the current round? */
  current(key: string): boolean {
    return this.entries.get(key)?.round === this.round;
  }

  /** The totals of one key: base + last for counters; gauges only if it reported in the current round. */
  totals(key: string): Flat {
    const out: Flat = new Map();
    const e = this.entries.get(key);
    if (e === undefined) return out;
    for (const [k, v] of e.base) out.set(k, v);
    const live = e.round === this.round;
    for (const [k, v] of e.last) {
      if (this.isGauge(k)) {
        if (live) out.set(k, v);
      } else {
        out.set(k, (out.get(k) ?? 0) + v);
      }
    }
    return out;
  }

  /** The totals of every key added together. */
  sum(): Flat {
    const out: Flat = new Map();
    for (const key of this.entries.keys()) for (const [k, v] of this.totals(key)) out.set(k, (out.get(k) ?? 0) + v);
    return out;
  }
}
