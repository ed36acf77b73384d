/**
 * AXFR benchmark: the same generated zone (1M records by default) served by
 * shardns, NSD and Knot, each transferred whole to `kdig` in turn, rounds
 * alternating the servers; reports the median wall time of a transfer, the
 * server's CPU for it, messages and octets, beside each other (issue 15
 * target: shardns ≤ NSD in the same run).
 *
 *   npm run build && node dist/bench/axfr.js [--records 1000000] [--rounds 5] [--workers 2] [--servers shardns,nsd,knot] [--tsig] [--base DIR]
 *
 * `--base DIR` adds another shardns build (a worktree with its own dist/,
 * e.g. a detached worktree of an earlier commit) as the server `base`, run
 * in the same rounds: an A/B of two builds beside the peers.
 *
 * `floor` and `floor-bulk` in `--servers` add the AXFR floor
 * (bench/floor/axfr-floor.c, built here with the system's C compiler): the
 * stream of the first of shardns or NSD in the list, captured once before
 * the rounds, sent again from memory to every query, one write a message
 * (`floor`) or as much as the socket takes (`floor-bulk`). What kdig's time
 * is when the server costs nothing. `--sndbuf N` sets the floor's SO_SNDBUF.
 *
 * Each row also gives kdig's own CPU (its user+sys, from the shell's
 * `times`): kdig is most of a transfer's CPU.
 *
 * `--fresh N`: every round starts each server anew and transfers N times
 * from it, then stops it; the table gives the median of each transfer by
 * its place (with `--workers 1`, the first is always a cold worker's: what
 * a worker's first transfers cost, JIT warm-up and first touches).
 * `--settle MS` waits that long after a started server first answers before
 * its first transfer (0 by default: at once). A secondary asks for its
 * first transfer seconds after a primary starts, not within milliseconds;
 * a shardns worker warms its transfer path in the first ~0.1 s it serves
 * (src/xfr/warm-up.ts), so `--settle 500` measures what a first transfer
 * costs then, and 0 what it costs when it comes at once (the warm-up then
 * stops where it is when the transfer begins).
 */

import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, chownSync, closeSync, existsSync, fstatSync, mkdirSync, mkdtempSync, openSync, readFileSync, readSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'node:net';
import dnsPacket from 'dns-packet';
import { waitForAnswer } from './dns.js';
import { AXFR_FLOOR_BINARY as FLOOR_BINARY, buildAxfrFloor } from './floor.js';
import { isGeneratedZone, writeZone } from './gen-zone.js';
import { freePort } from './ports.js';
import { ProcessGroups, type Tracked } from './processes.js';
import { clockTicks, cpuSecondsBetween, groupStats, sampleCpu, type CpuSample } from './procstat.js';
import { knotConfig, nsdConfig, ROOT, serverUnavailable, type ZoneUnderTest } from './servers.js';

/** What to run. */
interface Options {
  records: number;
  rounds: number;
  workers: number;
  servers: ('shardns' | 'nsd' | 'knot' | 'base' | 'floor' | 'floor-bulk')[];
  /** Another shardns build's root (its bin/shardns.js and dist/), served as `base`; null when not asked. */
  base: string | null;
  /** Sign with a TSIG key (hmac-sha256): every message signed and verified. */
  tsig: boolean;
  /** Start every server anew each round and transfer this many times from it; 0: start once, one transfer a round. */
  fresh: number;
  /** `--fresh`: ms between a started server's first answer and its first transfer. */
  settle: number;
  /** The floor's SO_SNDBUF (0: the kernel's default). */
  sndbuf: number;
}

const USAGE = 'usage: node dist/bench/axfr.js [--records N] [--rounds N] [--workers N] [--servers shardns,nsd,knot] [--tsig] [--base DIR] [--fresh N [--settle MS]] [--sndbuf N]';

function parse(argv: string[]): Options {
  const o: Options = { records: 1_000_000, rounds: 5, workers: 2, servers: ['shardns', 'nsd', 'knot'], base: null, tsig: false, fresh: 0, settle: 0, sndbuf: 0 };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const next = (): string => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${a} needs a value\n${USAGE}`);
      return v;
    };
    if (a === '--records') o.records = Number(next());
    else if (a === '--rounds') o.rounds = Number(next());
    else if (a === '--workers') o.workers = Number(next());
    else if (a === '--servers') o.servers = next().split(',') as Options['servers'];
    else if (a === '--tsig') o.tsig = true;
    else if (a === '--base') o.base = next();
    else if (a === '--fresh') o.fresh = Number(next());
    else if (a === '--settle') o.settle = Number(next());
    else if (a === '--sndbuf') o.sndbuf = Number(next());
    else throw new Error(`unknown option ${a}\n${USAGE}`);
  }
  if (o.base !== null && !o.servers.includes('base')) o.servers.splice(1, 0, 'base');
  if (!(o.records >= 10) || !(o.rounds >= 1) || !(o.workers >= 1) || !(Number.isInteger(o.fresh) && o.fresh >= 0)) throw new Error(USAGE);
  return o;
}

/** One transfer: wall time, the server's CPU, what kdig says it received. */
interface Sample {
  ms: number;
  cpuS: number;
  messages: number;
  records: number;
  bytes: number;
  /** kdig's own user+sys CPU, seconds. */
  kdigS: number;
  /** Of the server's CPU, the system time (the kernel's TCP path on its side of loopback), seconds. */
  sysS: number;
}

/** System-time ticks per pid of a process group. */
function sampleSys(pgid: number): CpuSample {
  return new Map(groupStats(pgid).map((st) => [st.pid, st.stime]));
}

const KEY = { name: 'bench-key', algorithm: 'hmac-sha256', secret: randomBytes(32).toString('base64') };

/** Starts one server with transfers allowed to loopback (and with the key when `tsig`). */
async function start(groups: ProcessGroups, kind: Options['servers'][number], zone: ZoneUnderTest, o: Options, probe: { name: string; expect: string }): Promise<{ port: number; process: Tracked }> {
  const dir = mkdtempSync(join(tmpdir(), `axfr-bench-${kind}-`));
  groups.onExit(() => rmSync(dir, { recursive: true, force: true }));
  const port = await freePort();
  let cmd: string;
  let args: string[];
  if (kind === 'floor' || kind === 'floor-bulk') {
    if (capturedStream === null) throw new Error(`${kind}: no stream captured (list shardns or nsd before it)`);
    const tracked = groups.spawn(kind, FLOOR_BINARY, [String(port), capturedStream, kind === 'floor' ? 'message' : 'bulk', String(o.sndbuf)], { cwd: dir });
    await tracked.waitFor(/axfr-floor: \d+ messages/, 10_000);
    return { port, process: tracked };
  }
  if (kind === 'shardns' || kind === 'base') {
    // Started as root, shardns runs as nobody after binding (src/ops): its folders must be its own.
    chmodSync(dir, 0o755);
    const state = join(dir, 'state');
    mkdirSync(state);
    if (process.getuid?.() === 0) {
      const nobody = Number(spawnSync('id', ['-u', 'nobody'], { encoding: 'utf8' }).stdout.trim());
      if (Number.isInteger(nobody)) chownSync(state, nobody, nobody);
    }
    const config = join(dir, 'shardns.json');
    writeFileSync(
      config,
      JSON.stringify({
        ...(o.tsig ? { keys: [KEY] } : {}),
        zones: [{ name: zone.origin, file: zone.file, 'allow-transfer': [o.tsig ? { address: '127.0.0.0/8', key: KEY.name } : '127.0.0.0/8'] }],
      }),
    );
    cmd = process.execPath;
    args = [join(kind === 'base' ? o.base! : ROOT, 'bin/shardns.js'), 'serve', '--config', config, '--workers', String(o.workers), '--port', String(port), '--listen', '127.0.0.1', '--forward', 'none', '--state-dir', state, '--log-level', 'warn'];
  } else if (kind === 'nsd') {
    const key = o.tsig ? `key:\n  name: "${KEY.name}"\n  algorithm: ${KEY.algorithm}\n  secret: "${KEY.secret}"\n` : '';
    const text = key + nsdConfig({ workers: o.workers, port, zone, dir }) + `  provide-xfr: 127.0.0.0/8 ${o.tsig ? KEY.name : 'NOKEY'}\n`;
    writeFileSync(join(dir, 'nsd.conf'), text);
    cmd = 'nsd';
    args = ['-d', '-c', join(dir, 'nsd.conf')];
  } else {
    const base = knotConfig({ workers: o.workers, port, zone, dir });
    const key = o.tsig ? `key:\n  - id: ${KEY.name}\n    algorithm: ${KEY.algorithm}\n    secret: ${KEY.secret}\n` : '';
    const acl = `acl:\n  - id: bench-axfr\n    address: 127.0.0.0/8\n    action: transfer\n${o.tsig ? `    key: ${KEY.name}\n` : ''}`;
    const text = base.replace('zone:\n', `${key}${acl}zone:\n`).replace(/\n$/, '\n    acl: bench-axfr\n');
    writeFileSync(join(dir, 'knot.conf'), text);
    cmd = 'knotd';
    args = ['-c', join(dir, 'knot.conf')];
  }
  const tracked = groups.spawn(kind, cmd, args, { cwd: dir });
  const ok = await waitForAnswer(port, probe.name, 'A', probe.expect, 300_000, 50);
  if (!ok) throw new Error(`${kind} did not serve the zone:\n${tracked.output().slice(-2000)}`);
  return { port, process: tracked };
}

/**
 * One AXFR to kdig, timed. kdig prints every record it receives (+noall does
 * not silence an AXFR: 51 MB of text for 1M records), so its standard output
 * goes to a file, not through a pipe into this process: reading 51 MB into a
 * string here took CPU from the two the server and kdig share. Its summary
 * (+stats) is read back from the file's end.
 */
function transfer(port: number, origin: string, o: Options, pgid: number): Promise<Sample> {
  return new Promise((resolve, reject) => {
    const outFile = join(tmpdir(), `axfr-bench-kdig-${process.pid}.txt`);
    const fd = openSync(outFile, 'w');
    const ticks = clockTicks();
    const before = sampleCpu(pgid);
    const sysBefore = sampleSys(pgid);
    const t0 = performance.now();
    const tsig = o.tsig ? ['-y', `${KEY.algorithm}:${KEY.name}:${KEY.secret}`] : [];
    // Through a shell whose `times` prints its children's CPU (kdig's) after kdig's own output.
    const kdig = spawn('sh', ['-c', 'kdig "$@"; s=$?; times; exit $s', 'sh', '@127.0.0.1', '-p', String(port), ...tsig, origin, 'AXFR', '+noall', '+stats'], { stdio: ['ignore', fd, 'pipe'] });
    closeSync(fd);
    let err = '';
    kdig.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    kdig.on('close', (code) => {
      const ms = performance.now() - t0;
      const cpuS = cpuSecondsBetween(before, sampleCpu(pgid), ticks);
      const sysS = cpuSecondsBetween(sysBefore, sampleSys(pgid), ticks);
      const out = tailOf(outFile, 4096) + err;
      rmSync(outFile, { force: true });
      const m = /Received (\d+) B \((\d+) messages, (\d+) records\)/.exec(out);
      if (code !== 0 || m === null || /;; (WARNING|ERROR)/.test(out)) return reject(new Error(`kdig failed (exit ${code}):\n${out.slice(-2000)}`));
      // `times`: the shell's user and system time, then its children's: "0m0.850s 0m0.050s".
      const t = [...out.matchAll(/(\d+)m([\d.]+)s (\d+)m([\d.]+)s/g)].at(-1);
      const kdigS = t ? Number(t[1]) * 60 + Number(t[2]) + Number(t[3]) * 60 + Number(t[4]) : NaN;
      resolve({ ms, cpuS, kdigS, sysS, bytes: Number(m[1]), messages: Number(m[2]), records: Number(m[3]) });
    });
  });
}

/** The floor's stream file (framed messages), once captured. */
let capturedStream: string | null = null;

/**
 * One AXFR of `origin` from the server on `port`, its octets as they came
 * (length fields included) written to a file for the floor. The stream ends
 * with the message whose last record is the closing SOA (RFC 5936 §2.2): read
 * until a message's last record is an SOA and it is not the first record.
 */
async function captureStream(port: number, origin: string, groups: ProcessGroups): Promise<string> {
  const labels = origin.split('.').filter((l) => l !== '');
  const qname = Buffer.concat([...labels.map((l) => Buffer.concat([Buffer.from([l.length]), Buffer.from(l, 'latin1')])), Buffer.from([0])]);
  const query = Buffer.concat([Buffer.from([0x12, 0x34, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0]), qname, Buffer.from([0, 252, 0, 1])]);
  const framed = Buffer.concat([Buffer.from([query.length >> 8, query.length & 0xff]), query]);
  const chunks: Buffer[] = [];
  await new Promise<void>((resolve, reject) => {
    const sock = connect(port, '127.0.0.1', () => sock.write(framed));
    let pending: Buffer = Buffer.alloc(0);
    let messages = 0;
    sock.on('data', (d: Buffer) => {
      chunks.push(d);
      pending = pending.length === 0 ? d : Buffer.concat([pending, d]);
      while (pending.length >= 2 && pending.length >= 2 + pending.readUInt16BE(0)) {
        const msg = pending.subarray(2, 2 + pending.readUInt16BE(0));
        pending = pending.subarray(2 + msg.length);
        messages++;
        const decoded = dnsPacket.decode(msg);
        const last = decoded.answers?.at(-1);
        if (last?.type === 'SOA' && (messages > 1 || (decoded.answers?.length ?? 0) > 1) && pending.length === 0) {
          sock.end();
          resolve();
        }
      }
    });
    sock.on('error', reject);
    sock.on('close', () => reject(new Error('the server closed the connection before the transfer ended')));
  });
  const file = join(tmpdir(), `axfr-bench-stream-${process.pid}.bin`);
  writeFileSync(file, Buffer.concat(chunks));
  groups.onExit(() => rmSync(file, { force: true }));
  return file;
}

/** The last `n` octets of a file as text. */
function tailOf(file: string, n: number): string {
  const fd = openSync(file, 'r');
  try {
    const size = fstatSync(fd).size;
    const buf = Buffer.alloc(Math.min(n, size));
    readSync(fd, buf, 0, buf.length, size - buf.length);
    return buf.toString('latin1');
  } finally {
    closeSync(fd);
  }
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 === 1 ? s[s.length >> 1]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

async function main(): Promise<void> {
  const o = parse(process.argv.slice(2));
  if (spawnSync('kdig', ['-V']).error) throw new Error('kdig not installed — apt-get install knot-dnsutils');
  for (const s of o.servers) {
    if (s === 'floor' || s === 'floor-bulk') {
      const why = buildAxfrFloor();
      if (why !== null) throw new Error(`${s}: ${why}`);
      if (!o.servers.includes('shardns') && !o.servers.includes('nsd')) throw new Error(`${s}: list shardns or nsd too (the floor sends the stream captured from it)`);
      continue;
    }
    if (s === 'base') {
      if (o.base === null || !existsSync(join(o.base, 'dist/src/cli.js'))) throw new Error('base: give --base DIR, a built shardns tree (DIR/dist/src/cli.js)');
      continue;
    }
    const why = serverUnavailable(s);
    if (why !== null) throw new Error(`${s}: ${why}`);
  }
  const groups = new ProcessGroups();
  groups.installSignalHandlers();
  const origin = 'example.com.';
  const file = join(tmpdir(), `axfr-bench-${o.records}.zone`);
  let probe: { name: string; expect: string } | null = null;
  const fresh = isGeneratedZone(file, o.records);
  if (!fresh) process.stderr.write(`writing ${o.records} records to ${file}…\n`);
  // The probe: the zone's last host address (a server answering it has loaded the whole file).
  const lines: string[] = [];
  if (!fresh) await writeZone(file, o.records, origin, (l) => /^host\d+ IN A /.test(l) && lines.push(l));
  else for (const l of readFileSync(file, 'latin1').split('\n')) if (/^host\d+ IN A /.test(l)) lines.push(l);
  const last = lines.at(-1)!.split(/\s+/);
  probe = { name: `${last[0]}.${origin}`, expect: last[3]! };
  const zone: ZoneUnderTest = { origin, file };
  const samples = new Map<string, Sample[]>(o.servers.map((s) => [s, []]));
  if (o.fresh > 0) return freshRounds(groups, zone, o, probe);
  try {
    const started = new Map<string, { port: number; process: Tracked }>();
    // The floors last: they send a stream captured from a server started before them.
    for (const s of [...o.servers].sort((a, b) => Number(a.startsWith('floor')) - Number(b.startsWith('floor')))) {
      if (s.startsWith('floor') && capturedStream === null) {
        const from = o.servers.includes('shardns') ? 'shardns' : 'nsd';
        capturedStream = await captureStream(started.get(from)!.port, origin, groups);
        process.stderr.write(`captured ${from}'s AXFR stream for the floor\n`);
      }
      process.stderr.write(`starting ${s} (${o.workers} workers)…\n`);
      started.set(s, await start(groups, s, zone, o, probe));
    }
    const running = o.servers.map((s) => ({ kind: s, ...started.get(s)! }));
    for (let round = 0; round < o.rounds; round++) {
      // Alternate the order so no server always goes first.
      const order = round % 2 === 0 ? running : [...running].reverse();
      for (const r of order) {
        const sample = await transfer(r.port, origin, o, r.process.pgid);
        samples.get(r.kind)!.push(sample);
        process.stderr.write(`round ${round + 1} ${r.kind}: ${(sample.ms / 1000).toFixed(2)} s, ${sample.records} records, ${sample.messages} messages, server CPU ${sample.cpuS.toFixed(2)} s (sys ${sample.sysS.toFixed(2)}), kdig CPU ${sample.kdigS.toFixed(2)} s\n`);
      }
    }
  } finally {
    await groups.stopAll();
  }
  const rows = o.servers.map((s) => {
    const xs = samples.get(s)!;
    return { s, ms: median(xs.map((x) => x.ms)), cpu: median(xs.map((x) => x.cpuS)), sys: median(xs.map((x) => x.sysS)), kdig: median(xs.map((x) => x.kdigS)), x: xs[0]! };
  });
  const nsd = rows.find((r) => r.s === 'nsd');
  process.stdout.write(`\nAXFR of ${o.records} records to kdig${o.tsig ? ' (TSIG hmac-sha256)' : ''}, ${o.workers} workers, median of ${o.rounds} (same run, alternating)\n\n`);
  process.stdout.write('| server | wall time | vs NSD | server CPU | of it sys | kdig CPU | messages | octets | records |\n|---|---|---|---|---|---|---|---|---|\n');
  for (const r of rows) {
    process.stdout.write(`| ${r.s} | ${(r.ms / 1000).toFixed(2)} s | ${nsd ? `${(r.ms / nsd.ms).toFixed(2)}×` : '—'} | ${r.cpu.toFixed(2)} s | ${r.sys.toFixed(2)} s | ${r.kdig.toFixed(2)} s | ${r.x.messages} | ${r.x.bytes} | ${r.x.records} |\n`);
  }
}

/** `--fresh N`: each round, each server started anew, N transfers, stopped; the median of each transfer by its place. */
async function freshRounds(groups: ProcessGroups, zone: ZoneUnderTest, o: Options, probe: { name: string; expect: string }): Promise<void> {
  const byPlace = new Map<string, Sample[][]>(o.servers.map((s) => [s, Array.from({ length: o.fresh }, () => [])]));
  try {
    for (let round = 0; round < o.rounds; round++) {
      const order = round % 2 === 0 ? o.servers : [...o.servers].reverse();
      for (const kind of order) {
        const r = await start(groups, kind, zone, o, probe);
        if (o.settle > 0) await new Promise((resolve) => setTimeout(resolve, o.settle));
        const line: string[] = [];
        for (let k = 0; k < o.fresh; k++) {
          const sample = await transfer(r.port, zone.origin, o, r.process.pgid);
          byPlace.get(kind)![k]!.push(sample);
          line.push(`${(sample.ms / 1000).toFixed(2)} s / CPU ${sample.cpuS.toFixed(2)} s`);
        }
        await groups.stop(r.process);
        process.stderr.write(`round ${round + 1} ${kind} (started anew): ${line.join(', ')}\n`);
      }
    }
  } finally {
    await groups.stopAll();
  }
  process.stdout.write(`\nAXFR of ${o.records} records to kdig, ${o.workers} workers, each server started anew every round${o.settle > 0 ? `, first transfer ${o.settle} ms after its first answer` : ''}; median of ${o.rounds} rounds by the transfer's place (wall time / server CPU)\n\n`);
  process.stdout.write(`| server | ${Array.from({ length: o.fresh }, (_, k) => `transfer ${k + 1}`).join(' | ')} |\n|---|${'---|'.repeat(o.fresh)}\n`);
  for (const [kind, places] of byPlace) {
    process.stdout.write(`| ${kind} | ${places.map((xs) => `${(median(xs.map((x) => x.ms)) / 1000).toFixed(2)} s / ${median(xs.map((x) => x.cpuS)).toFixed(2)} s`).join(' | ')} |\n`);
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`bench/axfr: ${(err as Error).message}\n`);
  process.exit(1);
});
