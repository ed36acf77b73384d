/**
 * Transfer-in benchmark: the same generated zone (1M records by default)
 * served by Knot DNS (or NSD), transferred whole in turn by shardns's
 * transferIn (src/xfr/transfer-in.ts, in a node process of its own) and by
 * kdig, rounds alternating; each client run under /usr/bin/time, so both
 * are measured alike: wall time, user and system CPU, peak RSS. transferIn
 * keeps every record (uncompressed) for the caller; kdig parses each and
 * drops it (+noall), so its memory is a floor, not a like-for-like figure.
 *
 *   npm run build && node dist/bench/xfr-in.js [--records 1000000] [--rounds 3] [--primary knot|nsd] [--tsig]
 */

import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { waitForAnswer } from './dns.js';
import { isGeneratedZone, writeZone } from './gen-zone.js';
import { freePort } from './ports.js';
import { ProcessGroups } from './processes.js';
import { knotConfig, nsdConfig, serverUnavailable, type ZoneUnderTest } from './servers.js';
import { transferIn } from '../src/xfr/transfer-in.js';
import { tsigKey } from '../src/xfr/tsig.js';

interface Options {
  records: number;
  rounds: number;
  primary: 'knot' | 'nsd';
  tsig: boolean;
}

const USAGE = 'usage: node dist/bench/xfr-in.js [--records N] [--rounds N] [--primary knot|nsd] [--tsig]';

function parse(argv: string[]): Options {
  const o: Options = { records: 1_000_000, rounds: 3, primary: 'knot', tsig: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const next = (): string => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${a} needs a value\n${USAGE}`);
      return v;
    };
    if (a === '--records') o.records = Number(next());
    else if (a === '--rounds') o.rounds = Number(next());
    else if (a === '--primary') o.primary = next() as Options['primary'];
    else if (a === '--tsig') o.tsig = true;
    else throw new Error(`unknown option ${a}\n${USAGE}`);
  }
  if (!(o.records >= 10) || !(o.rounds >= 1) || !['knot', 'nsd'].includes(o.primary)) throw new Error(USAGE);
  return o;
}

/** One client run as /usr/bin/time saw it, and what the client says it received. */
interface Sample {
  wallS: number;
  userS: number;
  sysS: number;
  maxRssMb: number;
  /** The transfer alone, as the client timed it (no process start-up). */
  innerMs: number;
  records: number;
  messages: number;
  bytes: number;
}

const KEY = { name: 'bench-key', algorithm: 'hmac-sha256' as const, secret: randomBytes(32).toString('base64') };

/** Runs `cmd args` under /usr/bin/time; its output and the four figures time printed last. */
function timed(cmd: string, args: string[]): Promise<{ out: string; code: number | null; wallS: number; userS: number; sysS: number; maxRssMb: number }> {
  return new Promise((resolve, reject) => {
    const p = spawn('/usr/bin/time', ['-f', 'TIME %e %U %S %M', cmd, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    p.stdout.on('data', (d: Buffer) => (out += d.toString()));
    p.stderr.on('data', (d: Buffer) => (out += d.toString()));
    p.on('close', (code) => {
      const m = /TIME ([\d.]+) ([\d.]+) ([\d.]+) (\d+)\s*$/.exec(out);
      if (m === null) return reject(new Error(`/usr/bin/time gave no figures:\n${out.slice(-2000)}`));
      resolve({ out, code, wallS: Number(m[1]), userS: Number(m[2]), sysS: Number(m[3]), maxRssMb: Number(m[4]) / 1024 });
    });
  });
}

/** shardns's transferIn in its own node process (this file with --client). */
async function viaTransferIn(port: number, origin: string, o: Options): Promise<Sample> {
  const self = fileURLToPath(import.meta.url);
  const r = await timed(process.execPath, [self, '--client', String(port), origin, o.tsig ? KEY.secret : '-']);
  const m = /^RESULT (.+)$/m.exec(r.out);
  if (r.code !== 0 || m === null) throw new Error(`transferIn client failed (exit ${r.code}):\n${r.out.slice(-2000)}`);
  const res = JSON.parse(m[1]!) as { kind: string; count: number; messages: number; bytes: number; ms: number; why?: string };
  if (res.kind !== 'axfr') throw new Error(`transferIn: ${res.why ?? res.kind}`);
  // The SOA and the closing SOA, as kdig counts them.
  return { wallS: r.wallS, userS: r.userS, sysS: r.sysS, maxRssMb: r.maxRssMb, innerMs: res.ms, records: res.count + 2, messages: res.messages, bytes: res.bytes };
}

/** kdig axfr, records parsed and not printed. */
async function viaKdig(port: number, origin: string, o: Options): Promise<Sample> {
  const tsig = o.tsig ? ['-y', `${KEY.algorithm}:${KEY.name}:${KEY.secret}`] : [];
  const r = await timed('kdig', ['@127.0.0.1', '-p', String(port), ...tsig, origin, 'AXFR', '+noall', '+stats']);
  const m = /Received (\d+) B \((\d+) messages, (\d+) records\)/.exec(r.out);
  const inner = /\(TCP\) in ([\d.]+) ms/.exec(r.out);
  if (r.code !== 0 || m === null || inner === null || /;; (WARNING|ERROR)/.test(r.out)) throw new Error(`kdig failed (exit ${r.code}):\n${r.out.slice(-2000)}`);
  return { wallS: r.wallS, userS: r.userS, sysS: r.sysS, maxRssMb: r.maxRssMb, innerMs: Number(inner[1]), bytes: Number(m[1]), messages: Number(m[2]), records: Number(m[3]) };
}

/** The client side: one transferIn, its outcome as one line. */
async function client(port: string, origin: string, secret: string): Promise<void> {
  const key = secret === '-' ? null : tsigKey({ name: KEY.name, algorithm: KEY.algorithm, secret });
  const r = await transferIn({ origin, remote: { address: '127.0.0.1', port: Number(port) }, key, qtype: 'axfr', timeoutMs: 600_000 });
  const summary = r.kind === 'axfr' ? { kind: r.kind, count: r.count, messages: r.messages, bytes: r.bytes, ms: r.ms } : { kind: r.kind, why: r.kind === 'error' ? r.why : '' };
  process.stdout.write(`RESULT ${JSON.stringify(summary)}\n`);
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 === 1 ? s[s.length >> 1]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

async function main(): Promise<void> {
  const o = parse(process.argv.slice(2));
  if (spawnSync('kdig', ['-V']).error) throw new Error('kdig not installed — apt-get install knot-dnsutils');
  if (!existsSync('/usr/bin/time')) throw new Error('/usr/bin/time not installed — apt-get install time');
  const why = serverUnavailable(o.primary);
  if (why !== null) throw new Error(`${o.primary}: ${why}`);
  const groups = new ProcessGroups();
  groups.installSignalHandlers();
  const origin = 'example.com.';
  const file = join(tmpdir(), `axfr-bench-${o.records}.zone`);
  const fresh = isGeneratedZone(file, o.records);
  if (!fresh) process.stderr.write(`writing ${o.records} records to ${file}…\n`);
  const hosts: string[] = [];
  if (!fresh) await writeZone(file, o.records, origin, (l) => /^host\d+ IN A /.test(l) && hosts.push(l));
  else for (const l of readFileSync(file, 'latin1').split('\n')) if (/^host\d+ IN A /.test(l)) hosts.push(l);
  const last = hosts.at(-1)!.split(/\s+/);
  const zone: ZoneUnderTest = { origin, file };
  const dir = mkdtempSync(join(tmpdir(), `xfr-in-bench-${o.primary}-`));
  groups.onExit(() => rmSync(dir, { recursive: true, force: true }));
  const port = await freePort();
  if (o.primary === 'nsd') {
    const key = o.tsig ? `key:\n  name: "${KEY.name}"\n  algorithm: ${KEY.algorithm}\n  secret: "${KEY.secret}"\n` : '';
    writeFileSync(join(dir, 'nsd.conf'), key + nsdConfig({ workers: 1, port, zone, dir }) + `  provide-xfr: 127.0.0.0/8 ${o.tsig ? KEY.name : 'NOKEY'}\n`);
    groups.spawn('nsd', 'nsd', ['-d', '-c', join(dir, 'nsd.conf')], { cwd: dir });
  } else {
    const key = o.tsig ? `key:\n  - id: ${KEY.name}\n    algorithm: ${KEY.algorithm}\n    secret: ${KEY.secret}\n` : '';
    const acl = `acl:\n  - id: bench-axfr\n    address: 127.0.0.0/8\n    action: transfer\n${o.tsig ? `    key: ${KEY.name}\n` : ''}`;
    writeFileSync(join(dir, 'knot.conf'), knotConfig({ workers: 1, port, zone, dir }).replace('zone:\n', `${key}${acl}zone:\n`).replace(/\n$/, '\n    acl: bench-axfr\n'));
    groups.spawn('knot', 'knotd', ['-c', join(dir, 'knot.conf')], { cwd: dir });
  }
  const samples = { transferIn: [] as Sample[], kdig: [] as Sample[] };
  try {
    process.stderr.write(`starting ${o.primary}…\n`);
    if (!(await waitForAnswer(port, `${last[0]}.${origin}`, 'A', last[3]!, 300_000, 50))) throw new Error(`${o.primary} did not serve the zone`);
    for (let round = 0; round < o.rounds; round++) {
      const order = round % 2 === 0 ? (['transferIn', 'kdig'] as const) : (['kdig', 'transferIn'] as const);
      for (const c of order) {
        const s = c === 'transferIn' ? await viaTransferIn(port, origin, o) : await viaKdig(port, origin, o);
        samples[c].push(s);
        process.stderr.write(`round ${round + 1} ${c}: ${s.wallS.toFixed(2)} s wall (transfer ${(s.innerMs / 1000).toFixed(2)} s), ${(s.userS + s.sysS).toFixed(2)} s CPU, ${s.maxRssMb.toFixed(0)} MB peak RSS, ${s.records} records, ${s.messages} messages\n`);
      }
    }
  } finally {
    await groups.stopAll();
  }
  process.stdout.write(`\nAXFR of ${o.records} records from ${o.primary}${o.tsig ? ' (TSIG hmac-sha256)' : ''}, median of ${o.rounds} (same run, alternating)\n\n`);
  process.stdout.write('| client | wall time (process) | transfer time (client\'s own) | user CPU | system CPU | CPU per record | peak RSS | records | messages | octets |\n|---|---|---|---|---|---|---|---|---|---|\n');
  for (const [name, xs] of Object.entries(samples)) {
    const cpu = median(xs.map((x) => x.userS + x.sysS));
    const x = xs[0]!;
    process.stdout.write(
      `| ${name} | ${median(xs.map((s) => s.wallS)).toFixed(2)} s | ${(median(xs.map((s) => s.innerMs)) / 1000).toFixed(2)} s | ${median(xs.map((s) => s.userS)).toFixed(2)} s | ${median(xs.map((s) => s.sysS)).toFixed(2)} s | ${((cpu / x.records) * 1e6).toFixed(2)} µs | ${median(xs.map((s) => s.maxRssMb)).toFixed(0)} MB | ${x.records} | ${x.messages} | ${x.bytes} |\n`,
    );
  }
}

if (process.argv[2] === '--client') {
  client(process.argv[3]!, process.argv[4]!, process.argv[5]!).catch((err: unknown) => {
    process.stderr.write(`bench/xfr-in client: ${(err as Error).message}\n`);
    process.exit(1);
  });
} else {
  main().catch((err: unknown) => {
    process.stderr.write(`bench/xfr-in: ${(err as Error).message}\n`);
    process.exit(1);
  });
}
