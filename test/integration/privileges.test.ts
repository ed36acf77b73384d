/**
 * Privilege drop: started as root, shardns binds, then runs as an
 * unprivileged user (--user, or nobody by default) before it reads a zone
 * or answers a query — supervisor, zone builder and workers alike.
 */

import { expect } from 'chai';
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { udpQuery, txtOf } from '../helpers/dns-client.js';
import { freePort, spawnServer, startServer, until, type RunningServer, workerPids } from '../helpers/server.js';
import { otherUserUnavailable } from '../helpers/other-user.js';

const NOBODY = 65534;
/** `daemon` on Debian: uid 1, gid 1. */
const DAEMON = 1;

/** Real, effective, saved and file-system ids, supplementary groups and effective capabilities of a process. */
function credentials(pid: number): { uid: number[]; gid: number[]; groups: number[]; capEff: string } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const field = (name: string): string => new RegExp(`^${name}:\\s*(.*)$`, 'm').exec(status)?.[1]?.trim() ?? '';
  const nums = (t: string): number[] => t.split(/\s+/).filter(Boolean).map(Number);
  return { uid: nums(field('Uid')), gid: nums(field('Gid')), groups: nums(field('Groups')), capEff: field('CapEff') };
}

/** A temporary folder readable by everyone, with a zone file in it. */
function zoneFolder(): { dir: string; zone: string } {
  const dir = mkdtempSync(join(tmpdir(), 'shardns-priv-'));
  chmodSync(dir, 0o755);
  const zone = join(dir, 'priv.test.zone');
  writeFileSync(zone, '$TTL 60\n@ SOA ns1 host 7 2h 1h 2w 5m\n@ NS ns1\nns1 A 192.0.2.53\nwww A 192.0.2.80\n', { mode: 0o644 });
  return { dir, zone };
}

describe('privilege drop (started as root)', function () {
  this.timeout(60_000);
  const cleanup: string[] = [];
  let server: RunningServer | null = null;

  before(function () {
    const why = otherUserUnavailable();
    if (why) {
      console.log(`      skip: ${why}`);
      this.skip();
    }
  });
  afterEach(() => {
    server?.kill();
    server = null;
  });
  after(() => {
    for (const d of cleanup) rmSync(d, { recursive: true, force: true });
  });

  it('without --user: every process runs as nobody, with no capabilities and no other group; the log says so', async () => {
    const { dir, zone } = zoneFolder();
    cleanup.push(dir);
    const state = join(dir, 'state');
    server = await startServer(['--workers', '2', '--listen', '127.0.0.1', '--forward', 'none', '--zone', `priv.test.=${zone}`, '--state-dir', state]);
    expect(server.stdout()).to.match(/started as root without --user: running as nobody \(uid 65534, gid 65534 nogroup\)/);
    const pids = [server.proc.pid!, ...workerPids(server.proc.pid!)];
    expect(pids).to.have.length(3);
    for (const pid of pids) {
      const c = credentials(pid);
      expect(c.uid, `pid ${pid} uids`).to.deep.equal([NOBODY, NOBODY, NOBODY, NOBODY]);
      expect(c.gid, `pid ${pid} gids`).to.deep.equal([NOBODY, NOBODY, NOBODY, NOBODY]);
      expect(c.groups, `pid ${pid} supplementary groups`).to.deep.equal([NOBODY]);
      expect(c.capEff, `pid ${pid} CapEff`).to.equal('0000000000000000');
    }
    // The builder (a process of its own, gone by now) wrote the image as nobody; the state directory is nobody's.
    const images = readdirSync(join(state, 'images'));
    expect(images.length).to.be.above(0);
    for (const f of [state, join(state, 'images', images[0]!), join(state, 'control.sock')]) expect(statSync(f).uid, f).to.equal(NOBODY);
    expect((await udpQuery('www.priv.test', 'A', 'IN', server.port)).answers?.[0]).to.deep.include({ data: '192.0.2.80' });
  });

  it('--user daemon:daemon: supervisor and workers run as uid 1, gid 1; a replacement worker too', async () => {
    server = await startServer(['--workers', '2', '--listen', '127.0.0.1', '--forward', 'none', '--user', 'daemon:daemon']);
    expect(server.stdout()).to.match(/running as daemon \(uid 1, gid 1 daemon\) from now on \(--user\)/);
    const [first] = workerPids(server.proc.pid!);
    const since = server.mark();
    process.kill(first!, 'SIGKILL');
    await server.waitFor(/ready again/, 10_000, since);
    const pids = [server.proc.pid!, ...workerPids(server.proc.pid!)];
    expect(pids).to.have.length(3).and.not.include(first);
    for (const pid of pids) {
      const c = credentials(pid);
      expect([c.uid, c.gid, c.groups], `pid ${pid}`).to.deep.equal([[DAEMON, DAEMON, DAEMON, DAEMON], [DAEMON, DAEMON, DAEMON, DAEMON], [DAEMON]]);
    }
  });

  it('binds before it drops: port 53 answers though nobody could not bind it', async function () {
    if (Number(readFileSync('/proc/sys/net/ipv4/ip_unprivileged_port_start', 'utf8')) <= 53) {
      console.log('      skip: net.ipv4.ip_unprivileged_port_start is 53 or below here: any user may bind port 53, so it proves nothing');
      this.skip();
    }
    // A loopback address of its own, so nothing else on port 53 is in the way.
    const address = `127.53.${1 + Math.floor(Math.random() * 250)}.${1 + Math.floor(Math.random() * 250)}`;
    server = spawnServer(['--workers', '1', '--listen', address, '--forward', 'none'], 53);
    await server.waitFor(/listening on .* with 1 worker/);
    const reply = await udpQuery('id.server', 'TXT', 'CH', 53, address);
    const pid = Number(/ pid (\d+) /.exec(txtOf(reply) ?? '')?.[1]);
    expect(credentials(pid).uid).to.deep.equal([NOBODY, NOBODY, NOBODY, NOBODY]);
    expect(credentials(server.proc.pid!).uid).to.deep.equal([NOBODY, NOBODY, NOBODY, NOBODY]);
  });

  const refusals: { name: string; args: string[]; message: RegExp }[] = [
    { name: '--user root', args: ['--user', 'root'], message: /--user root: that is root, and shardns never answers queries as root/ },
    { name: '--user 0', args: ['--user', '0'], message: /that is root/ },
    { name: 'an unknown user', args: ['--user', 'no-such-user-shardns'], message: /--user: there is no user "no-such-user-shardns" on this system — create it/ },
    { name: 'an unknown group', args: ['--user', 'nobody:no-such-group-shardns'], message: /there is no group "no-such-group-shardns"/ },
  ];
  for (const r of refusals) {
    it(`refuses ${r.name}: exit 1, nothing answers`, async () => {
      const s = spawnServer(['--workers', '1', '--listen', '127.0.0.1', '--forward', 'none', ...r.args], await freePort());
      expect((await s.exited).code).to.equal(1);
      expect(s.stderr()).to.match(r.message);
      expect(s.stdout()).to.not.include('listening on');
    });
  }

  it('a zone file the user cannot read: exit 1 naming the file, the user and what to do', async () => {
    const { dir, zone } = zoneFolder();
    cleanup.push(dir);
    chmodSync(zone, 0o600);
    const s = spawnServer(['--workers', '1', '--listen', '127.0.0.1', '--forward', 'none', '--zone', `priv.test.=${zone}`, '--state-dir', join(dir, 'state')], await freePort());
    chmodSync(zone, 0o600); // the test helper opens files to the server's user; this one must stay closed
    expect((await s.exited).code).to.equal(1);
    expect(s.stderr()).to.include(`${zone} cannot be read by nobody (uid 65534, gid 65534 nogroup), the user the server runs as (EACCES): make it readable`);
    expect(existsSync(join(dir, 'state', 'control.sock')), 'a failed start leaves no control socket behind').to.equal(false);
  });

  it('a state directory holding other files is not taken over: exit 1, its owner unchanged', async () => {
    const { dir } = zoneFolder();
    cleanup.push(dir);
    const state = join(dir, 'shared');
    mkdirSync(state, { mode: 0o755 });
    writeFileSync(join(state, 'someone-elses.txt'), 'x');
    const s = spawnServer(['--workers', '1', '--listen', '127.0.0.1', '--forward', 'none', '--state-dir', state], await freePort());
    expect((await s.exited).code).to.equal(1);
    expect(s.stderr()).to.match(/state directory .*shared belongs to uid 0, not to nobody .* and holds files that are not shardns's \(someone-elses\.txt\): it is not handed over — make a folder for it: install -d -m 0750 -o nobody/);
    expect(statSync(state).uid).to.equal(0);
  });

  it('a state directory of an earlier root run (root-owned images) is handed to the user and reused', async () => {
    const { dir, zone } = zoneFolder();
    cleanup.push(dir);
    const state = join(dir, 'state');
    const args = ['--workers', '1', '--listen', '127.0.0.1', '--forward', 'none', '--zone', `priv.test.=${zone}`, '--state-dir', state];
    server = await startServer(args);
    server.proc.kill('SIGTERM');
    await server.exited;
    // As an earlier version, run as root, left them.
    for (const sub of ['images', 'manifests']) {
      chownSync(join(state, sub), 0, 0);
      for (const f of readdirSync(join(state, sub))) chownSync(join(state, sub, f), 0, 0);
    }
    chownSync(state, 0, 0);
    server = await startServer(args);
    expect(server.stdout()).to.match(/image reused/);
    expect(statSync(join(state, 'images')).uid).to.equal(NOBODY);
  });

  it('run as another user, --user naming someone else: exit 1, only root can switch', async () => {
    const { dir } = zoneFolder();
    cleanup.push(dir);
    const state = join(dir, 'state');
    mkdirSync(state);
    chownSync(state, NOBODY, NOBODY);
    const s = spawnServer(['--workers', '1', '--listen', '127.0.0.1', '--forward', 'none', '--user', 'daemon', '--state-dir', state], await freePort(), { uid: NOBODY, gid: NOBODY });
    expect((await s.exited).code).to.equal(1);
    expect(s.stderr()).to.match(/--user daemon: only root can switch to another user, and this process runs as uid 65534/);
  });

  it('run as the user already (no root): no drop, and it says nothing about one', async () => {
    const { dir } = zoneFolder();
    cleanup.push(dir);
    const state = join(dir, 'state');
    mkdirSync(state);
    chownSync(state, NOBODY, NOBODY);
    server = await startServer(['--workers', '1', '--listen', '127.0.0.1', '--forward', 'none', '--user', 'nobody', '--state-dir', state], { uid: NOBODY, gid: NOBODY });
    expect(server.stdout()).to.not.match(/running as .* from now on/);
    expect(await until(() => workerPids(server!.proc.pid!).length === 1)).to.equal(true);
    expect(credentials(workerPids(server.proc.pid!)[0]!).uid).to.deep.equal([NOBODY, NOBODY, NOBODY, NOBODY]);
  });
});
