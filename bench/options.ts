/** The benchmark's command-line options: defaults, parsing and validation (every problem reported at once). */

import { parseArgs } from 'node:util';
import { SERVER_KINDS, type PeerKind } from './servers.js';
import { DENIALS, type Denial } from './signzone.js';
import { DEFAULT_VARIANT, parseVariant } from './variants.js';

/**
 * What a run measures: the load test against every server, the cached-forwarding scenario, the cache-missing load test,
 * and both load tests again on the zone signed at run time, every query with DO=1 (`signed`, `signed-miss`).
 */
export const SCENARIOS = ['auth', 'forward', 'miss', 'signed', 'signed-miss'] as const;
/** One of {@link SCENARIOS}. */
export type Scenario = (typeof SCENARIOS)[number];

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
  /** shardns variants measured side by side in the load test (names as in bench/variants.ts). */
  variants: string[];
  scenarios: Scenario[];
  /** Forwarding scenario: cache settings of the forwarding shardns (`on`, `default`, `off`, or entries). */
  forwardCache: string[];
  /** Forwarding scenario: worker counts of the forwarding shardns. */
  forwardWorkers: number[];
  /** Cache-missing scenarios (miss, signed-miss): share of the query file that is a random-subdomain flood (fresh names that do not exist). */
  missShare: number;
  /** Cache-missing scenario: worker counts (every server, as in the load test). */
  missWorkers: number[];
  /** Cache-missing scenario: lines of its query file, or null for {@link missQueryLines} of the duration. */
  missQueries: number | null;
  /** Signed scenarios: how the signed zone proves a name or type absent (each one signed and measured in turn). */
  signed: Denial[];
  /** Signed scenarios: worker counts (every server, as in the load test). */
  signedWorkers: number[];
  clients: number;
  outstanding: number;
  queries: number;
  seed: number;
  /** Generated zone sizes for the zone-scale step; empty: skip it. */
  scale: number[];
  /** Worker counts each server gets in the zone-scale step (each size is measured at each). */
  scaleWorkers: number[];
  /** Zone-scale step: longest wait for one server to give its first correct answer (and, for shardns, for all workers to be ready). */
  scaleTimeoutSec: number;
  /** Folder for the JSON result and the SVG chart. */
  out: string;
  help: boolean;
}

/** The defaults: 1 and 2 workers, 10 s runs, 2 rounds, NSD, Knot and dns2, shardns as shipped, forwarding with and without cache at 1 worker, 10k/100k/1M zone scale. */
export const DEFAULTS: Omit<RunOptions, 'out'> = {
  workers: [1, 2],
  durationSec: 10,
  rounds: 2,
  warmupSec: 2,
  zone: null,
  zoneRecords: 10_000,
  peers: ['nsd', 'knot', 'dns2'],
  variants: [DEFAULT_VARIANT],
  scenarios: ['auth', 'forward'],
  forwardCache: ['on', 'off'],
  forwardWorkers: [1],
  missShare: 0.8,
  missWorkers: [1],
  missQueries: null,
  signed: ['nsec3'],
  signedWorkers: [1],
  clients: 8,
  outstanding: 200,
  queries: 50_000,
  seed: 1,
  scale: [10_000, 100_000, 1_000_000],
  scaleWorkers: [1],
  scaleTimeoutSec: 300,
  help: false,
};

/** Query-file lines the cache-missing scenario writes per second of --duration: more than any server here answers (~150k QPS), so no run reaches the end of the file and asks its names again. */
export const MISS_LINES_PER_SECOND = 200_000;

/** Lines of the cache-missing scenario's query file: --miss-queries, or enough for one run of the longest of --duration and --warmup without starting over. */
export function missQueryLines(o: Pick<RunOptions, 'missQueries' | 'durationSec' | 'warmupSec' | 'queries'>): number {
  return o.missQueries ?? Math.max(o.queries, Math.ceil(Math.max(o.durationSec, o.warmupSec) * MISS_LINES_PER_SECOND));
}

/** The --help text. */
export const USAGE = `usage: npm run bench -- [options]      (or: node dist/bench/run.js [options])

Load test with dnsperf against shardns (one or more variants) and, when
installed, NSD, Knot DNS and the npm dns2 server (same zone, same query file,
same worker count, runs alternating); then shardns forwarding to an upstream
from its cache; when asked, the cache-missing and signed-zone load tests;
then the zone-scale test. Loopback only; every process it starts is stopped,
also on Ctrl-C.

  --scenarios LIST     auth (load test against every server), forward (cached forwarding), miss (load test
                       with a random-subdomain flood the reply cache cannot help with), signed, signed-miss
                       (auth and miss on the zone signed at run time, DO=1, EDNS 1232); default auth,forward
  --workers LIST       worker counts to measure, e.g. 1,2 (default 1,2); none: skip the load test
  --duration SEC       length of each measured dnsperf run (default 10)
  --rounds N           measured runs per server and worker count, servers in turn,
                       every second round in reverse order (default 2)
  --warmup SEC         unmeasured dnsperf run per server before the first round (default 2; 0: none);
                       the forwarding scenario warms up with one pass through the query file instead
  --zone ORIGIN=FILE   zone to serve (default: a generated zone of --zone-records records plus wildcards)
  --zone-records N     size of the generated zone (default 10000)
  --peers LIST         any of nsd, knot, dns2 (default nsd,knot,dns2), or none; dns2 runs with 1 worker only;
                       also floor-recvfrom, floor-mmsg, floor-block, floor-uring: the kernel floor, a C responder doing
                       almost nothing per query (bench/floor/udp-floor.c, built with cc)
  --variants LIST      shardns variants side by side: default (as shipped), mmsg, dgram, thread, each optionally
                       with -nocache (--answer-cache 0) or -cacheN, e.g. mmsg,dgram,mmsg-nocache (default: default)
  --forward-cache LIST forwarding scenario: cache settings of the forwarding shardns: on (sized to hold every
                       question of the file), default (shardns's --cache-size default), off (0), or entries (default on,off)
  --forward-workers LIST  forwarding scenario: workers of the forwarding shardns (default 1)
  --miss-share X       miss and signed-miss: share of queries for fresh random names under the zone that do not
                       exist (1-3 random labels, each name asked about once); the rest is the auth mix (default 0.8)
  --miss-workers LIST  miss scenario: worker counts of every server (default 1)
  --miss-queries N     miss scenario: lines of its query file (default: 200000 per second of --duration,
                       so no run starts the file over); also signed-miss's
  --signed LIST        signed scenarios: nsec, nsec3 (no salt, 0 extra iterations, RFC 9276) or both, each
                       signed with dnssec-signzone and measured in turn (default nsec3)
  --signed-workers LIST  signed scenarios: worker counts of every server (default 1)
  --clients N          dnsperf clients (-c): source sockets, each one flow the kernel hashes to one worker (default 8)
  --outstanding N      dnsperf queries in flight at most (-q, over all clients; default 200)
  --queries N          lines in the query file (default 50000)
  --seed N             seed of the query file (default 1)
  --scale LIST         zone-scale sizes in records, e.g. 10000,100000,1000000 (default); none: skip
  --scale-workers LIST workers each server gets in the zone-scale test, e.g. 2,4 (default 1)
  --scale-timeout SEC  zone-scale test: longest wait for one server's first correct answer (default 300)
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
        variants: { type: 'string' },
        scenarios: { type: 'string' },
        'forward-cache': { type: 'string' },
        'forward-workers': { type: 'string' },
        'miss-share': { type: 'string' },
        'miss-workers': { type: 'string' },
        'miss-queries': { type: 'string' },
        signed: { type: 'string' },
        'signed-workers': { type: 'string' },
        clients: { type: 'string' },
        outstanding: { type: 'string' },
        queries: { type: 'string' },
        seed: { type: 'string' },
        scale: { type: 'string' },
        'scale-workers': { type: 'string' },
        'scale-timeout': { type: 'string' },
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
  o.forwardWorkers = list('forward-workers', 1, 64) ?? o.forwardWorkers;
  o.missWorkers = list('miss-workers', 1, 64) ?? o.missWorkers;
  o.missQueries = int('miss-queries', 1, 50_000_000) ?? o.missQueries;
  o.signedWorkers = list('signed-workers', 1, 64) ?? o.signedWorkers;
  o.durationSec = seconds('duration', 1, 3600) ?? o.durationSec;
  o.rounds = int('rounds', 1, 100) ?? o.rounds;
  o.warmupSec = seconds('warmup', 0, 600) ?? o.warmupSec;
  o.zoneRecords = int('zone-records', 10, 10_000_000) ?? o.zoneRecords;
  o.clients = int('clients', 1, 256) ?? o.clients;
  o.outstanding = int('outstanding', 1, 65_535) ?? o.outstanding;
  o.queries = int('queries', 1, 10_000_000) ?? o.queries;
  o.seed = int('seed', 0, 2 ** 32 - 1) ?? o.seed;
  o.scale = list('scale', 10, 50_000_000) ?? o.scale;
  o.scaleWorkers = list('scale-workers', 1, 64) ?? o.scaleWorkers;
  if (o.scaleWorkers.length === 0) {
    errors.push('--scale-workers: must name at least one worker count (skip the zone-scale test with --scale none)');
    o.scaleWorkers = DEFAULTS.scaleWorkers;
  }
  o.scaleTimeoutSec = seconds('scale-timeout', 1, 86_400) ?? o.scaleTimeoutSec;
  const share = str('miss-share');
  if (share !== undefined) {
    const x = Number(share);
    if (share.trim() === '' || !Number.isFinite(x) || x <= 0 || x > 1) errors.push(`--miss-share: must be a share above 0 and at most 1, e.g. 0.8, got "${share}"`);
    else o.missShare = x;
  }
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
      if (bad.length > 0 || items.length === 0) errors.push(`--peers: must be a comma-separated list of nsd, knot, dns2, floor-recvfrom, floor-mmsg, floor-block, floor-uring (or none), got "${peers}"`);
      else o.peers = items as PeerKind[];
    }
  }
  const variants = str('variants');
  if (variants !== undefined) {
    const items = [...new Set(variants.split(',').map((s) => s.trim()))];
    const bad = items.filter((v) => parseVariant(v) === null);
    if (bad.length > 0 || items.length === 0) errors.push(`--variants: each must be default, mmsg, dgram or thread, optionally followed by -nocache or -cacheN (e.g. mmsg,dgram,mmsg-nocache), got "${variants}"`);
    else o.variants = items;
  }
  const scenarios = str('scenarios');
  if (scenarios !== undefined) {
    const items = scenarios === 'none' ? [] : [...new Set(scenarios.split(',').map((s) => s.trim()))];
    if (items.some((x) => !(SCENARIOS as readonly string[]).includes(x))) errors.push(`--scenarios: must be a comma-separated list of ${SCENARIOS.join(', ')} (or none), got "${scenarios}"`);
    else o.scenarios = items as Scenario[];
  }
  const signed = str('signed');
  if (signed !== undefined) {
    const items = [...new Set(signed.split(',').map((s) => s.trim()))];
    if (items.length === 0 || !items.every((x) => (DENIALS as readonly string[]).includes(x))) errors.push(`--signed: must be nsec, nsec3 or nsec,nsec3 (how the signed zone proves names absent), got "${signed}"`);
    else o.signed = items as Denial[];
  }
  const cache = str('forward-cache');
  if (cache !== undefined) {
    const items = [...new Set(cache.split(',').map((s) => s.trim()))];
    const ok = (x: string): boolean => x === 'on' || x === 'off' || x === 'default' || (/^\d+$/.test(x) && Number(x) <= 10_000_000);
    if (items.length === 0 || !items.every(ok)) errors.push(`--forward-cache: each must be on, default, off or a number of entries up to 10000000, got "${cache}"`);
    else o.forwardCache = items;
  }
  return errors.length > 0 ? { ok: false, errors } : { ok: true, options: o };
}
