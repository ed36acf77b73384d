import { expect } from 'chai';
import { existsSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { parse as parseJsonc } from 'jsonc-parser';
import { PodmanSession, containerUnavailable, digIn, run, type Ran } from '../helpers/container.js';
import { ROOT, until, workerPids } from '../helpers/server.js';
import { txtOf, udpQuery } from '../helpers/dns-client.js';

/** The uid the image's server runs as: it starts as root (Dockerfile USER 0), binds, and drops to shardns (10053). */
const UID = 10053;
/** Runs the image as its user from the start (Kubernetes' runAsUser, compose's user:). */
const AS_USER = ['--user', `${UID}:${UID}`];
/** Grants a non-root bind of port 53 inside the container's own network namespace. */
const PORT_53 = ['--sysctl', 'net.ipv4.ip_unprivileged_port_start=53'];

const sec = (ms: number): string => `${(ms / 1000).toFixed(2)} s`;
const mb = (bytes: number): string => `${(bytes / 1e6).toFixed(1)} MB`;
const tail = (r: Ran): string => `${r.stdout}\n${r.stderr}`.trim().split('\n').slice(-40).join('\n');
const readJsonc = (path: string): Record<string, unknown> => parseJsonc(readFileSync(path, 'utf8'), [], { allowTrailingComma: true }) as Record<string, unknown>;

/** The Uid/Gid line values and CapEff of a process, from the host's /proc. */
function credentials(pid: number): { uid: string; gid: string; capEff: string } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const field = (name: string): string => new RegExp(`^${name}:\\s*(.*)$`, 'm').exec(status)?.[1]?.trim() ?? '';
  return { uid: field('Uid'), gid: field('Gid'), capEff: field('CapEff') };
}

describe('container: the configuration the image runs with', () => {
  it('config/container.json is config/shardns.json answering on every address', () => {
    const { listen, ...image } = readJsonc(join(ROOT, 'config/container.json'));
    const { listen: _loopback, ...shipped } = readJsonc(join(ROOT, 'config/shardns.json'));
    expect(listen).to.deep.equal(['0.0.0.0', '::']);
    expect(image, 'keep config/container.json in step with config/shardns.json').to.deep.equal(shipped);
  });
});

describe('container image (podman): build, run, probe, stop', function () {
  this.timeout(120_000);
  const pm = new PodmanSession();
  const measured: string[] = [];
  let dig: string | null = null;

  before(async function () {
    this.timeout(900_000);
    const why = await containerUnavailable();
    if (why !== null) {
      console.log(`      skip: ${why}`);
      this.skip();
    }
    dig = (await run('dig', ['-v'])).code === 0 ? null : 'dig not installed — apt-get install bind9-dnsutils';
    await pm.sweepStale();
    const base = await pm.buildBase();
    if (base.code !== 0) throw new Error(`stand-in base image failed:\n${tail(base)}`);
    const built = await pm.buildImage();
    if (built.code !== 0) throw new Error(`podman build failed:\n${tail(built)}`);
    measured.push(`build ${sec(built.ms)} (stand-in base ${sec(base.ms)})`);
  });

  after(async function () {
    this.timeout(180_000);
    await pm.cleanup();
    if (measured.length > 0) console.log(`      measured: ${measured.join(', ')}`);
    expect(await pm.leftovers(), 'images and containers left behind').to.deep.equal([]);
  });

  it('image: starts as root to bind (then drops), 53/udp and 53/tcp, SIGTERM, a DNS health check, production files only', async () => {
    type HealthConfig = { Test: string[] };
    type Inspected = { Size: number; Healthcheck?: HealthConfig; Config: { User: string; ExposedPorts: object; StopSignal: string; Healthcheck?: HealthConfig; Entrypoint: string[]; Volumes?: object; Env?: string[] } };
    const [image] = JSON.parse((await pm.podman(['image', 'inspect', pm.image])).stdout) as [Inspected];
    const [base] = JSON.parse((await pm.podman(['image', 'inspect', pm.baseImage])).stdout) as [Inspected];
    const config = image.Config;
    expect(config.User).to.equal('0:0');
    expect(Object.keys(config.ExposedPorts).sort()).to.deep.equal(['53/tcp', '53/udp']);
    expect(config.StopSignal).to.equal('SIGTERM');
    // podman shows the health check beside Config, docker inside it.
    const health = image.Healthcheck ?? config.Healthcheck;
    expect(health?.Test.slice(0, 4)).to.deep.equal(['CMD', 'node', '/opt/shardns/bin/shardns.js', 'probe']);
    expect(config.Entrypoint).to.include('/etc/shardns/container.json');
    // The state directory (compiled zone images): a volume, and the non-root default points at it.
    expect(Object.keys(config.Volumes ?? {})).to.deep.equal(['/var/lib/shardns']);
    expect(config.Env).to.include('XDG_STATE_HOME=/var/lib');
    measured.push(`image ${mb(image.Size)} (${mb(image.Size - base.Size)} over the base)`);
    expect(image.Size - base.Size, 'bytes the image adds to its base').to.be.below(30e6);

    const mounted = await pm.podman(['image', 'mount', pm.image]);
    expect(mounted.code, tail(mounted)).to.equal(0);
    const root = mounted.stdout.trim();
    try {
      for (const f of ['opt/shardns/bin/shardns.js', 'opt/shardns/package.json', 'opt/shardns/dist/src/cli.js', 'opt/shardns/dist/workers/dns-worker.js', 'opt/shardns/node_modules/koffi', 'opt/shardns/node_modules/dns-packet']) {
        expect(existsSync(join(root, f)), f).to.equal(true);
      }
      for (const f of ['opt/shardns/node_modules/typescript', 'opt/shardns/node_modules/mocha', 'opt/shardns/src', 'opt/shardns/test', 'opt/shardns/dist/test', 'opt/shardns/.git']) {
        expect(existsSync(join(root, f)), `${f} must not be in the image`).to.equal(false);
      }
      const state = statSync(join(root, 'var/lib/shardns'));
      expect([state.uid, state.gid, state.mode & 0o777], '/var/lib/shardns owner and mode').to.deep.equal([UID, UID, 0o750]);
      // config/ is baked in as /etc/shardns, less the deployment examples.
      const shipped = readdirSync(join(ROOT, 'config')).filter((f) => !['compose.yaml', 'kubernetes.yaml'].includes(f));
      expect(readdirSync(join(root, 'etc/shardns')).sort()).to.deep.equal(shipped.sort());
    } finally {
      await pm.podman(['image', 'unmount', pm.image]);
    }
  });

  describe('running in its own network namespace on port 53', () => {
    const name = pm.name('serve');
    /** The supervisor's pid on the host. */
    let pid = 0;
    // --cpus 1.5 rounds up to 2 workers on any host with 2 CPUs or more.
    const cpus = availableParallelism() >= 2 ? ['--cpus', '1.5'] : [];
    const workers = availableParallelism() >= 2 ? [] : ['--workers', '2'];

    before(async function () {
      this.timeout(60_000);
      const t0 = Date.now();
      const started = await pm.runImage(name, ['-d', '--network', 'none', ...PORT_53, ...cpus], workers);
      if (started.code !== 0) throw new Error(`podman run failed:\n${tail(started)}`);
      pid = Number((await pm.podman(['inspect', '--format', '{{.State.Pid}}', name])).stdout.trim());
      const answers = async (): Promise<boolean> =>
        dig === null
          ? (await digIn(pid, ['@127.0.0.1', '-p', '53', 'CH', 'TXT', 'version.bind', '+short', '+tries=1', '+time=1'])).stdout.includes('shardns')
          : (await pm.podman(['healthcheck', 'run', name])).code === 0;
      if (!(await until(answers, 30_000, 20))) {
        throw new Error(`no answer within 30 s:\n${tail(await pm.podman(['logs', name]))}`);
      }
      measured.push(`first answer ${sec(Date.now() - t0)} after podman run (${dig === null ? 'dig' : 'podman healthcheck run'})`);
    });

    it('answers dig over UDP and TCP, IPv4 and IPv6, from the baked-in zone too', async function () {
      if (dig !== null) {
        console.log(`      skip: ${dig}`);
        this.skip();
      }
      const short = async (args: string[]): Promise<string> => {
        const r = await digIn(pid, [...args, '+short', '+tries=2', '+time=2']);
        expect(r.code, tail(r)).to.equal(0);
        return r.stdout.trim();
      };
      expect(await short(['@127.0.0.1', '-p', '53', 'CH', 'TXT', 'version.bind'])).to.match(/^"shardns \d+\.\d+\.\d+/);
      expect(await short(['@127.0.0.1', '-p', '53', '+tcp', 'CH', 'TXT', 'id.server'])).to.match(/^"worker-\d+ pid \d+ host /);
      expect(await short(['@::1', '-p', '53', 'CH', 'TXT', 'id.server'])).to.match(/^"worker-\d+ pid \d+ host /);
      expect(await short(['@::1', '-p', '53', '+tcp', 'CH', 'TXT', 'version.bind'])).to.match(/^"shardns /);
      // /etc/shardns/container.json serves the zone shipped in config/zones.
      const soa = await digIn(pid, ['@127.0.0.1', '-p', '53', '+norecurse', 'example.com.', 'SOA', '+tries=2', '+time=2']);
      expect(soa.stdout, tail(soa)).to.match(/status: NOERROR/);
      expect(soa.stdout).to.match(/flags:[^;]*\baa\b/);
      expect(soa.stdout).to.match(/^example\.com\.\s+\d+\s+IN\s+SOA\s/m);
    });

    it('the kernel spreads CH TXT id.server from 40 source ports over both workers', async function () {
      if (dig !== null) {
        console.log(`      skip: ${dig}`);
        this.skip();
      }
      // One dig, 40 lookups: each from its own socket, so its own source port.
      const batch = join(pm.tempDir('dig'), 'batch');
      writeFileSync(batch, '@127.0.0.1 -p 53 CH TXT id.server +short +tries=2 +time=2\n'.repeat(40));
      const r = await digIn(pid, ['-f', batch]);
      const seen = new Map<string, number>();
      for (const line of r.stdout.trim().split('\n')) {
        const worker = /^"(worker-\d+) pid \d+ host /.exec(line)?.[1];
        expect(worker, `unexpected answer ${line}`).to.be.a('string');
        seen.set(worker!, (seen.get(worker!) ?? 0) + 1);
      }
      expect([...seen.values()].reduce((a, b) => a + b, 0)).to.equal(40);
      const logs = await pm.podman(['logs', name]);
      expect([...seen.keys()].sort(), `${JSON.stringify([...seen])}\n${tail(logs)}`).to.deep.equal(['worker-0', 'worker-1']);
    });

    it(`runs as uid ${UID} with no capabilities, supervisor and workers alike; logs to the container log`, async () => {
      const logs = await pm.podman(['logs', name]);
      const workers = workerPids(pid);
      expect(workers, tail(logs)).to.have.length(2);
      for (const p of [pid, ...workers]) {
        const c = credentials(p);
        expect(c.uid, `pid ${p}`).to.equal(`${UID}\t${UID}\t${UID}\t${UID}`);
        expect(c.gid, `pid ${p}`).to.equal(`${UID}\t${UID}\t${UID}\t${UID}`);
        expect(c.capEff, `pid ${p} CapEff`).to.equal('0000000000000000');
      }
      expect(logs.stdout + logs.stderr).to.match(/started as root without --user: running as shardns \(uid 10053, gid 10053 shardns\)/);
      expect(logs.stdout + logs.stderr).to.match(/starting 2 workers/);
      expect(logs.stdout + logs.stderr).to.match(/listening on 0\.0\.0\.0:53, \[::\]:53 \(udp, tcp\) with 2 workers/);
    });

    it("the image's HEALTHCHECK (shardns probe: CH TXT id.server) passes", async () => {
      const r = await pm.podman(['healthcheck', 'run', name]);
      expect(r.code, tail(r)).to.equal(0);
      const status = await pm.podman(['inspect', '--format', '{{.State.Health.Status}}', name]);
      expect(status.stdout.trim()).to.equal('healthy');
    });

    it('SIGHUP (podman kill --signal HUP) reloads the zones in every worker', async () => {
      const hup = await pm.podman(['kill', '--signal', 'HUP', name]);
      expect(hup.code, tail(hup)).to.equal(0);
      const reloaded = await until(async () => /reloaded \d+ zone\(s\), \d+ records, in 2 worker/.test((await pm.podman(['logs', name])).stdout), 10_000, 100);
      expect(reloaded, tail(await pm.podman(['logs', name]))).to.equal(true);
    });

    it('SIGTERM (podman stop) drains the workers and exits 0 within a few seconds', async () => {
      const stop = await pm.podman(['stop', '--time', '10', name], 30_000);
      expect(stop.code, tail(stop)).to.equal(0);
      measured.push(`SIGTERM to exit ${sec(stop.ms)} (podman stop)`);
      expect(stop.ms).to.be.below(5000);
      const state = await pm.podman(['inspect', '--format', '{{.State.ExitCode}} {{.State.Status}}', name]);
      expect(state.stdout.trim()).to.equal('0 exited');
      const logs = await pm.podman(['logs', name]);
      expect(logs.stdout).to.match(/SIGTERM: shutting down[\s\S]*stopped/);
      // --network none leaves resolv.conf without a nameserver: forwarding is off, which it says.
      const troubles = `${logs.stdout}\n${logs.stderr}`.split('\n').filter((l) => /exited unexpectedly|ERROR|WARN/.test(l) && !/--forward auto/.test(l));
      expect(troubles).to.deep.equal([]);
    });
  });

  it('the default worker count follows the CPU quota (--cpus) and the CPU set (--cpuset-cpus)', async () => {
    const workersWith = async (flags: string[], what: string): Promise<number> => {
      const r = await pm.runImage(pm.name(what), ['--rm', '--network', 'none', ...flags], ['check']);
      expect(r.code, tail(r)).to.equal(0);
      const n = /, (\d+) workers,/.exec(r.stdout)?.[1];
      expect(n, r.stdout).to.be.a('string');
      return Number(n);
    };
    const [half, one, quarter] = await Promise.all([
      workersWith(['--cpus', '0.5'], 'cpus-half'),
      workersWith(['--cpuset-cpus', '0'], 'cpuset-0'),
      workersWith(['--cpu-period', '100000', '--cpu-quota', '25000'], 'quota-quarter'),
    ]);
    expect({ half, one, quarter }).to.deep.equal({ half: 1, one: 1, quarter: 1 });
  });

  it('run as 10053 from the start (as Kubernetes does): the port-53 sysctl or --cap-add NET_BIND_SERVICE; without a grant a clear error and exit 1', async () => {
    const sysctlName = pm.name('as-user');
    const capName = pm.name('capadd');
    const [denied, sysctl, capAdd] = await Promise.all([
      pm.runImage(pm.name('denied'), ['--rm', '--network', 'none', ...AS_USER], ['--workers', '1']),
      pm.runImage(sysctlName, ['-d', '--network', 'none', ...AS_USER, ...PORT_53], ['--workers', '1']),
      pm.runImage(capName, ['-d', '--network', 'none', ...AS_USER, '--cap-add', 'NET_BIND_SERVICE'], ['--workers', '1']),
    ]);
    expect(denied.code, tail(denied)).to.equal(1);
    expect(denied.stderr).to.match(/cannot bind 0\.0\.0\.0:53\/udp: permission denied/);
    for (const [name, r] of [[sysctlName, sysctl], [capName, capAdd]] as const) {
      expect(r.code, tail(r)).to.equal(0);
      const healthy = await until(async () => (await pm.podman(['healthcheck', 'run', name])).code === 0, 20_000, 100);
      const logs = await pm.podman(['logs', name]);
      expect(healthy, tail(logs)).to.equal(true);
      expect(logs.stdout, 'nothing to drop').to.not.match(/running as .* from now on/);
      const pid = Number((await pm.podman(['inspect', '--format', '{{.State.Pid}}', name])).stdout.trim());
      for (const p of [pid, ...workerPids(pid)]) expect(credentials(p).uid, `${name} pid ${p}`).to.equal(`${UID}\t${UID}\t${UID}\t${UID}`);
      await pm.podman(['rm', '--force', '--volumes', '--time', '0', name]);
    }
  });

  it('--network host: answers on the host\'s port 53 (bound as root), and nothing in the container keeps running as root', async () => {
    // A loopback address of its own, so nothing else on the host's port 53 is in the way.
    const address = `127.53.${1 + Math.floor(Math.random() * 250)}.${1 + Math.floor(Math.random() * 250)}`;
    const name = pm.name('host');
    const started = await pm.runImage(name, ['-d', '--network', 'host'], ['--listen', address, '--forward', 'none', '--workers', '2']);
    expect(started.code, tail(started)).to.equal(0);
    const answers = async (): Promise<boolean> => {
      try {
        return txtOf(await udpQuery('version.bind', 'TXT', 'CH', 53, address))?.startsWith('shardns ') === true;
      } catch {
        return false;
      }
    };
    expect(await until(answers, 30_000, 100), tail(await pm.podman(['logs', name]))).to.equal(true);
    const pid = Number((await pm.podman(['inspect', '--format', '{{.State.Pid}}', name])).stdout.trim());
    const workers = workerPids(pid);
    expect(workers).to.have.length(2);
    for (const p of [pid, ...workers]) {
      const c = credentials(p);
      expect(c.uid, `pid ${p}`).to.equal(`${UID}\t${UID}\t${UID}\t${UID}`);
      expect(c.capEff, `pid ${p} CapEff`).to.equal('0000000000000000');
    }
    // Every process in the container: none root.
    const top = await pm.podman(['top', name, 'huser', 'args']);
    expect(top.code, tail(top)).to.equal(0);
    const users = top.stdout.trim().split('\n').slice(1).map((l) => l.trim().split(/\s+/)[0]);
    expect(users.length).to.be.at.least(3);
    expect(users.filter((u) => u !== String(UID))).to.deep.equal([]);
    expect((await pm.podman(['logs', name])).stdout).to.match(new RegExp(`listening on ${address.replace(/\./g, '\\.')}:53 \\(udp, tcp\\) with 2 workers`));
    await pm.podman(['rm', '--force', '--volumes', '--time', '0', name]);
  });

  it('the state directory is /var/lib/shardns and writable with a read-only root file system', async () => {
    const r = await pm.runImage(pm.name('state'), ['--rm', '--network', 'none', '--read-only', '--cap-drop', 'ALL'], ['check']);
    expect(r.code, tail(r)).to.equal(0);
    expect(r.stdout).to.match(/configuration OK: .*; images \d+ KiB, state directory \/var\/lib\/shardns\n$/);
  });

  it('a folder mounted on /etc/shardns replaces the shipped configuration', async () => {
    const etc = pm.folderWith({
      'container.json': '{ "listen": ["127.0.0.1"], "port": 5353, "forward": "none", "log-format": "json" }',
    });
    const r = await pm.runImage(pm.name('own-config'), ['--rm', '--network', 'none', '-v', `${etc}:/etc/shardns:ro`], ['check']);
    expect(r.code, tail(r)).to.equal(0);
    expect(r.stdout).to.match(/configuration OK: 1 address\(es\) on port 5353, \d+ workers, 0 zone/);
  });
});
