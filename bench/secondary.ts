/**
 * Secondary benchmark (issue 15 target: NOTIFY → the new serial answered by
 * every worker within 1 s for a one-record change in a 1M-record zone, by
 * IXFR, with no pause in answers). NSD is the primary of a generated zone
 * (`create-ixfr`, NOTIFY to shardns); shardns, its secondary, first
 * transfers it whole (AXFR: time to first answer), then per round one
 * record changes on NSD (`nsd-control reload`): the time from the reload to
 * the moment 32 queries in a row (each from a new port, so spread over the
 * workers) see the new serial, and meanwhile the longest wait of a probe
 * asking every 5 ms for a name that does not change (a pause in answers
 * shows there), and where shardns spent the time (its log: the IXFR, the
 * image build, the swap).
 *
 *   npm run build && node dist/bench/secondary.js [--records 1000000] [--rounds 3] [--workers 2] [--log FILE]
 */

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import dgram from 'node:dgram';
import { appendFileSync, chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import dnsPacket from 'dns-packet';
import { freePort } from './ports.js';
import { ROOT } from './servers.js';

interface Options {
  records: number;
  rounds: number;
  workers: number;
  /** Where to append shardns's log of each round (its debug lines: the timeline), or null. */
  log: string | null;
}

const USAGE = 'usage: node dist/bench/secondary.js [--records N] [--rounds N] [--workers N] [--log FILE]';

/** Milliseconds between the first line holding `from` and the first later line holding `to`, by their ISO timestamps; null when either is missing. */
function logSpan(log: string, from: string, to: string): number | null {
  const lines = log.split('\n');
  const a = lines.findIndex((l) => l.includes(from));
  if (a < 0) return null;
  const b = lines.findIndex((l, i) => i > a && l.includes(to));
  if (b < 0) return null;
  const t = (l: string): number => Date.parse(l.slice(0, 24));
  const ms = t(lines[b]!) - t(lines[a]!);
  return Number.isFinite(ms) ? ms : null;
}

function parse(argv: string[]): Options {
  const o: Options = { records: 1_000_000, rounds: 3, workers: 2, log: null };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--log') {
      o.log = argv[++i] ?? null;
      continue;
    }
    const v = Number(argv[++i]);
    if (a === '--records') o.records = v;
    else if (a === '--rounds') o.rounds = v;
    else if (a === '--workers') o.workers = v;
    else throw new Error(`unknown option ${a}\n${USAGE}`);
  }
  if (!(o.records >= 10) || !(o.rounds >= 1) || !(o.workers >= 1)) throw new Error(USAGE);
  return o;
}

/** The zone at `serial`: SOA, NS, and `records` A records; `www` holds `www`. */
function zoneText(records: number, serial: number, www: string): string {
  const out = ['$ORIGIN example.com.', '$TTL 3600', `@ SOA ns1 hostmaster ${serial} 86400 7200 2419200 300`, '@ NS ns1', 'ns1 A 127.0.0.1', `www A ${www}`];
  for (let i = 0; i < records - 4; i++) out.push(`h${i} A 10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`);
  return out.join('\n') + '\n';
}

/** One query's answer: its SOA serial (or -1), and how long it took (ms; Infinity when none came within 1 s). */
function ask(port: number, name: string, type: 'SOA' | 'A'): Promise<{ serial: number; ms: number }> {
  return new Promise((resolve) => {
    const s = dgram.createSocket('udp4');
    const t0 = performance.now();
    const timer = setTimeout(() => {
      s.close();
      resolve({ serial: -1, ms: Infinity });
    }, 1000);
    s.on('message', (m) => {
      clearTimeout(timer);
      s.close();
      let serial = -1;
      try {
        const soa = dnsPacket.decode(m).answers?.find((a) => a.type === 'SOA') as { data: { serial: number } } | undefined;
        serial = soa?.data.serial ?? -1;
      } catch {
        /* counted as no answer */
      }
      resolve({ serial, ms: performance.now() - t0 });
    });
    s.send(dnsPacket.encode({ type: 'query', id: 1, flags: 0, questions: [{ type, name, class: 'IN' }] }), port, '127.0.0.1');
  });
}

/** Waits until `n` SOA queries in a row see `serial`; resolves with the ms it took, or -1 after `timeoutMs`. */
async function untilEveryWorker(port: number, serial: number, timeoutMs: number, n = 32): Promise<number> {
  const t0 = performance.now();
  while (performance.now() - t0 < timeoutMs) {
    let all = true;
    for (let i = 0; i < n && all; i++) all = (await ask(port, 'example.com', 'SOA')).serial === serial;
    if (all) return performance.now() - t0;
    await new Promise((r) => setTimeout(r, 5));
  }
  return -1;
}

/** Asks for www every 5 ms until stopped; returns the longest wait seen and the queries left unanswered. */
function probe(port: number): { stop: () => Promise<{ maxMs: number; lost: number; asked: number }> } {
  let running = true;
  let maxMs = 0;
  let lost = 0;
  let asked = 0;
  const loop = (async () => {
    while (running) {
      const r = await ask(port, 'www.example.com', 'A');
      asked++;
      if (r.ms === Infinity) lost++;
      else maxMs = Math.max(maxMs, r.ms);
      await new Promise((res) => setTimeout(res, 5));
    }
  })();
  return {
    stop: async () => {
      running = false;
      await loop;
      return { maxMs, lost, asked };
    },
  };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

async function main(): Promise<void> {
  const o = parse(process.argv.slice(2));
  for (const tool of ['nsd', 'nsd-control']) {
    if (spawnSync(tool, ['-h'], { encoding: 'utf8' }).error) throw new Error(`${tool} is needed (apt-get install nsd)`);
  }
  const dir = mkdtempSync(join(tmpdir(), 'shardns-bench-secondary-'));
  chmodSync(dir, 0o755);
  const procs: ChildProcess[] = [];
  try {
    const nsdPort = await freePort();
    const port = await freePort(new Set([nsdPort]));
    const zoneFile = join(dir, 'example.com.zone');
    let serial = 1;
    writeFileSync(zoneFile, zoneText(o.records, serial, '192.0.2.1'));
    writeFileSync(
      join(dir, 'nsd.conf'),
      `server:\n  ip-address: 127.0.0.1@${nsdPort}\n  port: ${nsdPort}\n  username: ""\n  zonesdir: "${dir}"\n  database: ""\n  pidfile: "${dir}/nsd.pid"\n  xfrdfile: "${dir}/xfrd.state"\n  zonelistfile: "${dir}/zone.list"\n  rrl-ratelimit: 0\n  server-count: 1\n  verbosity: 1\n` +
        `remote-control:\n  control-enable: yes\n  control-interface: ${dir}/nsd.ctl\n` +
        `zone:\n  name: "example.com."\n  zonefile: "${zoneFile}"\n  provide-xfr: 127.0.0.0/8 NOKEY\n  notify: 127.0.0.1@${port} NOKEY\n  store-ixfr: yes\n  create-ixfr: yes\n`,
    );
    const nsd = spawn('nsd', ['-d', '-c', join(dir, 'nsd.conf')], { stdio: 'ignore' });
    procs.push(nsd);
    const t0 = performance.now();
    while ((await ask(nsdPort, 'example.com', 'SOA')).serial !== serial) {
      if (performance.now() - t0 > 300_000) throw new Error('NSD did not load the zone');
      await new Promise((r) => setTimeout(r, 100));
    }
    process.stderr.write(`NSD serves ${o.records} records after ${((performance.now() - t0) / 1000).toFixed(1)} s\n`);
    writeFileSync(join(dir, 'shardns.json'), JSON.stringify({ zones: [{ name: 'example.com.', type: 'secondary', primaries: [`127.0.0.1:${nsdPort}`], 'allow-notify': ['127.0.0.1'] }] }));
    let log = '';
    const s0 = performance.now();
    const shardns = spawn(process.execPath, [join(ROOT, 'bin/shardns.js'), 'serve', '--config', join(dir, 'shardns.json'), '--port', String(port), '--workers', String(o.workers), '--listen', '127.0.0.1', '--forward', 'none', '--state-dir', join(dir, 'state'), '--log-level', 'debug'], { stdio: ['ignore', 'pipe', 'pipe'] });
    procs.push(shardns);
    // When shardns says it got the NOTIFY of the serial awaited: what follows is shardns's part (NSD's reload comes before).
    let notifiedAt = -1;
    const seen = (d: Buffer): void => {
      const text = d.toString();
      log += text;
      if (notifiedAt < 0 && text.includes(`for serial ${serial}; checking now`)) notifiedAt = performance.now();
    };
    shardns.stdout?.on('data', seen);
    shardns.stderr?.on('data', seen);
    const first = await untilEveryWorker(port, serial, 600_000, 8);
    if (first < 0) throw new Error(`shardns never served serial ${serial}:\n${log}`);
    const firstS = (performance.now() - s0) / 1000;
    process.stderr.write(`shardns (secondary, ${o.workers} workers) serves serial 1 after ${firstS.toFixed(1)} s (start, AXFR, build)\n`);
    const rows: { ms: number; fromNotify: number; mapped: number | null; maxMs: number; lost: number; asked: number; how: string }[] = [];
    for (let round = 1; round <= o.rounds; round++) {
      serial++;
      writeFileSync(zoneFile, zoneText(o.records, serial, `192.0.2.${serial}`));
      const since = log.length;
      notifiedAt = -1;
      const p = probe(port);
      const start = performance.now();
      const r = spawnSync('nsd-control', ['-c', join(dir, 'nsd.conf'), 'reload', 'example.com.'], { encoding: 'utf8' });
      if (r.status !== 0) throw new Error(`nsd-control reload: ${r.stdout}${r.stderr}`);
      const ms = await untilEveryWorker(port, serial, 120_000);
      const took = ms < 0 ? -1 : performance.now() - start;
      const fromNotify = ms < 0 || notifiedAt < 0 ? -1 : performance.now() - notifiedAt;
      const q = await p.stop();
      // The supervisor logs that every worker mapped the image once their acknowledgements are in, which can
      // come after the probe saw the new serial everywhere: wait for that line (a little) before reading the round's log.
      for (let waited = 0; waited < 2000 && !log.slice(since).includes('workers map the zones served now'); waited += 50) await new Promise((r) => setTimeout(r, 50));
      const roundLog = log.slice(since);
      const line = /zone example\.com\.: serial \d+, \d+ records; (\w+) from [^\n]* in (\d+) ms \(([^)]*)\)/.exec(roundLog);
      const how = line ? `${line[1]} job ${line[2]} ms (${line[3]})` : 'no transfer line in the log';
      const mapped = logSpan(roundLog, `for serial ${serial}; checking now`, 'workers map the zones served now');
      rows.push({ ms: took, fromNotify, mapped, ...q, how });
      process.stderr.write(`round ${round}: serial ${serial} from every worker after ${took.toFixed(0)} ms (${fromNotify.toFixed(0)} ms after shardns logged the NOTIFY; every worker had mapped it ${mapped} ms after, by shardns's log); probe longest wait ${q.maxMs.toFixed(1)} ms, ${q.lost} of ${q.asked} unanswered; ${how}\n`);
      if (o.log !== null) appendFileSync(o.log, `--- round ${round} (serial ${serial}) ---\n${roundLog.split('\n').filter((l) => !l.includes('] query ')).join('\n')}\n`);
      await new Promise((res) => setTimeout(res, 1000));
    }
    const ok = rows.filter((r) => r.ms >= 0);
    console.log(`## Secondary: NOTIFY → new serial in every worker (${o.records} records, ${o.workers} workers, ${o.rounds} rounds)\n`);
    console.log(`first answer after start (AXFR from NSD and build): ${firstS.toFixed(1)} s\n`);
    console.log('| round | reload → every worker (ms) | NOTIFY logged → every worker (ms) | NOTIFY → every worker mapped, shardns log (ms) | probe longest wait (ms) | probe unanswered | what shardns did |');
    console.log('|---|---|---|---|---|---|---|');
    rows.forEach((r, i) => console.log(`| ${i + 1} | ${r.ms < 0 ? 'timed out' : r.ms.toFixed(0)} | ${r.fromNotify < 0 ? '?' : r.fromNotify.toFixed(0)} | ${r.mapped ?? '?'} | ${r.maxMs.toFixed(1)} | ${r.lost}/${r.asked} | ${r.how} |`));
    if (ok.length > 0) console.log(`\nmedian: ${median(ok.map((r) => r.ms)).toFixed(0)} ms from the reload, ${median(ok.map((r) => r.fromNotify)).toFixed(0)} ms from the NOTIFY logged (target ≤ 1000 ms); worst ${Math.max(...ok.map((r) => r.fromNotify)).toFixed(0)} ms`);
  } finally {
    for (const p of procs) p.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
