/** Hosts files answered by the real server beside an upstream NSD: A, AAAA, PTR with AA and RA, /etc/hosts by default, edits seen without a reload or emptying the cache. */

import { expect } from 'chai';
import { chmodSync, mkdtempSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { isIPv4 } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildQuery, decodeReply, udpExchange, type Reply } from '../helpers/dns-client.js';
import { nsdUnavailable, startNsd, type Nsd } from '../helpers/nsd.js';
import { freePort, startServer, until, type RunningServer } from '../helpers/server.js';
import { writeZone } from '../helpers/zone-text.js';

/** A new folder the server's unprivileged user may read (started as root, shardns runs as another user). */
function folder(): string {
  const dir = mkdtempSync(join(tmpdir(), 'shardns-hosts-'));
  chmodSync(dir, 0o755);
  return dir;
}

async function ask(port: number, name: string, type = 'A'): Promise<Reply> {
  const bytes = await udpExchange(buildQuery(name, type, 'IN', { edns: true }), port, '127.0.0.1', 6000);
  if (!bytes) throw new Error(`no reply for ${name} ${type}`);
  return decodeReply(bytes);
}

const brief = (r: Reply): string => [r.rcode, ...r.answers.map((x) => `${x.type} ${String(x.data)}`)].join(' ');

/** The SIGUSR1 counter line's value of `forwarding.<name>`. */
async function counter(s: RunningServer, name: string): Promise<number> {
  const since = s.mark();
  process.kill(s.proc.pid!, 'SIGUSR1');
  const m = await s.waitFor(new RegExp(`forwarding\\.${name}=(\\d+)`), 5000, since);
  return Number(m[1]);
}

describe('hosts files: answered here, reloaded on edit', function () {
  this.timeout(60_000);
  let nsd: Nsd;
  const running: RunningServer[] = [];
  const serve = async (args: string[]): Promise<RunningServer> => {
    const s = await startServer(['--workers', '2', '--listen', '127.0.0.1', '--forward', `127.0.0.1:${nsd.port}`, ...args]);
    running.push(s);
    return s;
  };

  before(async function () {
    const why = nsdUnavailable();
    if (why) {
      console.log(`      skip: ${why}`);
      this.skip();
    }
    nsd = await startNsd([{ name: 'remote.test', file: writeZone('remote.test', ['www 300 A 192.0.2.1', 'later 300 A 192.0.2.2', 'nas 300 A 203.0.113.9']) }], await freePort());
  });
  afterEach(() => {
    for (const s of running.splice(0)) s.kill();
  });
  after(() => nsd?.stop());

  it('A, AAAA and PTR from a hosts file, with AA and RA and TTL 0; other names still go upstream', async () => {
    const dir = folder();
    const file = join(dir, 'hosts');
    writeFileSync(file, '192.168.7.10 nas.home.test nas\nfd00::7:10 nas.home.test\n192.168.7.11 printer.home.test\n# 192.168.7.12 gone.home.test\n');
    const s = await serve(['--etc-hosts', 'off', '--hosts', file]);
    const a = await ask(s.port, 'nas.home.test');
    expect(brief(a)).to.equal('NOERROR A 192.168.7.10');
    expect([a.flag_aa, a.flag_ra, a.answers[0]!.ttl]).to.deep.equal([true, true, 0]);
    expect(brief(await ask(s.port, 'NAS', 'A'))).to.equal('NOERROR A 192.168.7.10');
    expect(brief(await ask(s.port, 'nas.home.test', 'AAAA'))).to.equal('NOERROR AAAA fd00::7:10');
    expect(brief(await ask(s.port, 'printer.home.test', 'AAAA')), 'NODATA: the name is local').to.equal('NOERROR');
    expect(brief(await ask(s.port, '10.7.168.192.in-addr.arpa', 'PTR'))).to.equal('NOERROR PTR nas.home.test');
    expect(brief(await ask(s.port, '0.1.0.0.7.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.d.f.ip6.arpa', 'PTR'))).to.equal('NOERROR PTR nas.home.test');
    const upstream = await ask(s.port, 'www.remote.test');
    expect(brief(upstream)).to.equal('NOERROR A 192.0.2.1');
    expect(upstream.flag_aa).to.equal(false);
    // A commented-out line is not an entry: the name goes upstream (NXDOMAIN there).
    expect(brief(await ask(s.port, 'gone.home.test'))).to.equal('SERVFAIL');
  });

  it('hosts files alone (--forward none) still load the forwarder: their names answered, other names REFUSED', async () => {
    const dir = folder();
    const file = join(dir, 'hosts');
    writeFileSync(file, '192.168.7.10 nas.home.test\n');
    const s = await startServer(['--workers', '2', '--listen', '127.0.0.1', '--forward', 'none', '--etc-hosts', 'off', '--hosts', file]);
    running.push(s);
    // Twice per worker's worth of source ports: both workers must have loaded what the hosts files need.
    for (let i = 0; i < 6; i++) expect(brief(await ask(s.port, 'nas.home.test'))).to.equal('NOERROR A 192.168.7.10');
    expect(brief(await ask(s.port, 'www.remote.test')), 'no upstream: not forwarded').to.equal('REFUSED');
  });

  it('an edit (in place, then a new file renamed over it) is answered without a signal; the forward cache is kept; a forwarded reply kept for a name the file now holds is not given again', async () => {
    const dir = folder();
    const file = join(dir, 'hosts');
    writeFileSync(file, '192.168.7.10 nas.home.test\n');
    const s = await serve(['--etc-hosts', 'off', '--hosts', file]);
    expect(brief(await ask(s.port, 'nas.home.test'))).to.equal('NOERROR A 192.168.7.10');
    // Forwarded and kept (forward cache and reply cache), twice over so every worker may hold it.
    for (let i = 0; i < 6; i++) expect(brief(await ask(s.port, 'www.remote.test'))).to.equal('NOERROR A 192.0.2.1');
    for (let i = 0; i < 6; i++) expect(brief(await ask(s.port, 'nas.remote.test'))).to.equal('NOERROR A 203.0.113.9');
    const upstreamBefore = await counter(s, 'upstreamQueries');

    writeFileSync(file, '192.168.7.20 nas.home.test\n10.0.0.99 nas.remote.test\n');
    expect(await until(async () => brief(await ask(s.port, 'nas.home.test')) === 'NOERROR A 192.168.7.20', 5000, 100), 'in-place edit seen').to.equal(true);
    for (let i = 0; i < 6; i++) expect(brief(await ask(s.port, 'nas.remote.test')), 'the hosts file now holds it').to.equal('NOERROR A 10.0.0.99');

    const next = join(dir, 'hosts.new');
    writeFileSync(next, '192.168.7.30 nas.home.test\n');
    renameSync(next, file);
    expect(await until(async () => brief(await ask(s.port, 'nas.home.test')) === 'NOERROR A 192.168.7.30', 5000, 100), 'rename over the file seen').to.equal(true);
    expect(brief(await ask(s.port, 'nas.remote.test')), 'gone from the file: upstream again').to.equal('NOERROR A 203.0.113.9');

    // The forward cache survived both edits: www.remote.test was not asked upstream again.
    for (let i = 0; i < 6; i++) expect(brief(await ask(s.port, 'www.remote.test'))).to.equal('NOERROR A 192.0.2.1');
    const upstreamAfter = await counter(s, 'upstreamQueries');
    expect(upstreamAfter - upstreamBefore, 'upstream questions after the edits (nas.remote.test once more at most per worker, www.remote.test none)').to.be.at.most(2);
    expect(s.stdout()).to.match(/hosts files changed, read again: 1 names, 1 addresses with a PTR/);
  });

  it('/etc/hosts is answered from by default when forwarding is on', async function () {
    const line = readFileSync('/etc/hosts', 'utf8')
      .split('\n')
      .map((l) => l.replace(/#.*/, '').trim().split(/\s+/))
      .find((f) => f.length >= 2 && isIPv4(f[0]!) && f[0] !== '0.0.0.0');
    if (!line) {
      console.log('      skip: /etc/hosts has no IPv4 entry to ask for');
      this.skip();
    }
    const [address, name] = line as [string, string];
    const all = readFileSync('/etc/hosts', 'utf8')
      .split('\n')
      .map((l) => l.replace(/#.*/, '').trim().split(/\s+/))
      .filter((f) => f.length >= 2 && isIPv4(f[0]!) && f.slice(1).some((n) => n.toLowerCase() === name.toLowerCase()))
      .map((f) => f[0]!);
    const s = await serve([]);
    const r = await ask(s.port, name);
    expect(r.answers.map((x) => x.data)).to.deep.equal([...new Set(all)]);
    expect(r.answers.map((x) => x.data)).to.include(address);
    expect(r.flag_aa).to.equal(true);
    const off = await serve(['--etc-hosts', 'off']);
    // Not from the file now: the upstream (which has no such name) is asked.
    expect((await ask(off.port, name)).flag_aa).to.equal(false);
  });

  it('a hosts file that cannot be read is told (and answered once it appears)', async () => {
    const dir = folder();
    const file = join(dir, 'missing-hosts');
    const s = await serve(['--etc-hosts', 'off', '--hosts', file]);
    await s.waitFor(/hosts file .*missing-hosts: cannot read it \(ENOENT\); its names are not answered until it can be read \(it is watched\) — check the path given to --hosts and that shardns's user may read it/, 5000);
    writeFileSync(file, '192.168.7.40 late.home.test\n');
    expect(await until(async () => brief(await ask(s.port, 'late.home.test')) === 'NOERROR A 192.168.7.40', 5000, 100)).to.equal(true);
  });
});
