import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dnsperfUnavailable } from '../../bench/dnsperf.js';
import { buildFloor } from '../../bench/floor.js';
import { generateZone } from '../../bench/gen-zone.js';
import { freePort } from '../../bench/ports.js';
import { ProcessGroups } from '../../bench/processes.js';
import { groupPids } from '../../bench/procstat.js';
import { generateQueries } from '../../bench/queries.js';
import type { BenchResult } from '../../bench/result.js';
import { addressProbe } from '../../bench/run.js';
import { serverUnavailable, startServer } from '../../bench/servers.js';
import { checkSigned, digUnavailable, pickSamples, serverSigning } from '../../bench/signed-check.js';
import { signingUnavailable } from '../../bench/signzone.js';
import { loadZoneFile } from '../../src/zone/index.js';
import { ROOT, alive, childPids, until } from '../helpers/server.js';

const RUN = `${ROOT}dist/bench/run.js`;

/** Every process below `pid` (children, their children, …). */
function descendants(pid: number): number[] {
  const out: number[] = [];
  for (const c of childPids(pid)) out.push(c, ...descendants(c));
  return out;
}

/** The command name of a live process ('' when gone). */
function comm(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  } catch {
    return '';
  }
}

/**
 * Starts `node dist/bench/run.js ARGS` and, while it runs, notes every
 * process below it (shardns's supervisor and workers, dnsperf), so the test
 * can check afterwards that none is left.
 */
interface BenchRun {
  done: Promise<{ code: number | null; stdout: string; stderr: string }>;
  stderr: () => string;
  kill: (s: NodeJS.Signals) => void;
  running: () => boolean;
  seen: Map<number, string>;
}

/** The run of the current test, so a failed test still stops it (SIGINT: the benchmark then stops its servers). */
let current: BenchRun | undefined;

function runBench(args: string[], env: NodeJS.ProcessEnv): BenchRun {
  const proc = spawn(process.execPath, [RUN, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const seen = new Map<number, string>(); // pid → command name
  const watch = setInterval(() => {
    // The latest name: shardns renames its processes (process.title) after start.
    for (const p of descendants(proc.pid!)) seen.set(p, comm(p) || (seen.get(p) ?? ''));
  }, 25);
  let stdout = '';
  let stderr = '';
  proc.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  proc.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const done = new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) =>
    proc.on('close', (code) => {
      clearInterval(watch);
      resolve({ code, stdout, stderr });
    }),
  );
  current = { done, stderr: () => stderr, kill: (s) => proc.kill(s), running: () => proc.exitCode === null && proc.signalCode === null, seen };
  return current;
}

describe('bench smoke run (dnsperf against two shardns variants, dns2 and the kernel floor, one worker; cached forwarding; cache missing and the signed zone beside NSD)', function () {
  this.timeout(30_000);
  let work: string;

  before(function () {
    if (dnsperfUnavailable() !== null) {
      console.log('skip: dnsperf not installed — apt-get install dnsperf');
      this.skip();
    }
  });
  beforeEach(() => {
    work = mkdtempSync(join(tmpdir(), 'bench-smoke-'));
    // The bench's folders go in here; shardns started as root reads its zone files as nobody.
    chmodSync(work, 0o755);
  });
  afterEach(async () => {
    if (current?.running()) {
      current.kill('SIGINT');
      await Promise.race([current.done, new Promise((r) => setTimeout(r, 5000))]);
    }
    current = undefined;
    rmSync(work, { recursive: true, force: true });
  });

  it('measures for a few seconds and writes the table, the JSON and the SVG, leaving no process behind', async () => {
    const out = join(work, 'results');
    const run = runBench(
      ['--workers', '1', '--duration', '1', '--rounds', '1', '--warmup', '0', '--peers', 'dns2', '--variants', 'default,dgram', '--forward-cache', 'on', '--scale', 'none', '--zone-records', '500', '--queries', '2000', '--out', out],
      { TMPDIR: work },
    );
    const { code, stdout, stderr } = await run.done;
    expect(code, stderr).to.equal(0);
    expect(stdout).to.match(/^\| shardns \| 1 \| [\d,]+ \| [\d.]+ \|/m);
    expect(stdout).to.match(/^\| shardns dgram \| 1 \| [\d,]+ \| [\d.]+ \|/m);
    expect(stdout).to.match(/^\| dns2 \| 1 \| [\d,]+ \| [\d.]+ \|/m);
    expect(stdout).to.match(/^\| 1 \| shardns dgram \| dns2 \| [\d.]+× \| [\d.]+× \|/m);
    expect(stdout).to.include('### Worker balance');
    expect(stdout).to.match(/^\| cache on \([\d,]+ entries\) \| 1 \| [\d,]+ \| [\d.]+ \|/m);

    const files = readdirSync(out);
    const json = files.find((f) => f.endsWith('.json'));
    expect(json, files.join()).to.not.equal(undefined);
    expect(files.some((f) => f.endsWith('.svg'))).to.equal(true);
    const result = JSON.parse(readFileSync(join(out, json!), 'utf8')) as BenchResult;
    expect(result.errors).to.deep.equal([]);
    expect(result.runs.map((x) => `${x.server}/${x.variant ?? ''}`)).to.deep.equal(['shardns/default', 'shardns/dgram', 'dns2/']);
    const r = result.runs[0]!;
    expect(r.dnsperf.completed).to.be.greaterThan(1000);
    // dns2 answers the same file from the same zone: the same rcodes (authority and additional sections differ).
    const d = result.runs[2]!;
    expect(d.dnsperf.completed).to.be.greaterThan(500);
    expect(d.dnsperf.rcodes.NXDOMAIN! / d.dnsperf.completed).to.be.closeTo(r.dnsperf.rcodes.NXDOMAIN! / r.dnsperf.completed, 0.02);
    // Forwarding from the cache: the upstream saw each distinct question about once.
    const f = result.forward!;
    expect(f.runs).to.have.length(1);
    expect(f.runs[0]!.dnsperf.completed).to.be.greaterThan(1000);
    expect(f.runs[0]!.dnsperf.rcodes.REFUSED ?? 0).to.equal(0);
    expect(f.runs[0]!.upstreamQueries).to.be.within(1, f.distinctQuestions + 50);
    expect(f.runs[0]!.cpuUsPerQuery).to.be.within(0.5, 5000);
    expect(r.dnsperf.rcodes.NOERROR).to.be.greaterThan(0);
    expect(r.dnsperf.rcodes.NXDOMAIN).to.be.greaterThan(0);
    expect(r.dnsperf.rcodes.REFUSED ?? 0).to.equal(0);
    expect(r.cpuSec).to.be.greaterThan(0);
    expect(r.cpuUsPerQuery).to.be.within(0.5, 5000);
    expect(r.peakRssMB).to.be.greaterThan(10);
    // The worker's own count of replies agrees with what dnsperf saw answered.
    expect(result.balance).to.have.length(2);
    const shares = result.balance[0]!.shares;
    expect(shares).to.have.length(1);
    expect(shares[0]!.answered).to.be.within(r.dnsperf.completed, r.dnsperf.sent + 50);
    expect(result.load?.queries.kinds.absent).to.be.greaterThan(0);
    expect(result.load?.queries.kinds.wildcard).to.be.greaterThan(0);

    const names = [...run.seen.values()];
    expect(names.some((n) => n.startsWith('shardns superv')) && names.some((n) => n.startsWith('shardns worker')) && names.includes('dnsperf') && names.includes('dns2 peer'), names.join()).to.equal(true);
    expect([...run.seen.keys()].filter(alive).map(comm), 'processes left behind').to.deep.equal([]);
    expect(readdirSync(work).filter((f) => f.startsWith('shardns-bench-'))).to.deep.equal([]); // its temp folder is gone
  });

  it('measures the kernel floor beside shardns, every second round in reverse order, and stops it', async function () {
    const why = buildFloor();
    if (why !== null) {
      console.log(`skip: ${why}`);
      this.skip();
    }
    const out = join(work, 'results');
    const run = runBench(['--workers', '1', '--duration', '1', '--rounds', '2', '--warmup', '0', '--peers', 'floor-mmsg', '--scenarios', 'auth', '--scale', 'none', '--zone-records', '500', '--queries', '2000', '--out', out], { TMPDIR: work });
    const { code, stdout, stderr } = await run.done;
    expect(code, stderr).to.equal(0);
    expect(stdout).to.match(/^\| floor recvmmsg \| 1 \| [\d,]+ \([\d,]+–[\d,]+\) \| [\d.]+ \|/m);
    expect(stdout).to.match(/^\| 1 \| shardns \| floor recvmmsg \| [\d.]+× \| [\d.]+× \| [\d.]+× \([\d.]+×–[\d.]+×\) \|/m);
    expect(stdout).to.include('its rows are the cost of the I/O alone');
    const json = readdirSync(out).find((f) => f.endsWith('.json'))!;
    const result = JSON.parse(readFileSync(join(out, json), 'utf8')) as BenchResult;
    expect(result.errors).to.deep.equal([]);
    expect(result.runs.map((x) => `${x.server} ${x.round}`)).to.deep.equal(['shardns 1', 'floor-mmsg 1', 'floor-mmsg 2', 'shardns 2']);
    // The floor answers every question (the probe's address, NOERROR) and the harness counted its CPU.
    const floor = result.runs.filter((x) => x.server === 'floor-mmsg');
    for (const f of floor) {
      expect(f.dnsperf.completed).to.be.greaterThan(1000);
      expect(f.dnsperf.rcodes.NOERROR).to.equal(f.dnsperf.completed);
      expect(f.cpuSec).to.be.greaterThan(0);
    }
    expect(result.meta.versions['floor-mmsg']).to.match(/^built with /);
    expect([...run.seen.values()]).to.include('udp-floor');
    expect([...run.seen.keys()].filter(alive).map(comm), 'processes left behind').to.deep.equal([]);
  });

  it('runs the cache-missing scenario beside NSD, then a small zone-scale test with restarts, and stops everything', async function () {
    const why = serverUnavailable('nsd');
    if (why !== null) {
      console.log(`skip: ${why}`);
      this.skip();
    }
    const out = join(work, 'results');
    const run = runBench(
      ['--scenarios', 'miss', '--duration', '1', '--rounds', '1', '--warmup', '0', '--peers', 'nsd', '--zone-records', '500', '--miss-queries', '300000', '--scale', '2000', '--scale-workers', '1', '--scale-timeout', '20', '--out', out],
      { TMPDIR: work },
    );
    const { code, stdout, stderr } = await run.done;
    expect(code, stderr).to.equal(0);
    expect(stdout).to.include('### Load, cache missing (80 % random subdomains)');
    expect(stdout).to.match(/^\| shardns \| 1 \| [\d,]+ \| [\d.]+ \|/m);
    expect(stdout).to.match(/^\| NSD \| 1 \| [\d,]+ \| [\d.]+ \|/m);
    expect(stdout).to.match(/^\| 1 \| shardns \| NSD \| [\d.]+× \| [\d.]+× \|/m);
    expect(stdout).to.match(/^\| 2,000 \| [\d.]+ \| shardns \| 1 \| [\d.]+ \| [\d.]+ \| \d+ \| \d+ \|/m);
    const json = readdirSync(out).find((f) => f.endsWith('.json'))!;
    const result = JSON.parse(readFileSync(join(out, json), 'utf8')) as BenchResult;
    expect(result.errors).to.deep.equal([]);
    expect(result.runs).to.deep.equal([]);
    const m = result.miss!;
    expect(m.load.queries.kinds.random / m.load.queries.count).to.be.closeTo(0.8, 0.01);
    expect(m.runs.map((x) => x.server)).to.deep.equal(['shardns', 'nsd']);
    for (const r of m.runs) {
      // Both servers answer the same questions: mostly NXDOMAIN (the flood and the usual absent names).
      expect(r.dnsperf.completed).to.be.greaterThan(1000);
      expect(r.dnsperf.sent).to.be.lessThan(m.load.queries.count);
      expect(r.dnsperf.rcodes.NXDOMAIN! / r.dnsperf.completed, r.server).to.be.within(0.75, 0.9);
      expect(r.cpuUsPerQuery).to.be.within(0.5, 5000);
    }
    // Zone scale: each server started twice on the same zone, PSS read for every process.
    expect(result.scale.map((s) => `${s.server} ${s.ok} ${s.restart?.ok}`)).to.deep.equal(['shardns true true', 'nsd true true']);
    for (const s of result.scale) {
      expect(s.pssMB).to.be.within(1, s.rssMB!);
      expect(s.pssFromRss ?? 0).to.equal(0);
      expect(s.restart!.firstAnswerSec).to.be.greaterThan(0);
    }
    expect([...run.seen.keys()].filter(alive).map(comm), 'processes left behind').to.deep.equal([]);
    expect(readdirSync(work).filter((f) => f.startsWith('shardns-bench-'))).to.deep.equal([]);
  });

  it('runs the signed scenario beside NSD: signs the zone with NSEC3, checks each server\'s replies for DNSSEC, withholds ratios against unsigned answers', async function () {
    const why = signingUnavailable() ?? digUnavailable() ?? serverUnavailable('nsd');
    if (why !== null) {
      console.log(`skip: ${why}`);
      this.skip();
    }
    const out = join(work, 'results');
    const run = runBench(['--scenarios', 'signed', '--signed', 'nsec3', '--duration', '1', '--rounds', '1', '--warmup', '0', '--peers', 'nsd', '--zone-records', '500', '--queries', '2000', '--scale', 'none', '--out', out], { TMPDIR: work });
    const { code, stdout, stderr } = await run.done;
    expect(code, stderr).to.equal(0);
    const json = readdirSync(out).find((f) => f.endsWith('.json'))!;
    const result = JSON.parse(readFileSync(join(out, json), 'utf8')) as BenchResult;
    expect(result.errors).to.deep.equal([]);
    expect(result.runs).to.deep.equal([]);
    expect(result.signed).to.have.length(1);
    const sr = result.signed![0]!;
    expect([sr.scenario, sr.denial]).to.deep.equal(['signed', 'nsec3']);
    // Signed at run time: one KSK and one ZSK, an NSEC3 chain and its parameters, no NSEC.
    expect(sr.signing.types.DNSKEY).to.equal(2);
    expect(sr.signing.types.NSEC3PARAM).to.equal(1);
    expect(sr.signing.types.NSEC3).to.be.greaterThan(100);
    expect(sr.signing.types.NSEC ?? 0).to.equal(0);
    expect(sr.signing.types.RRSIG).to.be.greaterThan(sr.signing.types.NSEC3!);
    expect(sr.query).to.deep.equal({ udpSize: 1232, dnssecOk: true, recursionDesired: true });
    expect(sr.runs.map((x) => x.server)).to.deep.equal(['shardns', 'nsd']);
    for (const r of sr.runs) {
      expect(r.dnsperf.completed, r.server).to.be.greaterThan(1000);
      expect(r.dnsperf.rcodes.NXDOMAIN! / r.dnsperf.completed, r.server).to.be.within(0.05, 0.15);
      expect(r.dnsperf.responseAvgBytes, r.server).to.be.greaterThan(0);
      expect(r.cpuUsPerQuery, r.server).to.be.within(0.5, 5000);
    }
    // NSD serves the signed zone: every sample reply (positive, NODATA, NXDOMAIN, wildcard, referral) carries its DNSSEC records.
    const nsd = sr.checks.find((c) => c.server === 'nsd')!;
    expect(nsd.signing).to.equal('signed');
    expect(new Set(nsd.samples.map((x) => x.kind))).to.include.keys('existing', 'nodata', 'absent');
    for (const x of nsd.samples) expect(x.outcome, `${x.name} ${x.type}`).to.deep.equal({ kind: 'signed' });
    // NSD's NXDOMAIN with NSEC3 proofs is larger than the NSEC3-less reply could be (SOA alone: under 200 octets).
    expect(nsd.samples.find((x) => x.kind === 'absent')!.bytes).to.be.greaterThan(400);
    // shardns: a ratio only when its replies were signed too; otherwise the row says so and the ratio is withheld.
    const sh = sr.checks.find((c) => c.server === 'shardns')!;
    expect(sh.samples).to.have.length(nsd.samples.length);
    if (sh.signing === 'signed') expect(stdout).to.match(/^\| 1 \| shardns \| NSD \| [\d.]+× \| [\d.]+× \| [\d.]+× \([\d.]+×–[\d.]+×\) \| yes \|$/m);
    else {
      expect(stdout).to.match(/^\| shardns \((unsigned answers|signatures not checked)\) \| 1 \|/m);
      expect(stdout).to.match(/^\| 1 \| shardns \| NSD \| – \| – \| – \| no: shardns (sent unsigned answers|was not checked) \|$/m);
    }
    expect(stdout).to.match(/^\| NSD \| 1 \| [\d,]+ \| [\d.]+ \| .* \| \d+ \|$/m);
    expect([...run.seen.keys()].filter(alive).map(comm), 'processes left behind').to.deep.equal([]);
    expect(readdirSync(work).filter((f) => f.startsWith('shardns-bench-'))).to.deep.equal([]);
  });

  it('finds every reply of NSD serving the zone unsigned "unsigned" when asked as the signed scenario asks', async function () {
    const why = digUnavailable() ?? serverUnavailable('nsd');
    if (why !== null) {
      console.log(`skip: ${why}`);
      this.skip();
    }
    const file = join(work, 'example.com.zone');
    writeFileSync(file, generateZone(300));
    const loaded = loadZoneFile('example.com.', file);
    if (!loaded.ok) throw new Error('the generated zone does not load');
    const groups = new ProcessGroups();
    const dir = join(work, 'nsd');
    mkdirSync(dir);
    const port = await freePort();
    const s = await startServer(groups, { kind: 'nsd', workers: 1, port, zone: { origin: 'example.com.', file }, dir, probe: addressProbe(loaded.zone)!, timeoutMs: 10_000 });
    try {
      const samples = pickSamples(generateQueries(loaded.zone, { count: 500, seed: 1 }).queries);
      const checked = await checkSigned(groups, s.port, samples);
      expect(checked).to.have.length(samples.length);
      expect(serverSigning(checked)).to.equal('unsigned');
      // Every reply came, and none carried what a signed zone's reply must.
      for (const c of checked) {
        expect(c.outcome.kind, `${c.name} ${c.type}`).to.equal('unsigned');
        expect(c.bytes).to.be.greaterThan(0);
      }
    } finally {
      await groups.stopAll();
    }
    expect(groupPids(s.process.pgid), 'NSD processes left behind').to.deep.equal([]);
  });

  it('Ctrl-C in the middle of a run stops shardns and dnsperf and exits 130', async () => {
    const run = runBench(['--workers', '1', '--duration', '20', '--rounds', '1', '--warmup', '0', '--peers', 'none', '--scenarios', 'auth', '--scale', 'none', '--zone-records', '500', '--queries', '1000', '--out', join(work, 'results')], { TMPDIR: work });
    expect(await until(() => /answers on 127\.0\.0\.1/.test(run.stderr()), 15_000), run.stderr()).to.equal(true);
    // Let dnsperf start, then interrupt.
    const names = (): string[] => [...run.seen.values()];
    const all = (): boolean => names().includes('dnsperf') && names().some((n) => n.startsWith('shardns superv')) && names().some((n) => n.startsWith('shardns worker'));
    expect(await until(all, 5000), names().join()).to.equal(true);
    run.kill('SIGINT');
    const { code, stderr } = await run.done;
    expect(code, stderr).to.equal(130);
    expect(stderr).to.include('SIGINT: stopping every process it started');
    const left = (): number[] => [...run.seen.keys()].filter(alive);
    expect(await until(() => left().length === 0, 3000), `left: ${left().map(comm).join(', ')}`).to.equal(true);
    expect(existsSync(join(work, 'results'))).to.equal(false);
  });
});
