/**
 * `npm run bench`: the load test (dnsperf against shardns, NSD and Knot DNS in
 * one run, alternating), worker balance and zone scale; prints a markdown
 * report and writes JSON and an SVG chart to bench/results/.
 */

import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, release, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { formatDiagnostic, loadZoneFile, type Zone } from '../src/zone/index.js';
import { VERSION } from '../src/version.js';
import { addShares, maxMinRatio, readCounters, sharesBetween, type WorkerCounters, type WorkerShare } from './balance.js';
import { dnsperfUnavailable, dnsperfVersion, runDnsperf } from './dnsperf.js';
import { generateZone } from './gen-zone.js';
import { parseOptions, USAGE, type RunOptions } from './options.js';
import { freePort } from './ports.js';
import { busyCores, clockTicks, cpuSecondsBetween, groupMemoryMB, sampleCpu, systemCpu } from './procstat.js';
import { ProcessGroups } from './processes.js';
import { generateQueries, toDnsperfFile } from './queries.js';
import { renderMarkdown } from './report.js';
import type { BalanceEntry, BenchMeta, BenchResult, LoadRun, LoadSetup } from './result.js';
import { measureScale } from './scale.js';
import { ROOT, SERVER_LABEL, serverUnavailable, serverVersion, startServer, type Probe, type ServerHandle, type ServerKind, type ZoneUnderTest } from './servers.js';
import { renderChart } from './svg.js';

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

/** One measured dnsperf run against one running server. */
async function measure(groups: ProcessGroups, s: ServerHandle, o: RunOptions, queryFile: string, round: number, hz: number): Promise<{ run: LoadRun; shares?: WorkerShare[] }> {
  let before: WorkerCounters[] | undefined;
  // Counters are read outside the CPU window: asking for them costs the supervisor and workers a little.
  if (s.kind === 'shardns') before = await readCounters(s.process, s.workers);
  const sys0 = systemCpu();
  const cpu0 = sampleCpu(s.process.pgid);
  const { stats } = await runDnsperf(groups, { port: s.port, queryFile, durationSec: o.durationSec, clients: o.clients, outstanding: o.outstanding, timeoutSec: 2 });
  const cpu1 = sampleCpu(s.process.pgid);
  const sys1 = systemCpu();
  const mem = groupMemoryMB(s.process.pgid);
  const cpuSec = cpuSecondsBetween(cpu0, cpu1, hz);
  const run: LoadRun = {
    server: s.kind,
    workers: s.workers,
    round,
    dnsperf: stats,
    cpuSec,
    cpuUsPerQuery: stats.completed > 0 ? (cpuSec / stats.completed) * 1e6 : NaN,
    rssMB: mem.rssMB,
    peakRssMB: mem.peakMB,
    pssMB: mem.pssMB,
    machineBusyCores: busyCores(sys0, sys1, availableParallelism()),
  };
  if (s.kind !== 'shardns' || before === undefined) return { run };
  const after = await readCounters(s.process, s.workers);
  return { run, shares: sharesBetween(before, after) };
}

/** The load test at every worker count: start every server, warm each up, then rounds of A B C. */
async function loadTest(groups: ProcessGroups, o: RunOptions, servers: ServerKind[], zone: ZoneUnderTest, probe: Probe, queryFile: string, dir: string, result: BenchResult): Promise<void> {
  const hz = clockTicks();
  for (const workers of o.workers) {
    const running: ServerHandle[] = [];
    const ports = new Set<number>();
    for (const kind of servers) {
      const sdir = join(dir, `${kind}-${workers}`);
      mkdirSync(sdir, { recursive: true });
      try {
        const port = await freePort(ports);
        ports.add(port);
        const s = await startServer(groups, { kind, workers, port, zone, dir: sdir, probe, timeoutMs: 60_000 });
        log(`${SERVER_LABEL[kind]} with ${workers} worker${workers === 1 ? '' : 's'} answers on 127.0.0.1:${port} (ready after ${(s.readyMs / 1000).toFixed(2)} s)`);
        running.push(s);
      } catch (err) {
        result.errors.push(`${SERVER_LABEL[kind]} with ${workers} workers did not start: ${(err as Error).message}`);
        log(result.errors.at(-1)!);
      }
    }
    if (o.warmupSec > 0) {
      for (const s of running) {
        try {
          await runDnsperf(groups, { port: s.port, queryFile, durationSec: o.warmupSec, clients: o.clients, outstanding: o.outstanding, timeoutSec: 2 });
        } catch (err) {
          log(`warm-up of ${s.kind} failed: ${(err as Error).message.split('\n')[0]}`);
        }
      }
    }
    const shares: WorkerShare[][] = [];
    for (let round = 1; round <= o.rounds; round++) {
      for (const s of running) {
        try {
          const m = await measure(groups, s, o, queryFile, round, hz);
          result.runs.push(m.run);
          if (m.shares) shares.push(m.shares);
          log(
            `${SERVER_LABEL[s.kind]} ×${workers} round ${round}: ${Math.round(m.run.dnsperf.qps).toLocaleString('en-US')} QPS, ` +
              `${m.run.cpuUsPerQuery.toFixed(1)} µs CPU/query, lost ${m.run.dnsperf.lost}, latency ${(m.run.dnsperf.latencyAvgSec * 1000).toFixed(2)} ms, machine ${m.run.machineBusyCores.toFixed(2)} CPUs busy`,
          );
        } catch (err) {
          result.errors.push(`${SERVER_LABEL[s.kind]} ×${workers} round ${round}: ${(err as Error).message}`);
          log(result.errors.at(-1)!.split('\n')[0]!);
        }
      }
    }
    if (shares.length > 0) {
      const total = addShares(shares);
      const entry: BalanceEntry = { workers, shares: total, maxMin: maxMinRatio(total), clients: o.clients };
      result.balance.push(entry);
    }
    for (const s of running) await groups.stop(s.process);
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
  if (o.workers.length > 0) {
    const why = dnsperfUnavailable();
    if (why !== null) {
      process.stderr.write(`bench: ${why} (or skip the load test with --workers none)\n`);
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
  groups.onExit(() => rmSync(dir, { recursive: true, force: true }));

  const idle0 = systemCpu();
  await new Promise((r) => setTimeout(r, 1000));
  const backgroundBusyCores = busyCores(idle0, systemCpu(), availableParallelism());
  if (backgroundBusyCores > 0.2) log(`the machine is busy with other work (${backgroundBusyCores.toFixed(2)} CPUs before the start): numbers will be noisy`);
  const result: BenchResult = {
    schema: 1,
    meta: { ...describeMachine(servers), backgroundBusyCores },
    options: { workers: o.workers, durationSec: o.durationSec, rounds: o.rounds, warmupSec: o.warmupSec, clients: o.clients, outstanding: o.outstanding, servers, scale: o.scale, scaleWorkers: o.scaleWorkers },
    load: null,
    runs: [],
    balance: [],
    scale: [],
    skipped,
    errors: [],
  };
  const perWorkers = servers.length * (2 + o.warmupSec + o.rounds * (o.durationSec + 1));
  log(`about ${Math.ceil((perWorkers * o.workers.length) / 60)} min for the load test${o.scale.length > 0 ? ', then the zone scale test (up to a few minutes for 1M records)' : ''}; Ctrl-C stops everything`);

  try {
    if (o.workers.length > 0) {
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
      await loadTest(groups, o, servers, z.zone, probe, queryFile, dir, result);
    }
    if (o.scale.length > 0) {
      result.scale = await measureScale(groups, { sizes: o.scale, servers, workers: o.scaleWorkers, dir, origin: 'example.com.', timeoutMs: 300_000, log });
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
