/**
 * Zero-downtime upgrade: `shardns ctl upgrade` and SIGUSR2 start the code
 * installed now as a new supervisor on the same sockets; the old workers go
 * only once the new ones serve. A new version that cannot start leaves the
 * old one serving, and the command says why. Runs from a copy of the
 * program in a temporary folder, whose package.json version is changed as
 * an installation of a new release would.
 */

import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { chmodSync, cpSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, rmSync, symlinkSync, writeFileSync, appendFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildQuery, decodeReply, txtOf, udpExchange } from '../helpers/dns-client.js';
import { alive, BIN, childPids, freePort, ROOT, spawnServer, until, type RunningServer, workerPids } from '../helpers/server.js';

interface Ran {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** A copy of the program (bin, compiled src and workers, package.json; node_modules linked) in a folder everyone may read. */
function install(version: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'shardns-install-'));
  chmodSync(dir, 0o755);
  cpSync(join(ROOT, 'bin'), join(dir, 'bin'), { recursive: true });
  cpSync(join(ROOT, 'dist', 'src'), join(dir, 'dist', 'src'), { recursive: true });
  cpSync(join(ROOT, 'dist', 'workers'), join(dir, 'dist', 'workers'), { recursive: true });
  chmodSync(join(dir, 'dist'), 0o755);
  symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'));
  setVersion(dir, version);
  return dir;
}

/** "Installs" another release: the version every process of it reports (version.bind, status). */
function setVersion(dir: string, version: string): void {
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as Record<string, unknown>;
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ ...pkg, version }, null, 2), { mode: 0o644 });
}

/** `shardns ctl ARGS` (the repository's: the installation under test may be broken on purpose), to its end. */
function ctl(args: string[]): Promise<Ran> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [BIN, 'ctl', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    p.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

/** version.bind over UDP from a fresh port: the text, or null when no reply came within `timeoutMs`. */
async function version(port: number, timeoutMs = 3000): Promise<string | null> {
  const r = await udpExchange(buildQuery('version.bind', 'TXT', 'CH'), port, '127.0.0.1', timeoutMs);
  return r === null ? null : txtOf(decodeReply(r) as never);
}

/** Asks version.bind every few ms until stopped: every answer in order, and how many went unanswered. */
function steadyQueries(port: number): { stop(): Promise<{ answers: string[]; lost: number }> } {
  const pending: Promise<string | null>[] = [];
  let running = true;
  const loop = (async () => {
    while (running) {
      pending.push(version(port, 3000));
      await new Promise((r) => setTimeout(r, 4));
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      const all = await Promise.all(pending);
      return { answers: all.filter((a): a is string => a !== null), lost: all.filter((a) => a === null).length };
    },
  };
}

/** Socket inodes listening on `port` over UDP and TCP, IPv4 (from /proc/net). */
function listeningInodes(port: number): string[] {
  const hexPort = port.toString(16).toUpperCase().padStart(4, '0');
  const out: string[] = [];
  for (const [file, state] of [['udp', '07'], ['tcp', '0A']] as const) {
    for (const line of readFileSync(`/proc/net/${file}`, 'utf8').split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f.length >= 10 && f[1]!.endsWith(`:${hexPort}`) && f[3] === state) out.push(f[9]!);
    }
  }
  return out.sort();
}

/** Zone image files a process maps, and whether each is still in the state directory. */
function mappedImages(pid: number): { path: string; deleted: boolean }[] {
  const lines = readFileSync(`/proc/${pid}/maps`, 'utf8').split('\n').filter((l) => l.includes('.zimg'));
  return [...new Set(lines.map((l) => l.slice(l.indexOf('/')).trim()))].map((p) => ({ path: p.replace(/ \(deleted\)$/, ''), deleted: p.endsWith('(deleted)') }));
}

/** Kills a supervisor and what it started (an upgraded one is no child of the test's). */
function killTree(pid: number): void {
  for (const p of [...childPids(pid), pid]) {
    try {
      process.kill(p, 'SIGKILL');
    } catch {
      /* gone */
    }
  }
}

describe('zero-downtime upgrade', function () {
  this.timeout(120_000);
  let dir: string;
  let installed: string;
  let state: string;
  let config: string;
  let server: RunningServer;
  const started: number[] = [];

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'shardns-upgrade-'));
    chmodSync(dir, 0o755);
    installed = install('0.1.0-old');
    state = join(dir, 'state');
    const zone = join(dir, 'up.test.zone');
    writeFileSync(zone, '$TTL 60\n@ SOA ns1 host 5 2h 1h 2w 5m\n@ NS ns1\nns1 A 192.0.2.53\nwww A 192.0.2.80\n', { mode: 0o644 });
    config = join(dir, 'shardns.json');
    writeFileSync(config, JSON.stringify({ listen: ['127.0.0.1'], workers: 2, forward: 'none', zones: [{ name: 'up.test.', file: zone }] }), { mode: 0o644 });
    // Debug: the log then says whether a start needed the zone builder.
    server = spawnServer(['--config', config, '--state-dir', state, '--log-level', 'debug'], await freePort(), {}, join(installed, 'bin', 'shardns.js'));
    await server.waitFor(/listening on .* with 2 workers/);
    started.push(server.proc.pid!);
    expect(await version(server.port)).to.equal('shardns 0.1.0-old');
  });
  after(() => {
    server?.kill();
    for (const pid of started) killTree(pid);
    rmSync(dir, { recursive: true, force: true });
    rmSync(installed, { recursive: true, force: true });
  });

  /** The supervisor serving now, from its control socket. */
  async function status(): Promise<{ pid: number; version: string; workers: { pid: number }[] }> {
    const r = await ctl(['status', '--json', '--state-dir', state]);
    expect(r.code, r.stderr).to.equal(0);
    return JSON.parse(r.stdout) as { pid: number; version: string; workers: { pid: number }[] };
  }

  it('a new release that cannot start: ctl upgrade exits 1 with the reason, and the old one keeps serving', async () => {
    const before = await status();
    const cases: { name: string; break: () => void; mend: () => void; reason: RegExp }[] = [
      {
        name: 'the configuration no longer validates',
        break: () => writeFileSync(config, JSON.stringify({ listen: ['127.0.0.1'], workers: 2, forward: 'none', port: 'http' })),
        mend: () => undefined,
        reason: /upgrade failed: the configuration is invalid: .*"port": must be a whole number from 1 to 65535, got "http"/,
      },
      {
        name: 'the worker count changed (the sockets are the old ones)',
        break: () => writeFileSync(config, JSON.stringify({ listen: ['127.0.0.1'], workers: 3, forward: 'none' })),
        mend: () => undefined,
        reason: /upgrade failed: the running server listens on 127\.0\.0\.1:\d+ with 2 worker\(s\); this configuration asks for 127\.0\.0\.1:\d+ with 3 — an upgrade takes over the open sockets and cannot change listen, port or workers/,
      },
      {
        name: 'the installed code does not load',
        break: () => appendFileSync(join(installed, 'dist', 'src', 'cli.js'), '\nthis is not javascript(\n'),
        mend: () => cpSync(join(ROOT, 'dist', 'src', 'cli.js'), join(installed, 'dist', 'src', 'cli.js')),
        reason: /upgrade failed: the new supervisor \(pid \d+\) exited \(exit code 1\) before it was serving/,
      },
    ];
    const good = readFileSync(config, 'utf8');
    for (const c of cases) {
      setVersion(installed, '0.1.0-broken');
      c.break();
      const r = await ctl(['upgrade', '--state-dir', state]);
      writeFileSync(config, good);
      c.mend();
      setVersion(installed, '0.1.0-old');
      expect(r.code, `${c.name}: ${r.stdout}`).to.equal(1);
      expect(r.stderr, c.name).to.match(c.reason);
      expect(r.stderr).to.include(`the running server (pid ${before.pid}, shardns 0.1.0-old) keeps serving`);
      const now = await status();
      expect([now.pid, now.version, now.workers.map((w) => w.pid)], c.name).to.deep.equal([before.pid, '0.1.0-old', before.workers.map((w) => w.pid)]);
      expect(await version(server.port)).to.equal('shardns 0.1.0-old');
    }
    expect(server.stderr()).to.match(/upgrade failed: .*; still serving \(pid \d+, shardns 0\.1\.0-old\)/);
  });

  it('ctl upgrade: the new release serves on the very same sockets, the old supervisor and workers exit, no query is lost', async () => {
    const before = await status();
    const sockets = listeningInodes(server.port);
    expect(sockets).to.have.length(4);
    const oldImages = [...new Set(before.workers.flatMap((w) => mappedImages(w.pid).map((x) => x.path)))];
    expect(oldImages).to.have.length(1);
    const traffic = steadyQueries(server.port);
    await new Promise((r) => setTimeout(r, 300));
    setVersion(installed, '0.2.0-new');
    const since = server.mark();
    const r = await ctl(['upgrade', '--state-dir', state]);
    expect(r.code, r.stderr).to.equal(0);
    const m = /upgraded: the new supervisor \(pid (\d+), shardns 0\.2\.0-new\) serves on the same sockets/.exec(r.stdout);
    expect(m, r.stdout).to.not.equal(null);
    const newPid = Number(m![1]);
    started.push(newPid);
    // The image format is the same, so the new release serves the image the old one built: no zone builder runs (issue 16).
    await server.waitFor(new RegExp(String.raw`supervisor\[${newPid}\]: zone up\.test\.: serial 5, 4 records; image reused in \d+ ms: sources unchanged`), 1000, since);
    await server.waitFor(new RegExp(String.raw`supervisor\[${newPid}\]: every zone image reused, checked in \d+ ms \(no builder needed\)`), 1000, since);
    // The old supervisor drains its workers and exits 0.
    expect((await server.exited).code).to.equal(0);
    expect(await until(() => before.workers.every((w) => !alive(w.pid)), 10_000)).to.equal(true);
    await new Promise((r) => setTimeout(r, 300));
    const seen = await traffic.stop();
    expect(seen.lost, `unanswered of ${seen.answers.length + seen.lost}`).to.equal(0);
    expect(seen.answers[0]).to.equal('shardns 0.1.0-old');
    expect(seen.answers.at(-1)).to.equal('shardns 0.2.0-new');
    expect(await version(server.port)).to.equal('shardns 0.2.0-new');
    // Never closed, never re-bound: the same socket inodes.
    expect(listeningInodes(server.port)).to.deep.equal(sockets);
    const after = await status();
    expect([after.pid, after.version]).to.deep.equal([newPid, '0.2.0-new']);
    expect(after.workers.map((w) => w.pid).sort()).to.deep.equal(workerPids(newPid).sort());
    // The new supervisor holds every listening socket (taken over, not re-bound).
    const held = readdirSync(`/proc/${newPid}/fd`).map((fd) => {
      try {
        return /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${newPid}/fd/${fd}`))?.[1] ?? '';
      } catch {
        return '';
      }
    });
    expect(sockets.filter((s) => !held.includes(s))).to.deep.equal([]);
    // Its workers map the very image file the old release built, still in the state directory.
    for (const w of after.workers) {
      const maps = mappedImages(w.pid);
      expect(maps.map((x) => x.path), `worker ${w.pid} maps the old release's image`).to.deep.equal(oldImages);
      expect(maps.filter((x) => x.deleted), `worker ${w.pid} maps a deleted image`).to.deep.equal([]);
    }
    const served = new Set(after.workers.flatMap((w) => mappedImages(w.pid).map((x) => x.path.split('/').pop())));
    expect(await until(() => readdirSync(join(state, 'images')).every((f) => served.has(f)), 10_000), `images: ${readdirSync(join(state, 'images')).join(', ')}`).to.equal(true);
    expect(server.stdout()).to.match(/taking over from pid \d+: starting 2 workers on its sockets/);
    expect(server.stdout()).to.match(/the previous supervisor \(pid \d+\) has gone; this one serves alone/);
  });

  it('ctl upgrade --rebuild: the new release parses and compiles every zone again, writes the image anew under its name, and serves it', async () => {
    const before = await status();
    const inodes = (pid: number): string[] => [...new Set(readFileSync(`/proc/${pid}/maps`, 'utf8').split('\n').filter((l) => l.includes('.zimg')).map((l) => `${l.trim().split(/\s+/)[4]} ${l.slice(l.indexOf('/'))}`))];
    const old = inodes(before.workers[0]!.pid);
    expect(old).to.have.length(1);
    setVersion(installed, '0.2.1-rebuilt');
    const since = server.mark();
    const r = await ctl(['upgrade', '--rebuild', '--state-dir', state]);
    expect(r.code, r.stderr).to.equal(0);
    const newPid = Number(/\(pid (\d+), shardns 0\.2\.1-rebuilt\)/.exec(r.stdout)?.[1]);
    started.push(newPid);
    await server.waitFor(new RegExp(String.raw`supervisor\[${newPid}\]: zone up\.test\.: serial 5, 4 records; image built in \d+ ms: a rebuild was asked for`), 1000, since);
    const after = await status();
    expect(after.version).to.equal('0.2.1-rebuilt');
    for (const w of after.workers) {
      const now = inodes(w.pid);
      expect(now, `worker ${w.pid}`).to.have.length(1);
      // The same file name (the sources are the same), another file: the new release's own build.
      expect(now[0]!.split(' ')[1]).to.equal(old[0]!.split(' ')[1]);
      expect(now[0]!.split(' ')[0]).to.not.equal(old[0]!.split(' ')[0]);
    }
    expect(await version(server.port)).to.equal('shardns 0.2.1-rebuilt');
    // ctl says what --rebuild is for when given to another command.
    const wrong = await ctl(['status', '--rebuild', '--state-dir', state]);
    expect(wrong.code).to.equal(2);
    expect(wrong.stderr).to.match(/--rebuild is for "ctl upgrade" only/);
  });

  it('SIGUSR2 upgrades the same way, and the upgraded server can be upgraded again', async () => {
    const before = await status();
    setVersion(installed, '0.3.0-usr2');
    const traffic = steadyQueries(server.port);
    process.kill(before.pid, 'SIGUSR2');
    expect(await until(async () => (await version(server.port)) === 'shardns 0.3.0-usr2' && !alive(before.pid), 30_000, 100)).to.equal(true);
    const seen = await traffic.stop();
    expect(seen.lost, `unanswered of ${seen.answers.length + seen.lost}`).to.equal(0);
    const after = await status();
    started.push(after.pid);
    expect(after.pid).to.not.equal(before.pid);
    expect(after.version).to.equal('0.3.0-usr2');
    expect(server.stdout()).to.match(/SIGUSR2: upgrading to the installed code/);
    // It stops like any server: ctl stop, exit of every process.
    const workers = after.workers.map((w) => w.pid);
    expect((await ctl(['stop', '--state-dir', state])).code).to.equal(0);
    expect(await until(() => ![after.pid, ...workers].some(alive), 10_000)).to.equal(true);
  });

  it('SIGTERM while an upgrade starts: the upgrade is given up, the new supervisor and its workers go too, nothing is left', async () => {
    const fresh = spawnServer(['--config', config, '--state-dir', join(dir, 'state-sigterm')], await freePort(), {}, join(installed, 'bin', 'shardns.js'));
    started.push(fresh.proc.pid!);
    await fresh.waitFor(/listening on .* with 2 workers/);
    setVersion(installed, '0.4.0-never');
    const since = fresh.mark();
    process.kill(fresh.proc.pid!, 'SIGUSR2');
    const m = await fresh.waitFor(/upgrade: started the new supervisor \(pid (\d+)\)/, 10_000, since);
    const successor = Number(m[1]);
    process.kill(fresh.proc.pid!, 'SIGTERM');
    expect((await fresh.exited).code).to.equal(0);
    expect(fresh.stderr()).to.match(/upgrade failed: SIGTERM came while it started; it was stopped/);
    expect(await until(() => !alive(successor), 10_000), 'the new supervisor is gone').to.equal(true);
    expect(await until(() => !readFileSync('/proc/net/udp', 'utf8').includes(`:${fresh.port.toString(16).toUpperCase().padStart(4, '0')} `), 10_000), 'no socket of the server is left').to.equal(true);
  });
});
