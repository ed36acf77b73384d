/**
 * The RRL flood measurement (issue 17): a spoofed-source flood for one name
 * (bench/flood/udp-flood.c, from many addresses of one /24 on loopback) against
 * shardns with RRL on and with it off, and against NSD (rrl-ratelimit on and
 * off) when installed, while a client elsewhere asks the same name at a polite
 * rate. Reports what the flood got back (whole, truncated, nothing), whether
 * the polite client was fully answered, and the server's CPU per query, so the
 * cost of a limited reply can be set beside that of an answered one.
 *
 *   npm run build && node dist/bench/rrl.js [--qps 50000] [--seconds 10] [--rate 200] [--workers 1] [--rounds 3] [--no-nsd]
 *
 * The servers take turns, round after round (the machine's other load falls on
 * all alike); the table gives each one's median round, and its CPU per query
 * in every round.
 */

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import dnsPacket from 'dns-packet';
import { flood } from './flood.js';
import { freePort } from './ports.js';
import { clockTicks, cpuSecondsBetween, sampleCpu } from './procstat.js';
import { ROOT } from './root.js';

const SOURCE = join(ROOT, 'bench/flood/udp-flood.c');
const BINARY = join(ROOT, 'dist/bench/flood/udp-flood');
const ZONE = join(ROOT, 'config/zones/example.com.zone');
const NAME = 'www.example.com';

/** The command line. */
interface Options {
  qps: number;
  seconds: number;
  rate: number;
  workers: number;
  rounds: number;
  nsd: boolean;
}

function options(argv: string[]): Options {
  const o: Options = { qps: 50_000, seconds: 10, rate: 200, workers: 1, rounds: 3, nsd: true };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const value = (): number => {
      const v = Number(argv[++i]);
      if (!Number.isFinite(v) || v <= 0) throw new Error(`${a}: give a positive number`);
      return v;
    };
    if (a === '--qps') o.qps = value();
    else if (a === '--seconds') o.seconds = value();
    else if (a === '--rate') o.rate = value();
    else if (a === '--workers') o.workers = value();
    else if (a === '--rounds') o.rounds = value();
    else if (a === '--no-nsd') o.nsd = false;
    else throw new Error(`unknown option ${a}; options: --qps N --seconds N --rate N --workers N --rounds N --no-nsd`);
  }
  return o;
}

/** Builds the flooder unless an up-to-date build exists; null when ready, else why not. */
function buildFlooder(): string | null {
  if (existsSync(BINARY) && statSync(BINARY).mtimeMs >= statSync(SOURCE).mtimeMs) return null;
  mkdirSync(join(ROOT, 'dist/bench/flood'), { recursive: true });
  for (const cc of [process.env.CC, 'cc', 'gcc']) {
    if (!cc || spawnSync(cc, ['--version']).error) continue;
    const r = spawnSync(cc, ['-O2', '-Wall', '-o', BINARY, SOURCE], { encoding: 'utf8' });
    return r.status === 0 ? null : `${cc} could not build ${SOURCE}: ${r.stderr}`;
  }
  return 'no C compiler to build bench/flood/udp-flood.c — apt-get install gcc';
}

/** A server under test, in a process group of its own. */
interface Server {
  label: string;
  proc: ChildProcess;
  port: number;
  /** Queries the server received so far (shardns: its counters; NSD: null, the flood's count is used). */
  received(): Promise<number | null>;
  stop(): void;
}

/** Resolves once a query to the port is answered. */
async function answering(port: number, timeoutMs = 15_000): Promise<void> {
  const q = dnsPacket.encode({ type: 'query', id: 1, flags: 0, questions: [{ name: NAME, type: 'A', class: 'IN' }] });
  const start = Date.now();
  while (Date.now() - start < timeoutMs) {
    const r = await flood({ host: '127.0.0.1', port, query: q, sources: ['127.0.0.1'], rate: 20, durationMs: 100, drainMs: 200 });
    if (r.whole > 0) return;
  }
  throw new Error(`nothing answers on port ${port}`);
}

async function startShardns(rate: number, workers: number, dir: string): Promise<Server> {
  const port = await freePort();
  const args = ['bin/shardns.js', '--port', String(port), '--listen', '127.0.0.1', '--workers', String(workers), '--forward', 'none', '--zone', `example.com.=${ZONE}`, '--state-dir', join(dir, `state-${port}`), '--rrl', String(rate), '--rrl-exempt', 'none', '--log-level', 'info'];
  const proc = spawn(process.execPath, args, { cwd: ROOT, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  proc.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  await answering(port);
  return {
    label: rate > 0 ? `shardns --rrl ${rate}` : 'shardns --rrl 0',
    proc,
    port,
    async received() {
      const since = out.length;
      process.kill(proc.pid!, 'SIGUSR1');
      const lines = new RegExp(`(worker \\d+ \\(pid \\d+\\) counters[^\\n]*\\n[\\s\\S]*?){${workers}}`);
      for (let i = 0; i < 50; i++) {
        const m = lines.exec(out.slice(since));
        if (m) return [...m[0].matchAll(/ queries=(\d+)/g)].reduce((n, x) => n + Number(x[1]), 0);
        await new Promise((r) => setTimeout(r, 100));
      }
      throw new Error(`no counters from shardns:\n${out.slice(-2000)}`);
    },
    stop: () => killGroup(proc),
  };
}

async function startNsd(rate: number, workers: number, dir: string): Promise<Server> {
  const port = await freePort();
  const d = join(dir, `nsd-${port}`);
  mkdirSync(d);
  writeFileSync(
    join(d, 'nsd.conf'),
    `server:\n  ip-address: 127.0.0.1@${port}\n  port: ${port}\n  username: ""\n  zonesdir: "${d}"\n  database: ""\n  pidfile: "${d}/nsd.pid"\n  xfrdfile: "${d}/xfrd.state"\n  zonelistfile: "${d}/zone.list"\n` +
      `  server-count: ${workers}\n  rrl-ratelimit: ${rate}\n  rrl-whitelist-ratelimit: ${rate}\n  verbosity: 0\nremote-control:\n  control-enable: no\nzone:\n  name: "example.com"\n  zonefile: "${ZONE}"\n`,
  );
  const proc = spawn('nsd', ['-d', '-c', join(d, 'nsd.conf')], { detached: true, stdio: 'ignore' });
  await answering(port);
  return { label: `NSD rrl-ratelimit ${rate}`, proc, port, received: async () => null, stop: () => killGroup(proc) };
}

function killGroup(proc: ChildProcess): void {
  try {
    process.kill(-proc.pid!, 'SIGKILL');
  } catch {
    /* gone */
  }
}

/** The flooder's report. */
interface FloodReport {
  sent: number;
  sendErrors: number;
  whole: number;
  truncated: number;
  seconds: number;
  wholePerSecond: number[];
}

/** Runs the flooder; resolves with its report. */
function runFlooder(port: number, qps: number, seconds: number, query: Buffer, sources: string): Promise<FloodReport> {
  const flooder = spawn(BINARY, ['127.0.0.1', String(port), String(qps), String(seconds), query.toString('hex'), sources], { stdio: ['ignore', 'pipe', 'inherit'] });
  let text = '';
  flooder.stdout!.on('data', (d: Buffer) => (text += d.toString()));
  return new Promise<FloodReport>((resolve, reject) => flooder.on('exit', (code) => (code === 0 ? resolve(JSON.parse(text) as FloodReport) : reject(new Error(`udp-flood exited ${code}`)))));
}

/** One run: a warm-up flood (so the JIT has compiled every path), then the flood and the polite client at once, the server's CPU around them. */
async function measure(server: Server, o: Options): Promise<Record<string, string | number>> {
  const query = dnsPacket.encode({ type: 'query', id: 1, flags: 0, questions: [{ name: NAME, type: 'A', class: 'IN' }], additionals: [{ type: 'OPT', name: '.', udpPayloadSize: 1232, flags: 0, options: [] } as never] });
  const sources = Array.from({ length: 200 }, (_, i) => `127.77.1.${i + 1}`).join(',');
  // The warm-up comes from another /24 (its buckets stay apart from the measured flood's).
  await runFlooder(server.port, o.qps, 2, query, Array.from({ length: 200 }, (_, i) => `127.66.1.${i + 1}`).join(','));
  await new Promise((r) => setTimeout(r, 1000));
  const ticks = clockTicks();
  const receivedBefore = await server.received();
  const cpuBefore = sampleCpu(server.proc.pid!);
  const flooded = runFlooder(server.port, o.qps, o.seconds, query, sources);
  // The polite client: another /24, the same name, 100 queries a second.
  const polite = await flood({ host: '127.0.0.1', port: server.port, query, sources: ['127.88.0.1'], rate: 100, durationMs: o.seconds * 1000 - 500 });
  const f = await flooded;
  const cpu = cpuSecondsBetween(cpuBefore, sampleCpu(server.proc.pid!), ticks);
  const receivedAfter = await server.received();
  const received = receivedBefore !== null && receivedAfter !== null ? receivedAfter - receivedBefore - polite.sent : f.sent - f.sendErrors;
  const steady = f.wholePerSecond.slice(1, -1);
  return {
    server: server.label,
    'flood qps sent': Math.round(f.sent / f.seconds),
    'received by server': received,
    'flood whole, 1st s': f.wholePerSecond[0] ?? 0,
    'flood whole/s after': steady.length ? Math.round(steady.reduce((a, b) => a + b, 0) / steady.length) : 0,
    'flood TC/s': Math.round(f.truncated / f.seconds),
    'flood unanswered %': Math.round((1000 * (f.sent - f.whole - f.truncated)) / Math.max(1, f.sent)) / 10,
    'polite client answered': `${polite.whole}/${polite.sent}`,
    'server CPU s': Math.round(cpu * 100) / 100,
    'CPU µs/query': Math.round((cpu / Math.max(1, received + polite.sent)) * 1e7) / 10,
  };
}

async function main(): Promise<void> {
  const o = options(process.argv.slice(2));
  const why = buildFlooder();
  if (why !== null) throw new Error(why);
  const dir = mkdtempSync(join(tmpdir(), 'shardns-rrl-bench-'));
  // shardns started as root runs as nobody once bound: it must reach its state directory in here.
  chmodSync(dir, 0o755);
  const nsd = o.nsd && !spawnSync('nsd', ['-v']).error;
  const starts: (() => Promise<Server>)[] = [() => startShardns(o.rate, o.workers, dir), () => startShardns(0, o.workers, dir)];
  if (nsd) starts.push(() => startNsd(o.rate, o.workers, dir), () => startNsd(0, o.workers, dir));
  const runs: Record<string, string | number>[][] = starts.map(() => []);
  try {
    for (let round = 0; round < o.rounds; round++) {
      for (let i = 0; i < starts.length; i++) {
        const server = await starts[i]!();
        try {
          runs[i]!.push(await measure(server, o));
          process.stderr.write(`round ${round + 1}: ${JSON.stringify(runs[i]!.at(-1))}\n`);
        } finally {
          server.stop();
        }
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  // Each server's median round by CPU per query, with every round's figure beside it.
  const cpu = (r: Record<string, string | number>): number => Number(r['CPU µs/query']);
  const rows = runs.map((rs): Record<string, string | number> => {
    const sorted = [...rs].sort((a, b) => cpu(a) - cpu(b));
    return { ...sorted[Math.floor((sorted.length - 1) / 2)]!, 'CPU µs/query, each round': rs.map(cpu).join(' ') };
  });
  const keys = Object.keys(rows[0]!);
  console.log(`flood: ${o.qps} qps asked for ${o.seconds} s, one name from 200 addresses of 127.77.1.0/24; RRL rate ${o.rate}, ${o.workers} worker(s)${nsd ? '' : '; NSD not run'}`);
  console.log(`| ${keys.join(' | ')} |`);
  console.log(`|${keys.map(() => '---').join('|')}|`);
  for (const r of rows) console.log(`| ${keys.map((k) => r[k]).join(' | ')} |`);
}

main().catch((err: unknown) => {
  process.stderr.write(`bench/rrl: ${(err as Error).message}\n`);
  process.exit(1);
});
