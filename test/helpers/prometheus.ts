/** Reading Prometheus text exposition in tests: samples by series, and each family's TYPE. */

/** Samples keyed by series as written (`shardns_replies_total{transport="udp",rcode="NOERROR"}`), labels sorted by name. */
export interface Exposition {
  samples: Map<string, number>;
  types: Map<string, string>;
  /** The value of a series, labels in any order; undefined when absent. */
  get(name: string, labels?: Record<string, string>): number | undefined;
  /** Sum of every series of a metric name whose labels include `labels`. */
  sum(name: string, labels?: Record<string, string>): number;
}

function key(name: string, labels: Record<string, string>): string {
  const parts = Object.keys(labels)
    .sort()
    .map((k) => `${k}="${labels[k]}"`);
  return parts.length === 0 ? name : `${name}{${parts.join(',')}}`;
}

/** Parses the text format (0.0.4): `# TYPE` lines and `name{a="b"} value` lines. */
export function parseExposition(text: string): Exposition {
  const samples = new Map<string, number>();
  const types = new Map<string, string>();
  const series: { name: string; labels: Record<string, string>; value: number }[] = [];
  for (const line of text.split('\n')) {
    if (line.startsWith('# TYPE ')) {
      const [, , name = '', type = ''] = line.split(' ');
      types.set(name, type);
      continue;
    }
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m) throw new Error(`not an exposition line: ${line}`);
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]!] = l[2]!;
    const value = m[3] === '+Inf' ? Infinity : Number(m[3]);
    samples.set(key(m[1]!, labels), value);
    series.push({ name: m[1]!, labels, value });
  }
  return {
    samples,
    types,
    get: (name, labels = {}) => samples.get(key(name, labels)),
    sum: (name, labels = {}) =>
      series.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v)).reduce((n, s) => n + s.value, 0),
  };
}
