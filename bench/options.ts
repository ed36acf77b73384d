/** The benchmark's command-line options: defaults, parsing and validation (every problem reported at once). */

import { parseArgs } from 'node:util';
import { SERVER_KINDS, type PeerKind } from './servers.js';

/** What `npm run bench -- …` asked for. */
export interface RunOptions {
  /** Worker counts to measure (shardns workers, NSD server-count, Knot udp/tcp/background workers); empty: no load test. */
  workers: number[];
  durationSec: number;
  rounds: number;
  warmupSec: number;
  /** `ORIGIN=FILE`, or null for the generated zone. */
  zone: { origin: string; file: string } | null;
  /** Records of the generated zone (when no --zone). */
  zoneRecords: number;
  peers: PeerKind[];
  clients: number;
  outstanding: number;
  queries: number;
  seed: number;
  /** Generated zone sizes for the zone-scale step; empty: skip it. */
  scale: number[];
  scaleWorkers: number;
  /** Folder for the JSON result and the SVG chart. */
  out: string;
  help: boolean;
}

/** The defaults: 1 and 2 workers, 10 s runs, 2 rounds, NSD and Knot, 10k/100k/1M zone scale. */
export const DEFAULTS: Omit<RunOptions, 'out'> = {
  workers: [1, 2],
  durationSec: 10,
  rounds: 2,
  warmupSec: 2,
  zone: null,
  zoneRecords: 10_000,
  peers: ['nsd', 'knot'],
  clients: 8,
  outstanding: 200,
  queries: 50_000,
  seed: 1,
  scale: [10_000, 100_000, 1_000_000],
  scaleWorkers: 1,
  help: false,
};

/** The --help text. */
export const USAGE = `usage: npm run bench -- [options]      (or: node dist/bench/run.js [options])

Load test with dnsperf against shardns and, when installed, NSD and Knot DNS
(same zone, same query file, same worker count, runs alternating), then the
zone-scale test. Loopback only; every process it starts is stopped, also on Ctrl-C.

  --workers LIST       worker counts to measure, e.g. 1,2 (default 1,2); none: skip the load test
  --duration SEC       length of each measured dnsperf run (default 10)
  --rounds N           measured runs per server and worker count, servers in turn (default 2)
  --warmup SEC         unmeasured dnsperf run per server before the first round (default 2; 0: none)
  --zone ORIGIN=FILE   zone to serve (default: a generated zone of --zone-records records plus wildcards)
  --zone-records N     size of the generated zone (default 10000)
  --peers LIST         nsd,knot (default), nsd, knot or none
  --clients N          dnsperf clients (-c): source sockets, each one flow the kernel hashes to one worker (default 8)
  --outstanding N      dnsperf queries in flight at most (-q, over all clients; default 200)
  --queries N          lines in the query file (default 50000)
  --seed N             seed of the query file (default 1)
  --scale LIST         zone-scale sizes in records, e.g. 10000,100000,1000000 (default); none: skip
  --scale-workers N    workers each server gets in the zone-scale test (default 1)
  --out DIR            where the JSON result and the SVG chart go (default bench/results)
  --help
`;

/** Parses argv; returns the options or every problem found. */
export function parseOptions(argv: string[], defaultOut: string): { ok: true; options: RunOptions } | { ok: false; errors: string[] } {
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        workers: { type: 'string' },
        duration: { type: 'string' },
        rounds: { type: 'string' },
        warmup: { type: 'string' },
        zone: { type: 'string' },
        'zone-records': { type: 'string' },
        peers: { type: 'string' },
        clients: { type: 'string' },
        outstanding: { type: 'string' },
        queries: { type: 'string' },
        seed: { type: 'string' },
        scale: { type: 'string' },
        'scale-workers': { type: 'string' },
        out: { type: 'string' },
        help: { type: 'boolean' },
      },
    }));
  } catch (err) {
    return { ok: false, errors: [(err as Error).message] };
  }
  const errors: string[] = [];
  const o: RunOptions = { ...DEFAULTS, out: defaultOut };
  const str = (k: string): string | undefined => values[k] as string | undefined;

  const int = (k: string, min: number, max: number): number | undefined => {
    const v = str(k);
    if (v === undefined) return undefined;
    const n = Number(v);
    if (!Number.isInteger(n) || n < min || n > max) {
      errors.push(`--${k}: must be a whole number from ${min} to ${max}, got "${v}"`);
      return undefined;
    }
    return n;
  };
  const seconds = (k: string, min: number, max: number): number | undefined => {
    const v = str(k);
    if (v === undefined) return undefined;
    const n = Number(v);
    if (v.trim() === '' || !Number.isFinite(n) || n < min || n > max) {
      errors.push(`--${k}: must be a number of seconds from ${min} to ${max}, got "${v}"`);
      return undefined;
    }
    return n;
  };
  const list = (k: string, min: number, max: number): number[] | undefined => {
    const v = str(k);
    if (v === undefined) return undefined;
    if (v === 'none') return [];
    const items = v.split(',').map((s) => s.trim());
    const nums = items.map(Number);
    if (items.some((s, i) => s === '' || !Number.isInteger(nums[i]) || nums[i]! < min || nums[i]! > max)) {
      errors.push(`--${k}: must be a comma-separated list of whole numbers from ${min} to ${max} (or none), got "${v}"`);
      return undefined;
    }
    return [...new Set(nums)];
  };

  o.workers = list('workers', 1, 64) ?? o.workers;
  o.durationSec = seconds('duration', 1, 3600) ?? o.durationSec;
  o.rounds = int('rounds', 1, 100) ?? o.rounds;
  o.warmupSec = seconds('warmup', 0, 600) ?? o.warmupSec;
  o.zoneRecords = int('zone-records', 10, 10_000_000) ?? o.zoneRecords;
  o.clients = int('clients', 1, 256) ?? o.clients;
  o.outstanding = int('outstanding', 1, 65_535) ?? o.outstanding;
  o.queries = int('queries', 1, 10_000_000) ?? o.queries;
  o.seed = int('seed', 0, 2 ** 32 - 1) ?? o.seed;
  o.scale = list('scale', 10, 50_000_000) ?? o.scale;
  o.scaleWorkers = int('scale-workers', 1, 64) ?? o.scaleWorkers;
  o.out = str('out') ?? o.out;
  o.help = values.help === true;

  const zone = str('zone');
  if (zone !== undefined) {
    const eq = zone.indexOf('=');
    if (eq <= 0 || eq === zone.length - 1) errors.push(`--zone: must be ORIGIN=FILE, e.g. example.com.=zones/example.com.zone, got "${zone}"`);
    else {
      const origin = zone.slice(0, eq);
      o.zone = { origin: origin.endsWith('.') ? origin : `${origin}.`, file: zone.slice(eq + 1) };
    }
  }
  const peers = str('peers');
  if (peers !== undefined) {
    if (peers === 'none') o.peers = [];
    else {
      const items = [...new Set(peers.split(',').map((s) => s.trim()))];
      const bad = items.filter((p) => p === 'shardns' || !(SERVER_KINDS as readonly string[]).includes(p));
      if (bad.length > 0 || items.length === 0) errors.push(`--peers: must be nsd, knot, nsd,knot or none, got "${peers}"`);
      else o.peers = items as PeerKind[];
    }
  }
  return errors.length > 0 ? { ok: false, errors } : { ok: true, options: o };
}
