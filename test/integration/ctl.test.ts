/**
 * `shardns ctl` over the control socket: status, reload (every zone or
 * one), stats as text and JSON, stop; the socket's mode and owner, --control,
 * and the exit codes (0 worked, 1 failed or unreachable, 2 usage).
 */

import { expect } from 'chai';
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { udpQuery } from '../helpers/dns-client.js';
import { BIN, freePort, spawnServer, startServer, until, type RunningServer, workerPids } from '../helpers/server.js';

/** The uid the server runs as: nobody when the tests run as root (it drops), else ourselves. */
const SERVER_UID = process.getuid?.() === 0 ? 65534 : process.getuid?.() ?? -1;

interface Ran {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** `shardns ctl ARGS`, to its end. */
function ctl(args: string[], options: { uid?: number; gid?: number } = {}): Promise<Ran> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [BIN, 'ctl', ...args], { stdio: ['ignore', 'pipe', 'pipe'], ...options });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    p.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

function zoneText(serial: number, www: string): string {
  return `$TTL 60\n@ SOA ns1 host ${serial} 2h 1h 2w 5m\n@ NS ns1\nns1 A 192.0.2.53\nwww A ${www}\n`;
}

describe('shardns ctl', function () {
  this.timeout(60_000);
  let dir: string;
  let state: string;
  let zoneA: string;
  let zoneB: string;
  let server: RunningServer;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'shardns-ctl-'));
    chmodSync(dir, 0o755);
    state = join(dir, 'state');
    zoneA = join(dir, 'a.test.zone');
    zoneB = join(dir, 'b.test.zone');
    writeFileSync(zoneA, zoneText(1, '192.0.2.1'));
    writeFileSync(zoneB, zoneText(1, '192.0.2.2'));
    server = await startServer(['--workers', '2', '--listen', '127.0.0.1', '--forward', 'none', '--state-dir', state, '--zone', `a.test.=${zoneA}`, '--zone', `b.test.=${zoneB}`]);
  });
  after(() => {
    server?.kill();
    rmSync(dir, { recursive: true, force: true });
  });

  it('the control socket is in the state directory, a socket of mode 0600 owned by the server\'s user', () => {
    const st = statSync(join(state, 'control.sock'));
    expect(st.isSocket()).to.equal(true);
    expect(st.mode & 0o777).to.equal(0o600);
    expect(st.uid).to.equal(SERVER_UID);
  });

  it('status: the supervisor, each worker with its pid, each zone with its serial and file', async () => {
    const r = await ctl(['status', '--state-dir', state]);
    expect(r.code, r.stderr).to.equal(0);
    const workers = workerPids(server.proc.pid!);
    expect(r.stdout).to.include(`supervisor pid ${server.proc.pid}`);
    for (const pid of workers) expect(r.stdout).to.match(new RegExp(`worker \\d: pid ${pid}, serving, up \\d+ s, 0 restart\\(s\\)`));
    expect(r.stdout).to.include(`a.test. serial 1, 4 records, from ${zoneA}`);
    expect(r.stdout).to.include(`listening on 127.0.0.1:${server.port} (udp, tcp) with 2 workers`);

    const j = await ctl(['status', '--json', '--state-dir', state]);
    const s = JSON.parse(j.stdout) as { pid: number; phase: string; workers: { pid: number; ready: boolean }[]; zones: { origin: string; serial: number; file: string }[] };
    expect(s.pid).to.equal(server.proc.pid);
    expect(s.phase).to.equal('running');
    expect(s.workers.map((w) => w.pid).sort()).to.deep.equal([...workers].sort());
    expect(s.zones.map((z) => [z.origin, z.serial, z.file])).to.deep.equal([
      ['a.test.', 1, zoneA],
      ['b.test.', 1, zoneB],
    ]);
  });

  it('stats: counters summed over the workers, as text and --json', async () => {
    for (let i = 0; i < 10; i++) await udpQuery('www.a.test', 'A', 'IN', server.port);
    const j = await ctl(['stats', '--json', '--state-dir', state]);
    expect(j.code, j.stderr).to.equal(0);
    const s = JSON.parse(j.stdout) as { workers: { pid: number; counters: { queries: number } }[]; totals: Record<string, number> };
    expect(s.workers).to.have.length(2);
    expect(s.totals['queries']).to.equal(s.workers.reduce((n, w) => n + w.counters.queries, 0));
    expect(s.totals['queries']).to.be.at.least(10);
    const t = await ctl(['stats', '--state-dir', state]);
    expect(t.code).to.equal(0);
    expect(t.stdout).to.match(/total over 2 worker\(s\):\n(.*\n)*  queries \d+\n/);
  });

  it('reload ZONE: only that zone is read again; the other keeps its version', async () => {
    writeFileSync(zoneA, zoneText(2, '192.0.2.11'));
    writeFileSync(zoneB, zoneText(2, '192.0.2.22'));
    const r = await ctl(['reload', 'A.TEST', '--state-dir', state]);
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stdout).to.match(/reloaded 1 zone\(s\) in 2 worker\(s\)/);
    expect(r.stdout).to.include('a.test. serial 2');
    for (let i = 0; i < 6; i++) {
      expect((await udpQuery('www.a.test', 'A', 'IN', server.port)).answers?.[0]).to.deep.include({ data: '192.0.2.11' });
      expect((await udpQuery('www.b.test', 'A', 'IN', server.port)).answers?.[0]).to.deep.include({ data: '192.0.2.2' });
    }
    const all = await ctl(['reload', '--state-dir', state]);
    expect(all.code, all.stderr).to.equal(0);
    expect((await udpQuery('www.b.test', 'A', 'IN', server.port)).answers?.[0]).to.deep.include({ data: '192.0.2.22' });
  });

  it('reload failures exit 1 with the reason: a broken zone (the old data keeps serving), an unknown zone', async () => {
    writeFileSync(zoneA, zoneText(3, '192.0.2.256'));
    const r = await ctl(['reload', 'a.test.', '--state-dir', state]);
    expect(r.code).to.equal(1);
    expect(r.stderr).to.include(`reload failed; still serving the previous zones:\n${zoneA}:5:`);
    expect((await udpQuery('www.a.test', 'A', 'IN', server.port)).answers?.[0]).to.deep.include({ data: '192.0.2.11' });
    const unknown = await ctl(['reload', 'c.test', '--state-dir', state]);
    expect(unknown.code).to.equal(1);
    expect(unknown.stderr).to.include('no zone c.test is served — the zones are: a.test., b.test.');
  });

  it('usage errors exit 2: an unknown command, a zone for another command', async () => {
    const bad = await ctl(['restart', '--state-dir', state]);
    expect(bad.code).to.equal(2);
    expect(bad.stderr).to.match(/Invalid values:[\s\S]*restart/);
    const zone = await ctl(['status', 'a.test', '--state-dir', state]);
    expect(zone.code).to.equal(2);
    expect(zone.stderr).to.include('ctl status takes no zone');
  });

  it('no server there: exit 1 saying so and what to check', async () => {
    const r = await ctl(['status', '--state-dir', join(dir, 'nothing-here')]);
    expect(r.code).to.equal(1);
    expect(r.stderr).to.include(`control socket ${join(dir, 'nothing-here', 'control.sock')}: no such socket: is shardns running? — start it, or point ctl at it`);
  });

  it('another user may not connect: exit 1, permission denied', async function () {
    if (process.getuid?.() !== 0) {
      console.log('      skip: not root: cannot run ctl as another user');
      this.skip();
    }
    // uid 1 (daemon) is neither root nor the server's user.
    const r = await ctl(['status', '--state-dir', state], { uid: 1, gid: 1 });
    expect(r.code).to.equal(1);
    expect(r.stderr).to.include("permission denied — the socket is mode 0600 and belongs to the server's user");
  });

  it('a second server on the same state directory is refused while the first answers', async () => {
    const second = spawnServer(['--workers', '1', '--listen', '127.0.0.1', '--forward', 'none', '--state-dir', state], await freePort());
    expect((await second.exited).code).to.equal(1);
    expect(second.stderr()).to.include('another shardns is running and answering here');
    expect((await ctl(['status', '--state-dir', state])).code).to.equal(0);
  });

  it('stop: exit 0, the server drains and exits 0, the socket file is gone', async () => {
    const workers = workerPids(server.proc.pid!);
    const r = await ctl(['stop', '--state-dir', state]);
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stdout).to.include(`stopping: pid ${server.proc.pid}`);
    expect((await server.exited).code).to.equal(0);
    expect(server.stdout()).to.match(/shardns ctl stop: shutting down[\s\S]*stopped/);
    expect(existsSync(join(state, 'control.sock'))).to.equal(false);
    expect(await until(() => workers.every((p) => !existsSync(`/proc/${p}`)))).to.equal(true);
  });

  it('--control moves the socket; a stale file left by a killed server is replaced', async () => {
    const sock = join(dir, 'elsewhere.sock');
    const s = await startServer(['--workers', '1', '--listen', '127.0.0.1', '--forward', 'none', '--control', sock]);
    try {
      expect(statSync(sock).mode & 0o777).to.equal(0o600);
      expect((await ctl(['status', '--control', sock])).stdout).to.include(`supervisor pid ${s.proc.pid}`);
      s.kill();
      await s.exited;
      expect(existsSync(sock), 'a killed server leaves its socket file').to.equal(true);
      const again = await startServer(['--workers', '1', '--listen', '127.0.0.1', '--forward', 'none', '--control', sock]);
      try {
        expect((await ctl(['status', '--control', sock])).stdout).to.include(`supervisor pid ${again.proc.pid}`);
      } finally {
        again.kill();
      }
    } finally {
      s.kill();
    }
  });

  it('ctl --help lists the commands', () => {
    const r = spawnSync(process.execPath, [BIN, 'ctl', '--help'], { encoding: 'utf8' });
    expect(r.status).to.equal(0);
    for (const c of ['status', 'reload', 'stats', 'upgrade', 'stop']) expect(r.stdout).to.include(c);
  });
});
