/**
 * What watching costs: server CPU per answered query under full dnsperf
 * load, with nothing on, with /metrics scraped every second, with dnstap
 * to a file, and with the query log (every query, and one in 100). Each
 * variant runs in turn in every round, on the same zone and query file;
 * the report gives the median of the rounds and the ratio to the plain
 * server.
 *
 *   npm run build && node dist/bench/ops-cost.js [--duration 10] [--rounds 3] [--workers 2]
 *     [--variants base,metrics,dnstap,query-log,query-log-100] [--clients 8] [--outstanding 200]
 */

import dgram from 'node:dgram';
import { chmodSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { dnsperfUnavailable, runDnsperf } from './dnsperf.js';
import { freePort } from './ports.js';
import { ProcessGroups, type Tracked } from './processes.js';
import { clockTicks, cpuSecondsBetween, sampleCpu } from './procstat.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const BIN = join(ROOT, 'bin/shardns.js');
const ZONE = join(ROOT, 'config/zones/example.com.zone');

/** The variants: what is turned on, as shardns flags (`DIR` is a folder the server may write). */
const VARIANTS: Record<string, (dir: string, metricsPort: number) => string[]> = {
  base: () => [],
  metrics: (_dir, port) => ['--metrics', `127.0.0.1:${port}`],
  dnstap: (dir) => ['--dnstap', join(dir, 'shardns.dnstap')],
  'query-log': (dir) => ['--query-log', join(dir, 'queries.jsonl')],
  'query-log-100': (dir) => ['--query-log', join(dir, 'queries.jsonl'), '--query-log-sample', '100'],
};

/**
 * Questions on the example zone: mostly names that exist, some that do
 * not (NXDOMAIN) and some NODATA, so the reply cache answers most, as a
 * busy authoritative server's does.
 */
const QUERIES = ['www.example.com A', 'example.com MX', 'example.com NS', 'ns1.example.com AAAA', 'example.com SOA', 'www.example.com AAAA', 'nope.example.com A', 'mail.example.com TXT'];

interface Options {
  durationSec: number;
  rounds: number;
  workers: number;
  variants: string[];
  clients: number;
  outstanding: number;
}

function parseArgs(argv: string[]): Options {
  const o: Options = { durationSec: 10, rounds: 3, workers: 2, variants: Object.keys(VARIANTS), clients: 8, outstanding: 200 };
  for (let i = 0; i < argv.length; i += 2) {
    const [flag, value] = [argv[i], argv[i + 1] ?? ''];
    const n = Number(value);
    switch (flag) {
      case '--duration':
        o.durationSec = n;
        break;
      case '--rounds':
        o.rounds = n;
        break;
      case '--workers':
        o.workers = n;
        break;
      case '--clients':
        o.clients = n;
        break;
      case '--outstanding':
        o.outstanding = n;
        break;
      case '--variants':
        o.variants = value.split(',');
        break;
      default:
        throw new Error(`unknown option ${flag}; see the top of bench/ops-cost.ts`);
    }
  }
  const unknown = o.variants.filter((v) => !(v in VARIANTS));
  if (unknown.length > 0) throw new Error(`unknown variant(s) ${unknown.join(', ')}; known: ${Object.keys(VARIANTS).join(', ')}`);
  for (const [k, v] of Object.entries(o)) if (typeof v === 'number' && !(v > 0 && Number.isInteger(v))) throw new Error(`--${k}: a whole number above 0, got ${v}`);
  return o;
}

/** One measured run of one variant. */
interface Run {
  variant: string;
  round: number;
  completed: number;
  lost: number;
  qps: number;
  cpuSec: number;
  usPerQuery: number;
  /** CPU the supervisor alone used (what a scrape or a log writer costs it), ms per second of load. */
  supervisorMsPerSec: number;
  /** Scrapes made and their mean wall time (metrics variant). */
  scrapes?: number;
  scrapeMs?: number;
  /** Octets the variant's log output grew by. */
  logBytes?: number;
}

/** Scrapes /metrics once a second until stopped; returns the count and mean duration. */
function scraper(port: number): { stop: () => Promise<{ scrapes: number; meanMs: number }> } {
  let stopped = false;
  let scrapes = 0;
  let totalMs = 0;
  const loop = (async () => {
    while (!stopped) {
      const t0 = performance.now();
      const res = await fetch(`http://127.0.0.1:${port}/metrics`);
      await res.text();
      if (res.status !== 200) throw new Error(`/metrics answered ${res.status}`);
      totalMs += performance.now() - t0;
      scrapes++;
      await new Promise((r) => setTimeout(r, Math.max(0, 1000 - (performance.now() - t0))));
    }
  })();
  return {
    stop: async () => {
      stopped = true;
      await loop;
      return { scrapes, meanMs: scrapes > 0 ? totalMs / scrapes : 0 };
    },
  };
}

function sizeOf(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}

async function measure(groups: ProcessGroups, o: Options, variant: string, round: number, queryFile: string, hz: number): Promise<Run> {
  // Started as root, shardns drops to an unprivileged user: its folders must be writable by anyone.
  const dir = mkdtempSync(join(tmpdir(), `shardns-opscost-${variant}-`));
  chmodSync(dir, 0o777);
  const [port, metricsPort] = [await freePort(), await freePort()];
  const extra = VARIANTS[variant]!(dir, metricsPort);
  const args = [BIN, '--port', String(port), '--listen', '127.0.0.1', '--workers', String(o.workers), '--forward', 'none', '--zone', `example.com.=${ZONE}`, '--state-dir', join(dir, 'state'), '--log-level', 'warn', ...extra];
  const server: Tracked = groups.spawn(`shardns-${variant}`, process.execPath, args);
  try {
    await waitForAnswers(server, port);
    const dnsperf = { port, queryFile, clients: o.clients, outstanding: o.outstanding, timeoutSec: 2 };
    await runDnsperf(groups, { ...dnsperf, durationSec: 2 }); // warm-up: caches filled, code optimised
    const logFile = extra.find((a) => a.startsWith(dir) && !a.endsWith('state')) ?? null;
    const logBefore = logFile ? sizeOf(logFile) : 0;
    const scrape = variant === 'metrics' ? scraper(metricsPort) : null;
    const before = sampleCpu(server.pgid);
    const { stats } = await runDnsperf(groups, { ...dnsperf, durationSec: o.durationSec });
    const after = sampleCpu(server.pgid);
    const scraped = scrape ? await scrape.stop() : null;
    const cpuSec = cpuSecondsBetween(before, after, hz);
    // The supervisor leads the process group: its pid is the group's id.
    const only = (m: Map<number, number>): Map<number, number> => new Map([...m].filter(([pid]) => pid === server.pgid));
    const supervisorMsPerSec = (cpuSecondsBetween(only(before), only(after), hz) * 1000) / stats.runTimeSec;
    return {
      variant,
      round,
      completed: stats.completed,
      lost: stats.lost,
      qps: stats.qps,
      cpuSec,
      usPerQuery: (cpuSec / stats.completed) * 1e6,
      supervisorMsPerSec,
      ...(scraped ? { scrapes: scraped.scrapes, scrapeMs: scraped.meanMs } : {}),
      ...(logFile ? { logBytes: sizeOf(logFile) - logBefore } : {}),
    };
  } finally {
    await groups.stop(server, 3000);
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Does the server answer one query over UDP within 200 ms? */
function udpProbe(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = dgram.createSocket('udp4');
    const done = (ok: boolean): void => {
      clearTimeout(timer);
      s.close();
      resolve(ok);
    };
    const timer = setTimeout(() => done(false), 200);
    s.on('message', () => done(true));
    s.on('error', () => done(false));
    // id.server, CH TXT: always answered.
    s.send(Buffer.from('abcd0100000100000000000002696406736572766572000010000003', 'hex'), port, '127.0.0.1');
  });
}

/** Waits until the server answers a first query (the log level hides "listening"). */
async function waitForAnswers(server: Tracked, port: number): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    if (server.proc.exitCode !== null) throw new Error(`shardns exited:\n${server.output()}`);
    if (await udpProbe(port)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`shardns did not answer within 30 s:\n${server.output()}`);
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

async function main(): Promise<void> {
  const o = parseArgs(process.argv.slice(2));
  const why = dnsperfUnavailable();
  if (why) {
    process.stderr.write(`ops-cost: ${why}\n`);
    process.exit(1);
  }
  const dir = mkdtempSync(join(tmpdir(), 'shardns-opscost-q-'));
  const queryFile = join(dir, 'queries.txt');
  writeFileSync(queryFile, Array.from({ length: 100 }, (_, i) => QUERIES[i % QUERIES.length]).join('\n') + '\n');
  const hz = clockTicks();
  const groups = new ProcessGroups();
  groups.installSignalHandlers();
  const runs: Run[] = [];
  try {
    for (let round = 1; round <= o.rounds; round++) {
      for (const variant of o.variants) {
        const r = await measure(groups, o, variant, round, queryFile, hz);
        runs.push(r);
        process.stderr.write(`round ${round} ${variant}: ${r.usPerQuery.toFixed(2)} µs/query, supervisor ${r.supervisorMsPerSec.toFixed(1)} ms/s, ${Math.round(r.qps)} qps, lost ${r.lost}${r.scrapes ? `, ${r.scrapes} scrapes of ${r.scrapeMs!.toFixed(1)} ms` : ''}\n`);
      }
    }
  } finally {
    await groups.stopAll();
    rmSync(dir, { recursive: true, force: true });
  }
  const base = median(runs.filter((r) => r.variant === 'base').map((r) => r.usPerQuery));
  const lines = [
    `shardns ops cost: ${o.workers} worker(s), dnsperf -c ${o.clients} -q ${o.outstanding}, ${o.durationSec} s × ${o.rounds} rounds, median of rounds`,
    '',
    '| variant | server CPU per answered query | vs base | supervisor CPU | QPS | lost |',
    '|---|---|---|---|---|---|',
  ];
  for (const v of o.variants) {
    const mine = runs.filter((r) => r.variant === v);
    const us = median(mine.map((r) => r.usPerQuery));
    const vs = v === 'base' || !(base > 0) ? '—' : `${us >= base ? '+' : ''}${(((us - base) / base) * 100).toFixed(1)} %`;
    const sup = median(mine.map((r) => r.supervisorMsPerSec));
    lines.push(`| ${v} | ${us.toFixed(2)} µs | ${vs} | ${sup.toFixed(1)} ms/s | ${Math.round(median(mine.map((r) => r.qps)))} | ${mine.reduce((n, r) => n + r.lost, 0)} |`);
  }
  process.stdout.write(`${lines.join('\n')}\n\n${JSON.stringify({ options: o, runs })}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`ops-cost: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
