/**
 * `npm run bench`: the load test (dnsperf against shardns variants, NSD, Knot
 * DNS, dns2 and the kernel floor in one run, alternating), worker balance, the cached-forwarding
 * scenario, the cache-missing load test, both load tests on the zone signed
 * at run time with DO=1 (signed, signed-miss) and zone scale; prints a
 * markdown report and writes JSON and an SVG chart to bench/results/.
 */

import { spawnSync } from 'node:child_process';
import { chmodSync, closeSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { availableParallelism, cpus, release, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { formatDiagnostic, loadZoneFile, type Zone } from '../src/zone/index.js';
import { VERSION } from '../src/version.js';
import { addShares, maxMinRatio, type WorkerShare } from './balance.js';
import { dnsperfUnavailable, dnsperfVersion, runDnsperf } from './dnsperf.js';
import { forwardQueries, forwardSettings, forwardTest, SHARDNS_DEFAULT_CACHE_SIZE } from './forward.js';
import { generateZone } from './gen-zone.js';
import { measureRun } from './measure.js';
import { missQueryLines, parseOptions, USAGE, type RunOptions } from './options.js';
import { freePort } from './ports.js';
import { busyCores, clockTicks, systemCpu } from './procstat.js';
import { ProcessGroups } from './processes.js';
import { generateQueries, toDnsperfFile, type Query, type QueryFile } from './queries.js';
import { int, renderMarkdown } from './report.js';
import type { BalanceEntry, BenchMeta, BenchResult, LoadRun, LoadSetup, SignedResult } from './result.js';
import { checkSigned, digUnavailable, pickSamples, serverSigning, type SignedSample } from './signed-check.js';
import { ALGORITHM, signingUnavailable, signZone } from './signzone.js';
import { dnsperfBinaryChunks, SIGNED_QUERY } from './wire-queries.js';
import { measureScale } from './scale.js';
import { isFloor } from './floor.js';
import { MAX_WORKERS, ROOT, runLabel, SERVER_LABEL, serverUnavailable, serverVersion, startServer, type Probe, type ServerHandle, type ServerKind, type ZoneUnderTest } from './servers.js';
import { renderChart } from './svg.js';
import { parseVariant, type ShardnsVariant } from './variants.js';

const log = (line: string): void => void process.stderr.write(`bench: ${line}\n`);

/** Records appended to the generated zone so the query file has wildcard hits (gen-zone.ts writes none). */
export const WILDCARD_BLOCK = [
  '; appended by bench/run.ts: wildcards (RFC 4592), so the query file has wildcard hits',
  '*.wild IN A 192.0.2.99',
  '*.wild IN AAAA 2001:db8::99',
  '*.wild IN TXT "wildcard"',
  '*.cdn IN CNAME edge',
  'edge IN A 192.0.2.98',
  'edge IN AAAA 2001:db8::98',
  '',
].join('\n');

/** The machine, the software and the commit. */
function describeMachine(servers: ServerKind[]): BenchMeta {
  const model = /^model name\s*:\s*(.+)$/m.exec(safeRead('/proc/cpuinfo'))?.[1]?.trim() ?? cpus()[0]?.model ?? 'unknown CPU';
  const git = (args: string[]): string | undefined => {
    const r = spawnSync('git', args, { cwd: ROOT, encoding: 'utf8' });
    return r.status === 0 ? r.stdout.trim() : undefined;
  };
  const head = git(['rev-parse', '--short', 'HEAD']);
  const dirty = git(['status', '--porcelain', '--untracked-files=no']);
  const versions: BenchMeta['versions'] = {};
  for (const k of servers) versions[k] = serverVersion(k, VERSION);
  return {
    date: new Date().toISOString(),
    node: process.version,
    cpuModel: model,
    cores: availableParallelism(),
    kernel: release(),
    dnsperf: dnsperfUnavailable() === null ? dnsperfVersion() : 'not installed',
    versions,
    ...(head ? { commit: dirty ? `${head}+dirty` : head } : {}),
  };
}

function safeRead(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

/** A question the zone answers with an address: the first owner with an A record, not a wildcard, not below a cut. */
export function addressProbe(zone: Zone): Probe | null {
  const cuts = [...zone.nodes].filter(([k, rs]) => k !== zone.origin && rs.some((r) => r.type === 'NS')).map(([k]) => k);
  for (const [key, records] of zone.nodes) {
    if (key.startsWith('*.') || cuts.some((c) => key === c || key.endsWith(`.${c}`))) continue;
    const a = records.find((r) => r.type === 'A');
    if (a) return { name: key, type: 'A', expect: String(a.data) };
  }
  return null;
}

/** The zone of the load test: the one given, or a generated one written to `dir`. */
function prepareZone(o: RunOptions, dir: string): { zone: ZoneUnderTest; loaded: Zone; generated: boolean } {
  let zone: ZoneUnderTest;
  let generated = false;
  if (o.zone) zone = { origin: o.zone.origin, file: resolve(o.zone.file) };
  else {
    zone = { origin: 'example.com.', file: join(dir, 'example.com.zone') };
    writeFileSync(zone.file, generateZone(o.zoneRecords, zone.origin) + WILDCARD_BLOCK);
    generated = true;
  }
  const r = loadZoneFile(zone.origin, zone.file);
  if (!r.ok) throw new Error(`zone ${zone.file} does not load:\n${r.errors.slice(0, 5).map(formatDiagnostic).join('\n')}`);
  return { zone, loaded: r.zone, generated };
}

/** One server to start and measure in the load test: a peer, or shardns with a variant's flags. */
export interface Entry {
  kind: ServerKind;
  variant?: ShardnsVariant;
}

/**
 * What runs at one worker count, in the order of a round: the shardns
 * variants, then the peers that can run with that many workers (dns2 is one
 * process: 1 worker only).
 */
export function entriesFor(workers: number, variants: readonly ShardnsVariant[], peers: readonly ServerKind[]): Entry[] {
  return [...variants.map((v): Entry => ({ kind: 'shardns', variant: v })), ...peers.filter((p) => workers <= (MAX_WORKERS[p] ?? Infinity)).map((kind): Entry => ({ kind }))];
}

/**
 * The servers in the order round `round` (from 1) measures them: as started
 * in odd rounds, reversed in even ones, so no server always follows the same
 * one (dns2 leaves the machine hot) or always goes first.
 */
export function inRoundOrder<T>(servers: readonly T[], round: number): T[] {
  return round % 2 === 0 ? [...servers].reverse() : [...servers];
}

/** One load-test scenario (`auth`, `miss`, a signed one): its worker counts, its query file, and where its runs go. */
interface LoadScenario {
  /** Prefix of the servers' folders and of log lines. */
  name: string;
  workers: number[];
  queryFile: string;
  /** The query file is dnsperf's binary format (dnsperf -B), for the warm-up and every run. */
  binary?: boolean;
  /** Called for each server once it answers, before the warm-up (the signed scenarios' signature check). */
  checkServer?: (s: ServerHandle) => Promise<void>;
  runs: LoadRun[];
  balance: BalanceEntry[];
}

/** The load test at every worker count: start every server, warm each up, then rounds of A B C, C B A, A B C, … */
async function loadTest(groups: ProcessGroups, o: RunOptions, entries: (workers: number) => Entry[], zone: ZoneUnderTest, probe: Probe, sc: LoadScenario, dir: string, result: BenchResult): Promise<void> {
  const hz = clockTicks();
  const queryFile = sc.queryFile;
  const binary = sc.binary === true ? { binary: true } : {};
  const load = { queryFile, durationSec: o.durationSec, clients: o.clients, outstanding: o.outstanding, ...binary };
  const tag = sc.name === 'auth' ? '' : `${sc.name}: `;
  for (const workers of sc.workers) {
    const running: ServerHandle[] = [];
    const ports = new Set<number>();
    for (const e of entries(workers)) {
      const label = `${tag}${runLabel(e.kind, e.variant?.name)}`;
      const sdir = join(dir, `${sc.name}-${e.kind}${e.variant ? `-${e.variant.name}` : ''}-${workers}`);
      mkdirSync(sdir, { recursive: true });
      try {
        const port = await freePort(ports);
        ports.add(port);
        const s = await startServer(groups, { kind: e.kind, workers, port, zone, dir: sdir, probe, timeoutMs: 60_000, ...(e.variant ? { variant: e.variant.name, args: e.variant.args } : {}) });
        log(`${label} with ${workers} worker${workers === 1 ? '' : 's'} answers on 127.0.0.1:${port} (ready after ${(s.readyMs / 1000).toFixed(2)} s)`);
        running.push(s);
      } catch (err) {
        result.errors.push(`${label} with ${workers} workers did not start: ${(err as Error).message}`);
        log(result.errors.at(-1)!);
      }
    }
    if (sc.checkServer) {
      for (const s of running) {
        try {
          await sc.checkServer(s);
        } catch (err) {
          result.errors.push(`${tag}checking ${runLabel(s.kind, s.variant)}'s replies failed: ${(err as Error).message}`);
          log(result.errors.at(-1)!.split('\n')[0]!);
        }
      }
    }
    if (o.warmupSec > 0) {
      for (const s of running) {
        try {
          await runDnsperf(groups, { port: s.port, queryFile, durationSec: o.warmupSec, clients: o.clients, outstanding: o.outstanding, timeoutSec: 2, ...binary });
        } catch (err) {
          log(`${tag}warm-up of ${runLabel(s.kind, s.variant)} failed: ${(err as Error).message.split('\n')[0]}`);
        }
      }
    }
    const shares = new Map<string, WorkerShare[][]>();
    for (let round = 1; round <= o.rounds; round++) {
      for (const s of inRoundOrder(running, round)) {
        const label = `${tag}${runLabel(s.kind, s.variant)}`;
        try {
          const m = await measureRun(groups, s, load, round, hz);
          sc.runs.push(m.run);
          if (m.shares) shares.set(s.variant ?? '', [...(shares.get(s.variant ?? '') ?? []), m.shares]);
          log(
            `${label} ×${workers} round ${round}: ${Math.round(m.run.dnsperf.qps).toLocaleString('en-US')} QPS, ` +
              `${m.run.cpuUsPerQuery.toFixed(1)} µs CPU/query, lost ${m.run.dnsperf.lost}, latency ${(m.run.dnsperf.latencyAvgSec * 1000).toFixed(2)} ms, machine ${m.run.machineBusyCores.toFixed(2)} CPUs busy`,
          );
        } catch (err) {
          result.errors.push(`${label} ×${workers} round ${round}: ${(err as Error).message}`);
          log(result.errors.at(-1)!.split('\n')[0]!);
        }
      }
    }
    for (const [variant, runs] of shares) {
      const total = addShares(runs);
      const entry: BalanceEntry = { workers, ...(variant !== '' ? { variant } : {}), shares: total, maxMin: maxMinRatio(total), clients: o.clients };
      sc.balance.push(entry);
    }
    for (const s of running) await groups.stop(s.process);
  }
}

/** Seconds the options will take, roughly (start-up, warm-up, rounds; not the zone-scale test). */
export function estimateSeconds(o: RunOptions, peers: readonly ServerKind[]): number {
  const variants = o.variants.map((v) => parseVariant(v)!);
  const perServer = 2 + o.warmupSec + o.rounds * (o.durationSec + 1);
  let sec = 0;
  if (o.scenarios.includes('auth')) for (const w of o.workers) sec += entriesFor(w, variants, peers).length * perServer;
  if (o.scenarios.includes('miss')) for (const w of o.missWorkers) sec += entriesFor(w, variants, peers).length * perServer;
  if (o.scenarios.includes('forward')) sec += o.forwardWorkers.length * o.forwardCache.length * (perServer + 2);
  const signedPeers = peers.filter(servesDnssec);
  for (const sc of ['signed', 'signed-miss'] as const) {
    if (o.scenarios.includes(sc)) for (const w of o.signedWorkers) sec += o.signed.length * entriesFor(w, variants, signedPeers).length * (perServer + 1);
  }
  return sec;
}

/** Peers that serve a signed zone's DNSSEC records: NSD and Knot (dns2 cannot encode them; the floor answers every query with one A record). */
export function servesDnssec(kind: ServerKind): boolean {
  return kind === 'nsd' || kind === 'knot';
}

/** Writes dnsperf's binary query file (bench/wire-queries.ts) in pieces: a flood file of millions of queries is never held whole. */
function writeBinaryQueryFile(path: string, queries: readonly Query[]): void {
  const fd = openSync(path, 'w');
  try {
    for (const chunk of dnsperfBinaryChunks(queries, SIGNED_QUERY)) writeSync(fd, chunk);
  } finally {
    closeSync(fd);
  }
}

/** One server's signature check in a log line: how many samples were signed and, if not all, the first one that was not and why. */
function describeCheck(checked: readonly SignedSample[]): string {
  const signed = checked.filter((c) => c.outcome.kind === 'signed').length;
  const first = checked.find((c) => c.outcome.kind !== 'signed');
  const head = `${signed} of ${checked.length} sample replies signed`;
  if (first === undefined) return head;
  const why = first.outcome.kind === 'unsigned' ? first.outcome.missing.join('; ') : first.outcome.kind === 'no-reply' ? `no reply: ${first.outcome.why}` : '';
  return `${head} — ${serverSigning(checked) === 'unsigned' ? 'unsigned answers' : 'signatures not checked'}: ${first.name} ${first.type}: ${why}`;
}

/** What the signed scenarios need from the run: the servers, the unsigned zone and its probe, the query files. */
interface SignedPlan {
  variants: readonly ShardnsVariant[];
  peers: readonly ServerKind[];
  zone: ZoneUnderTest;
  probe: Probe;
  /** The load test's setup (the unsigned zone, the auth query file). */
  setup: LoadSetup;
  /** The questions of each wanted scenario and where their binary file goes. */
  files: { scenario: SignedResult['scenario']; q: QueryFile; file: string }[];
  dir: string;
  result: BenchResult;
}

/**
 * The signed scenarios: for each denial method (--signed), the zone is
 * signed at run time (bench/signzone.ts) and the load test runs on it with
 * the wanted query files (the load test's questions, the cache-missing
 * file's), every query with DO=1 and EDNS 1232. Before each server's warm-up
 * a few sample questions of every kind are asked with dig and the replies
 * judged (bench/signed-check.ts), so the report can tell a server that
 * answered without DNSSEC records. dns2 and the floor serve none and are left
 * out.
 */
async function signedTests(groups: ProcessGroups, o: RunOptions, p: SignedPlan): Promise<void> {
  const { result } = p;
  const why = signingUnavailable() ?? digUnavailable();
  if (why !== null) {
    result.errors.push(`signed scenarios not run: ${why}`);
    log(result.errors.at(-1)!);
    return;
  }
  const peers = p.peers.filter(servesDnssec);
  const left = p.peers.filter((k) => !servesDnssec(k));
  if (left.length > 0) result.notes!.push(`${left.map((k) => SERVER_LABEL[k]).join(', ')}: left out of the signed scenarios, which ${left.length === 1 ? 'it' : 'they'} cannot serve (no DNSSEC records).`);
  const entries = (workers: number): Entry[] => entriesFor(workers, p.variants, peers);
  for (const f of p.files) writeBinaryQueryFile(f.file, f.q.queries);
  result.signed = [];
  for (const denial of o.signed) {
    const signed = await signZone(groups, { origin: p.zone.origin, input: p.zone.file, dir: join(p.dir, `sign-${denial}`), denial, cwd: dirname(p.zone.file) });
    if (signed.kind === 'failed') {
      result.errors.push(`signing ${p.zone.origin} with ${denial} failed at ${signed.step}: ${signed.message}`);
      log(result.errors.at(-1)!);
      continue;
    }
    const records = Object.values(signed.types).reduce((a, b) => a + b, 0);
    log(`signed ${p.zone.origin} (${denial}): ${records.toLocaleString('en-US')} records, ${(signed.types.RRSIG ?? 0).toLocaleString('en-US')} RRSIGs, in ${signed.seconds.toFixed(1)} s`);
    const zone: ZoneUnderTest = { origin: p.zone.origin, file: signed.file };
    for (const f of p.files) {
      const sr: SignedResult = {
        scenario: f.scenario,
        denial,
        signing: { signer: signed.signer, algorithm: ALGORITHM, seconds: signed.seconds, types: signed.types },
        query: SIGNED_QUERY,
        ...(f.scenario === 'signed-miss' ? { share: o.missShare } : {}),
        load: { zone: { ...p.setup.zone, records }, queries: { count: f.q.queries.length, seed: o.seed, kinds: f.q.kinds, types: f.q.types, mixedCase: f.q.mixedCase, notes: f.q.notes } },
        runs: [],
        balance: [],
        checks: [],
      };
      result.signed.push(sr);
      const samples = pickSamples(f.q.queries);
      const name = `${f.scenario}-${denial}`;
      const checkServer = async (s: ServerHandle): Promise<void> => {
        const checked = await checkSigned(groups, s.port, samples);
        const signing = serverSigning(checked);
        sr.checks.push({ server: s.kind, ...(s.variant !== undefined ? { variant: s.variant } : {}), workers: s.workers, signing, samples: checked });
        log(`${name}: ${runLabel(s.kind, s.variant)} ×${s.workers}: ${describeCheck(checked)}`);
      };
      log(`${name}: ${f.q.queries.length.toLocaleString('en-US')} queries with DO=1, EDNS ${SIGNED_QUERY.udpSize}`);
      await loadTest(groups, o, entries, zone, p.probe, { name, workers: o.signedWorkers, queryFile: f.file, binary: true, checkServer, runs: sr.runs, balance: sr.balance }, p.dir, result);
      if (f.scenario === 'signed-miss') {
        const past = sr.runs.filter((r) => r.dnsperf.sent > f.q.queries.length);
        if (past.length > 0) result.notes!.push(`Signed cache-missing scenario (${denial}): ${past.length} run(s) sent more queries than the file has lines (${int(f.q.queries.length)}): dnsperf started the file over (raise --miss-queries).`);
      }
    }
  }
}

/** Runs everything the options ask for; resolves with the exit code. */
export async function main(argv: string[]): Promise<number> {
  const parsed = parseOptions(argv, join(ROOT, 'bench/results'));
  if (!parsed.ok) {
    for (const e of parsed.errors) process.stderr.write(`bench: ${e}\n`);
    process.stderr.write(`\n${USAGE}`);
    return 2;
  }
  const o = parsed.options;
  if (o.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  const authWanted = o.scenarios.includes('auth') && o.workers.length > 0;
  const forwardWanted = o.scenarios.includes('forward') && o.forwardWorkers.length > 0;
  const missWanted = o.scenarios.includes('miss') && o.missWorkers.length > 0;
  const signedWanted = o.scenarios.includes('signed') && o.signedWorkers.length > 0;
  const signedMissWanted = o.scenarios.includes('signed-miss') && o.signedWorkers.length > 0;
  const anySigned = signedWanted || signedMissWanted;
  if (authWanted || forwardWanted || missWanted || anySigned) {
    const why = dnsperfUnavailable();
    if (why !== null) {
      process.stderr.write(`bench: ${why} (or run only the zone-scale test with --scenarios none)\n`);
      return 1;
    }
  }
  const skipped: BenchResult['skipped'] = [];
  const servers: ServerKind[] = ['shardns'];
  for (const p of o.peers) {
    const why = serverUnavailable(p);
    if (why === null) servers.push(p);
    else {
      skipped.push({ server: p, reason: why });
      log(`skipping ${SERVER_LABEL[p]}: ${why}`);
    }
  }

  const groups = new ProcessGroups();
  groups.installSignalHandlers((l) => process.stderr.write(`${l}\n`));
  const dir = mkdtempSync(join(tmpdir(), 'shardns-bench-'));
  // Started as root, shardns runs as an unprivileged user (nobody) that must read the zone files here.
  chmodSync(dir, 0o755);
  groups.onExit(() => rmSync(dir, { recursive: true, force: true }));

  const idle0 = systemCpu();
  await new Promise((r) => setTimeout(r, 1000));
  const backgroundBusyCores = busyCores(idle0, systemCpu(), availableParallelism());
  if (backgroundBusyCores > 0.2) log(`the machine is busy with other work (${backgroundBusyCores.toFixed(2)} CPUs before the start): numbers will be noisy`);
  const result: BenchResult = {
    schema: 1,
    meta: { ...describeMachine(servers), backgroundBusyCores },
    options: {
      workers: authWanted ? o.workers : [],
      durationSec: o.durationSec,
      rounds: o.rounds,
      warmupSec: o.warmupSec,
      clients: o.clients,
      outstanding: o.outstanding,
      servers,
      scale: o.scale,
      scaleWorkers: o.scaleWorkers,
      scaleTimeoutSec: o.scaleTimeoutSec,
      variants: o.variants,
      scenarios: o.scenarios,
      forwardCache: o.forwardCache,
      forwardWorkers: o.forwardWorkers,
      ...(missWanted || signedMissWanted ? { missShare: o.missShare } : {}),
      ...(missWanted ? { missWorkers: o.missWorkers } : {}),
      ...(anySigned ? { signed: o.signed, signedWorkers: o.signedWorkers } : {}),
    },
    load: null,
    runs: [],
    balance: [],
    scale: [],
    forward: null,
    notes: [],
    skipped,
    errors: [],
  };
  const peers = servers.filter((k) => k !== 'shardns');
  const variants = o.variants.map((v) => parseVariant(v)!);
  const entries = (workers: number): Entry[] => entriesFor(workers, variants, peers);
  if ((authWanted || missWanted) && peers.some(isFloor)) {
    result.notes!.push('The floor (bench/floor/udp-floor.c) answers every query with one A record, whatever the zone holds: its rows are the cost of the I/O alone, not of answering.');
  }
  if (authWanted || missWanted) {
    const counts = [...new Set([...(authWanted ? o.workers : []), ...(missWanted ? o.missWorkers : [])])];
    for (const p of peers) {
      const max = MAX_WORKERS[p];
      if (max !== undefined && counts.some((w) => w > max)) result.notes!.push(`${SERVER_LABEL[p]} runs as one process: it is measured with ${max} worker only (left out at ${counts.filter((w) => w > max).join(', ')} workers).`);
    }
  }
  const wanted = { auth: authWanted, forward: forwardWanted, miss: missWanted, signed: signedWanted, 'signed-miss': signedMissWanted };
  const minutes = Math.ceil(estimateSeconds({ ...o, scenarios: o.scenarios.filter((x) => wanted[x]) }, peers) / 60);
  log(`about ${minutes} min for the load tests${o.scale.length > 0 ? ', then the zone scale test (up to a few minutes for 1M records)' : ''}; Ctrl-C stops everything`);

  try {
    if (authWanted || forwardWanted || missWanted || anySigned) {
      const z = prepareZone(o, dir);
      const probe = addressProbe(z.loaded);
      if (probe === null) throw new Error(`zone ${z.zone.file} has no A record to check answers with`);
      const q = generateQueries(z.loaded, { count: o.queries, seed: o.seed });
      const queryFile = join(dir, 'queries.txt');
      writeFileSync(queryFile, toDnsperfFile(q.queries));
      const setup: LoadSetup = {
        zone: { origin: z.zone.origin, file: z.generated ? `generated: gen-zone ${o.zoneRecords} records + wildcards` : z.zone.file, records: z.loaded.size, generated: z.generated },
        queries: { count: q.queries.length, seed: o.seed, kinds: q.kinds, types: q.types, mixedCase: q.mixedCase, notes: q.notes },
      };
      result.load = setup;
      for (const n of q.notes) log(`query file: ${n}`);
      if (authWanted) await loadTest(groups, o, entries, z.zone, probe, { name: 'auth', workers: o.workers, queryFile, runs: result.runs, balance: result.balance }, dir, result);
      if (forwardWanted) {
        const f = forwardQueries(q.queries);
        const forwardFile = join(dir, 'forward-queries.txt');
        writeFileSync(forwardFile, toDnsperfFile(f.queries));
        const settings = forwardSettings(o.forwardCache, f.distinctQuestions);
        result.forward = {
          queries: f.queries.length,
          distinctQuestions: f.distinctQuestions,
          leftOut: f.leftOut,
          upstream: 'shardns, 1 worker, --forward none, the same zone; one upstream per forwarder',
          defaultCacheSize: SHARDNS_DEFAULT_CACHE_SIZE,
          fills: [],
          runs: [],
        };
        log(`forwarding scenario: ${f.queries.length.toLocaleString('en-US')} queries, ${f.distinctQuestions.toLocaleString('en-US')} distinct questions (${f.leftOut.toLocaleString('en-US')} below a delegation left out)`);
        await forwardTest(
          {
            groups,
            zone: z.zone,
            probe,
            queryFile: forwardFile,
            load: { queryFile: forwardFile, durationSec: o.durationSec, clients: o.clients, outstanding: o.outstanding },
            warmupSec: o.warmupSec,
            rounds: o.rounds,
            workers: o.forwardWorkers,
            settings,
            dir,
            hz: clockTicks(),
            log,
            errors: result.errors,
          },
          result.forward,
        );
      }
      // The cache-missing file, made once for miss and signed-miss.
      let missQueryFile: QueryFile | undefined;
      const missQueries = (): QueryFile => (missQueryFile ??= generateQueries(z.loaded, { count: missQueryLines(o), seed: o.seed, randomSubdomain: o.missShare }));
      if (missWanted) {
        const m = missQueries();
        const missFile = join(dir, 'miss-queries.txt');
        writeFileSync(missFile, toDnsperfFile(m.queries));
        result.miss = {
          share: o.missShare,
          load: { zone: setup.zone, queries: { count: m.queries.length, seed: o.seed, kinds: m.kinds, types: m.types, mixedCase: m.mixedCase, notes: m.notes } },
          runs: [],
          balance: [],
        };
        log(`cache-missing scenario: ${m.queries.length.toLocaleString('en-US')} queries, ${m.kinds.random.toLocaleString('en-US')} of them fresh random names`);
        await loadTest(groups, o, entries, z.zone, probe, { name: 'miss', workers: o.missWorkers, queryFile: missFile, runs: result.miss.runs, balance: result.miss.balance }, dir, result);
        const past = result.miss.runs.filter((r) => r.dnsperf.sent > m.queries.length);
        if (past.length > 0) result.notes!.push(`Cache-missing scenario: ${past.length} run(s) sent more queries than the file has lines (${int(m.queries.length)}): dnsperf started the file over, so those runs asked names again (raise --miss-queries).`);
      }
      if (anySigned) {
        const files: { scenario: SignedResult['scenario']; q: QueryFile; file: string }[] = [];
        if (signedWanted) files.push({ scenario: 'signed', q, file: join(dir, 'signed-queries.bin') });
        if (signedMissWanted) files.push({ scenario: 'signed-miss', q: missQueries(), file: join(dir, 'signed-miss-queries.bin') });
        await signedTests(groups, o, { variants, peers, zone: z.zone, probe, setup, files, dir, result });
      }
    }
    if (o.scale.length > 0) {
      // dns2 loads the zone with shardns's own loader: its load time would say nothing new; the floor loads no zone.
      const scaleServers = servers.filter((k) => k !== 'dns2' && !isFloor(k));
      result.scale = await measureScale(groups, { sizes: o.scale, servers: scaleServers, workers: o.scaleWorkers, dir, origin: 'example.com.', timeoutMs: o.scaleTimeoutSec * 1000, log });
    }
  } catch (err) {
    result.errors.push((err as Error).message);
    log((err as Error).message);
  } finally {
    await groups.stopAll();
  }

  mkdirSync(o.out, { recursive: true });
  const stamp = result.meta.date.replace(/[:.]/g, '-').slice(0, 19);
  const jsonFile = join(o.out, `bench-${stamp}.json`);
  const svgFile = join(o.out, `bench-${stamp}.svg`);
  writeFileSync(jsonFile, JSON.stringify(result, null, 2) + '\n');
  writeFileSync(svgFile, renderChart(result));
  process.stdout.write(renderMarkdown(result));
  log(`wrote ${jsonFile} and ${svgFile}`);
  rmSync(dir, { recursive: true, force: true });
  return result.errors.length > 0 ? 1 : 0;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  process.exitCode = await main(process.argv.slice(2));
}
