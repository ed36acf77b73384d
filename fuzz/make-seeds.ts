/**
 * Makes the fuzz seeds (run by hand: `npm run build && node dist/fuzz/make-seeds.js`):
 * signs the DNSSEC test template into fuzz/zones/ (dnssec-keygen,
 * dnssec-signzone), then records real queries from dig and kdig and NSD's
 * replies to them through a recording proxy on loopback, and copies the
 * fixture zone files. Needs nsd, dig, kdig and bind9-utils (apt-get install
 * nsd bind9-dnsutils knot-dnsutils bind9-utils).
 */

import { execFile, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import dgram from 'node:dgram';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadZones } from '../src/zones.js';
import { startNsd } from '../test/helpers/nsd.js';
import { freePort } from '../test/helpers/server.js';
import { FUZZ_DIR, fuzzZoneConfigs, ROOT } from './context.js';

/** The signed variants: NSEC, and NSEC3 with salt and extra iterations (RFC 5155 §3.1). */
const SIGNED = [
  { origin: 'nsec.example.', nsec3: [] as string[] },
  { origin: 'nsec3.example.', nsec3: ['-3', 'aabbccdd', '-H', '2'] },
];
/** Fixed RRSIG validity, so the files do not depend on the day they were signed. */
const INCEPTION = '20250101000000';
const EXPIRATION = '20750101000000';

/** Runs a tool; its stdout, or throws with its stderr and what to install. */
function run(tool: string, args: string[], cwd: string): string {
  const r = spawnSync(tool, args, { cwd, encoding: 'utf8' });
  if (r.error) throw new Error(`cannot run ${tool}: ${r.error.message} — apt-get install bind9-utils`);
  if (r.status !== 0) throw new Error(`${tool} ${args.join(' ')} exited ${r.status}:\n${r.stderr}`);
  return r.stdout;
}

/** Signs test/fixtures/dnssec/signed.zone.in for each variant into fuzz/zones/<origin>zone.signed. */
function signZones(): void {
  const out = `${FUZZ_DIR}zones/`;
  mkdirSync(out, { recursive: true });
  const template = readFileSync(`${ROOT}test/fixtures/dnssec/signed.zone.in`, 'utf8');
  for (const v of SIGNED) {
    const dir = mkdtempSync(join(tmpdir(), 'shardns-fuzz-sign-'));
    try {
      const base = join(dir, `${v.origin}zone`);
      writeFileSync(base, `$ORIGIN ${v.origin}\n${template}`);
      run('dnssec-keygen', ['-q', '-K', dir, '-a', 'ECDSAP256SHA256', '-f', 'KSK', '-n', 'ZONE', v.origin], dir);
      run('dnssec-keygen', ['-q', '-K', dir, '-a', 'ECDSAP256SHA256', '-n', 'ZONE', v.origin], dir);
      run('dnssec-signzone', ['-q', '-S', '-K', dir, '-o', v.origin, '-s', INCEPTION, '-e', EXPIRATION, ...v.nsec3, '-f', `${out}${v.origin}zone.signed`, base], dir);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
}

/** Writes each input once into fuzz/corpus/<target>/ under its SHA-1 (libFuzzer's naming); returns how many are new. */
function writeSeeds(target: string, inputs: Buffer[]): number {
  const dir = `${FUZZ_DIR}corpus/${target}/`;
  mkdirSync(dir, { recursive: true });
  const have = new Set(readdirSync(dir));
  let added = 0;
  for (const input of inputs) {
    const name = createHash('sha1').update(input).digest('hex');
    if (have.has(name)) continue;
    have.add(name);
    writeFileSync(dir + name, input);
    added++;
  }
  return added;
}

/** What went through the proxy: queries and replies over UDP, and whole client streams over TCP. */
interface Recorded {
  udpQueries: Buffer[];
  replies: Buffer[];
  tcpStreams: Buffer[];
}

/** A proxy on 127.0.0.1:port that passes every message to NSD on `upstream` and records both directions. */
function startProxy(port: number, upstream: number, rec: Recorded): Promise<() => void> {
  const udp = dgram.createSocket('udp4');
  udp.on('message', (msg, rinfo) => {
    rec.udpQueries.push(Buffer.from(msg));
    const out = dgram.createSocket('udp4');
    out.on('message', (reply) => {
      rec.replies.push(Buffer.from(reply));
      udp.send(reply, rinfo.port, rinfo.address);
      out.close();
    });
    out.send(msg, upstream, '127.0.0.1');
  });
  const tcp = net.createServer((client) => {
    let stream = Buffer.alloc(0);
    let back = Buffer.alloc(0);
    const server = net.connect({ port: upstream, host: '127.0.0.1' });
    client.on('data', (d) => {
      stream = Buffer.concat([stream, d]);
      server.write(d);
    });
    server.on('data', (d) => {
      back = Buffer.concat([back, d]);
      while (back.length >= 2 && back.length >= 2 + back.readUInt16BE(0)) {
        rec.replies.push(Buffer.from(back.subarray(2, 2 + back.readUInt16BE(0))));
        back = back.subarray(2 + back.readUInt16BE(0));
      }
      client.write(d);
    });
    const close = (): void => {
      if (stream.length > 0) rec.tcpStreams.push(stream);
      stream = Buffer.alloc(0);
      client.destroy();
      server.destroy();
    };
    client.on('close', close);
    server.on('close', close);
    client.on('error', close);
    server.on('error', close);
  });
  return new Promise((resolve) => {
    udp.bind(port, '127.0.0.1', () => {
      tcp.listen(port, '127.0.0.1', () =>
        resolve(() => {
          udp.close();
          tcp.close();
        }),
      );
    });
  });
}

/** Runs a client (dig or kdig), resolving when it exits, whatever it said. */
function client(tool: string, args: string[]): Promise<void> {
  return new Promise((resolve) => execFile(tool, args, { timeout: 10_000 }, () => resolve()));
}

/** dig's ways of asking, cycled through the questions. */
const DIG_OPTIONS = [[], ['+dnssec'], ['+nsid'], ['+noedns'], ['+bufsize=512'], ['+cd', '+dnssec'], ['+adflag'], ['+norecurse'], ['+nocookie'], ['+subnet=192.0.2.0/24'], ['+edns=1'], ['+tcp'], ['+bufsize=1232', '+dnssec', '+nsid'], ['+ignore', '+bufsize=0'], ['+tcp', '+dnssec'], ['+opcode=2'], ['+ednsopt=65001:abcd'], ['+zflag'], ['+padding=128']];
/** kdig's, the same way. */
const KDIG_OPTIONS = [[], ['+dnssec'], ['+nsid'], ['+tcp'], ['+cookie'], ['+padding'], ['+subnet=198.51.100.0/24'], ['+edns=0', '+bufsize=4096'], ['+noedns'], ['+tcp', '+dnssec', '+nsid']];
/** Types asked of each name. */
const TYPES = ['A', 'AAAA', 'MX', 'TXT', 'NS', 'SOA', 'ANY', 'DS', 'DNSKEY', 'NSEC3PARAM', 'RRSIG', 'CNAME', 'SRV', 'PTR', 'TYPE65534', 'CAA'];

/** Questions over the fuzz zones: every owner (at most 30 a zone, two types, once in upper case), missing names, out-of-zone names, CH identity. */
function questions(): { name: string; type: string; klass: string }[] {
  const loaded = loadZones(fuzzZoneConfigs());
  if (!loaded.ok) throw new Error(loaded.errors.join('\n'));
  const qs: { name: string; type: string; klass: string }[] = [];
  let t = 0;
  for (const zone of loaded.loaded) {
    const owners = [...zone.nodes.values()].map((rs) => rs[0]!.name).filter((n) => !/\\/.test(n) || zone.origin.startsWith('escaped'));
    for (const owner of owners.slice(0, 30)) {
      qs.push({ name: owner, type: TYPES[t % TYPES.length]!, klass: 'IN' }, { name: owner.toUpperCase(), type: TYPES[(t + 7) % TYPES.length]!, klass: 'IN' });
      t++;
    }
    qs.push({ name: `nx-${t}.${zone.origin}`, type: 'A', klass: 'IN' }, { name: `deep.nx.${zone.origin}`, type: 'AAAA', klass: 'IN' });
  }
  qs.push({ name: 'www.example.net', type: 'A', klass: 'IN' }, { name: '.', type: 'NS', klass: 'IN' }, { name: 'id.server', type: 'TXT', klass: 'CH' }, { name: 'version.bind', type: 'TXT', klass: 'CH' }, { name: 'example.com', type: 'AXFR', klass: 'IN' });
  return qs;
}

async function main(): Promise<void> {
  for (const tool of ['nsd', 'dig', 'kdig', 'dnssec-signzone']) {
    if (spawnSync(tool, ['-h']).error) throw new Error(`${tool} not installed — apt-get install nsd bind9-dnsutils knot-dnsutils bind9-utils`);
  }
  signZones();
  const zones = fuzzZoneConfigs();
  const nsdPort = await freePort();
  const nsd = await startNsd(zones, nsdPort);
  const proxyPort = await freePort();
  const rec: Recorded = { udpQueries: [], replies: [], tcpStreams: [] };
  const stopProxy = await startProxy(proxyPort, nsdPort, rec);
  try {
    const qs = questions();
    const jobs: (() => Promise<void>)[] = [];
    qs.forEach((q, i) => {
      const dig = DIG_OPTIONS[i % DIG_OPTIONS.length]!;
      jobs.push(() => client('dig', [`@127.0.0.1`, '-p', String(proxyPort), '+tries=1', '+time=2', '-c', q.klass, '-t', q.type, '-q', q.name, ...dig]));
      if (i % 3 === 0) {
        const kdig = KDIG_OPTIONS[(i / 3) % KDIG_OPTIONS.length]!;
        jobs.push(() => client('kdig', [`@127.0.0.1`, '-p', String(proxyPort), '+retry=0', '+time=2', '-c', q.klass, '-t', q.type, q.name, ...kdig]));
      }
    });
    // A few clients at a time.
    let next = 0;
    await Promise.all(
      Array.from({ length: 4 }, async () => {
        while (next < jobs.length) await jobs[next++]!();
      }),
    );
  } finally {
    stopProxy();
    nsd.stop();
  }
  // TCP streams of several queries, as a pipelining client sends them (RFC 7766 §6.2.1.1).
  const framed = rec.udpQueries.map((q) => Buffer.concat([Buffer.from([q.length >> 8, q.length & 0xff]), q]));
  const pipelined: Buffer[] = [];
  for (let i = 0; i + 2 < framed.length; i += 7) pipelined.push(Buffer.concat(framed.slice(i, i + 3)));
  const zoneFiles = [
    ...readdirSync(`${ROOT}test/fixtures/zones/`).map((f) => `${ROOT}test/fixtures/zones/${f}`),
    ...zones.map((z) => z.file),
    `${ROOT}config/zones/example.com.zone`,
  ];
  const counts = {
    'query-udp': writeSeeds('query-udp', rec.udpQueries),
    'query-tcp': writeSeeds('query-tcp', [...rec.tcpStreams, ...pipelined]),
    forwarded: writeSeeds('forwarded', rec.replies),
    'zone-parser': writeSeeds('zone-parser', [...new Set(zoneFiles)].map((f) => readFileSync(f))),
  };
  console.log(`recorded ${rec.udpQueries.length} UDP queries, ${rec.tcpStreams.length} TCP streams, ${rec.replies.length} replies; new seeds: ${JSON.stringify(counts)}`);
}

main().catch((e: unknown) => {
  console.error(`make-seeds: ${(e as Error).stack ?? String(e)}`);
  process.exitCode = 1;
});
