/**
 * The forwarding-flood measurement (issue 17 target): a stream of unique
 * names (dnsperf, 20,000 queries a second by default) to a shardns whose
 * upstream answers one name and is silent for every other, while a second
 * client asks that one name — cached after its first answer — every 10 ms.
 * Reports the cached name's answers (all should come), how the flood was
 * answered (SERVFAIL at once beyond forward-max, or after the deadline), and
 * the worker's RSS sampled every 250 ms: its peak, and whether it still grows
 * in the last third of the run.
 *
 *   npm run build && node dist/bench/forward-flood.js [--qps 20000] [--seconds 20] [--forward-max 150]
 */

import { spawn, spawnSync } from 'node:child_process';
import dgram from 'node:dgram';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import dnsPacket from 'dns-packet';
import { freePort } from './ports.js';
import { groupPids } from './procstat.js';
import { ROOT } from './root.js';

const CACHED = 'cached.flood.test';

interface Options {
  qps: number;
  seconds: number;
  forwardMax: number;
}

function options(argv: string[]): Options {
  const o: Options = { qps: 20_000, seconds: 20, forwardMax: 150 };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const v = Number(argv[++i]);
    if (!Number.isFinite(v) || v <= 0) throw new Error(`${a}: give a positive number`);
    if (a === '--qps') o.qps = v;
    else if (a === '--seconds') o.seconds = v;
    else if (a === '--forward-max') o.forwardMax = v;
    else throw new Error(`unknown option ${a}; options: --qps N --seconds N --forward-max N`);
  }
  return o;
}

/** An upstream that answers CACHED (TTL 3600) and nothing else. */
async function oneNameUpstream(): Promise<{ port: number; asked: () => number; close: () => void }> {
  const sock = dgram.createSocket('udp4');
  let asked = 0;
  sock.on('message', (msg, rinfo) => {
    asked++;
    let q;
    try {
      q = dnsPacket.decode(msg);
    } catch {
      return;
    }
    const question = q.questions?.[0];
    if (question?.name.toLowerCase() !== CACHED) return; // silent
    const reply = dnsPacket.encode({ type: 'response', id: q.id, flags: dnsPacket.RECURSION_DESIRED | dnsPacket.RECURSION_AVAILABLE, questions: [question], answers: [{ name: CACHED, type: 'A', ttl: 3600, data: '192.0.2.7' }] });
    sock.send(reply, rinfo.port, rinfo.address);
  });
  await new Promise<void>((r) => sock.bind(0, '127.0.0.1', () => r()));
  return { port: sock.address().port, asked: () => asked, close: () => sock.close() };
}

/** Resident memory of a process in MiB (/proc/PID/status VmRSS), or 0. */
function rssMiB(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : 0;
  } catch {
    return 0;
  }
}

async function main(): Promise<void> {
  const o = options(process.argv.slice(2));
  if (spawnSync('dnsperf', ['-h']).error) throw new Error('dnsperf is not installed: apt-get install dnsperf');
  const dir = mkdtempSync(join(tmpdir(), 'shardns-fflood-'));
  // Started as root, shardns drops to an unprivileged user, which must reach the state directory below this one.
  chmodSync(dir, 0o755);
  const upstream = await oneNameUpstream();
  const port = await freePort();
  const names = Array.from({ length: Math.ceil(o.qps * o.seconds * 1.1) }, (_, i) => `u${i}-${Math.random().toString(36).slice(2, 8)}.flood.test A`);
  writeFileSync(join(dir, 'q.txt'), `${names.join('\n')}\n`);
  const server = spawn(process.execPath, [join(ROOT, 'bin/shardns.js'), 'serve', '--listen', '127.0.0.1', '--port', String(port), '--workers', '1', '--forward', `127.0.0.1:${upstream.port}`, '--forward-max', String(o.forwardMax), '--state-dir', join(dir, 'state'), '--zone', `example.com.=${join(ROOT, 'config/zones/example.com.zone')}`], { stdio: ['ignore', 'ignore', 'pipe'], detached: true });
  let log = '';
  server.stderr!.on('data', (d: Buffer) => (log += d.toString()));
  const client = dgram.createSocket('udp4');
  await new Promise<void>((r) => client.bind(0, '127.0.0.1', () => r()));
  const ask = (id: number): void => client.send(dnsPacket.encode({ type: 'query', id, flags: dnsPacket.RECURSION_DESIRED, questions: [{ name: CACHED, type: 'A' }] }), port, '127.0.0.1');
  let answered = 0;
  client.on('message', (m) => {
    const p = dnsPacket.decode(m);
    if ((p as { rcode?: string }).rcode === 'NOERROR' && (p.answers?.length ?? 0) > 0) answered++;
  });
  try {
    // Ready, and the name cached.
    for (let i = 0; answered === 0; i++) {
      if (i > 100) throw new Error(`shardns did not answer on port ${port}:\n${log}`);
      ask(1);
      await new Promise((r) => setTimeout(r, 100));
    }
    const worker = groupPids(server.pid!).find((p) => readFileSync(`/proc/${p}/cmdline`, 'utf8').includes('worker')) ?? server.pid!;
    const rss: number[] = [];
    answered = 0;
    let sent = 0;
    const checker = setInterval(() => ask(++sent & 0xffff), 10);
    const sampler = setInterval(() => rss.push(rssMiB(worker)), 250);
    // dnsperf runs as a child while this process keeps asking the cached name and sampling RSS.
    const perf = await new Promise<{ stdout: string }>((resolve) => {
      const p = spawn('dnsperf', ['-s', '127.0.0.1', '-p', String(port), '-d', join(dir, 'q.txt'), '-l', String(o.seconds), '-Q', String(o.qps), '-q', '20000', '-c', '8', '-t', '5'], { stdio: ['ignore', 'pipe', 'ignore'] });
      let out = '';
      p.stdout.on('data', (d: Buffer) => (out += d.toString()));
      p.on('close', () => resolve({ stdout: out }));
    });
    clearInterval(checker);
    clearInterval(sampler);
    await new Promise((r) => setTimeout(r, 300));
    const rcodes = (perf.stdout.match(/Response codes:\s+(.*)/) ?? [])[1] ?? '(none)';
    const completed = (perf.stdout.match(/Queries completed:\s+(.*)/) ?? [])[1] ?? '?';
    const third = Math.max(1, Math.floor(rss.length / 3));
    const lastThird = rss.slice(-third);
    console.log(`forward flood: ${o.qps} qps of unique names for ${o.seconds} s, upstream silent for them, --forward-max ${o.forwardMax}, 1 worker`);
    console.log(`  flood: completed ${completed}; response codes ${rcodes}`);
    console.log(`  cached name: ${answered} of ${sent} answered (${((answered / Math.max(1, sent)) * 100).toFixed(2)} %)`);
    console.log(`  worker RSS: start ${rss[0]?.toFixed(1)} MiB, peak ${Math.max(...rss).toFixed(1)} MiB, last third ${Math.min(...lastThird).toFixed(1)}–${Math.max(...lastThird).toFixed(1)} MiB`);
    console.log(`  upstream asked ${upstream.asked()} times`);
  } finally {
    client.close();
    upstream.close();
    try {
      process.kill(-server.pid!, 'SIGTERM');
    } catch {
      /* gone */
    }
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((e: Error) => {
  console.error(`forward-flood: ${e.message}`);
  process.exit(1);
});
