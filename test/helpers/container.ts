/** Builds and runs the container image with podman for tests, and removes everything it made. */

import { execFile } from 'node:child_process';
import { chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { ROOT } from './server.js';

/** What one command did. */
export interface Ran {
  code: number;
  stdout: string;
  stderr: string;
  ms: number;
}

/** Runs a command to its end (or kills it after timeoutMs); never rejects. */
export function run(cmd: string, args: string[], timeoutMs = 60_000): Promise<Ran> {
  const started = Date.now();
  return new Promise((resolve) => {
    execFile(cmd, args, { timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024, encoding: 'utf8' }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof err.code === 'number' ? err.code : -1;
      resolve({ code, stdout, stderr: err !== null && typeof err.code !== 'number' ? `${stderr}${err.message}` : stderr, ms: Date.now() - started });
    });
  });
}

// Facts measured on the development machines: crun fails on their cgroups, runc works;
// the default file and process limits are too small for npm and the workers.
const RUNTIME = ['--runtime', 'runc'];
const ULIMITS = ['--ulimit', 'nofile=4096:4096', '--ulimit', 'nproc=4096:4096'];
const CERTS = '/etc/ssl/certs';

/** Why the container tests cannot run here (with what to install), or null when they can. */
export async function containerUnavailable(): Promise<string | null> {
  if ((await run('podman', ['--version'])).code !== 0) return 'podman not installed — apt-get install podman runc';
  if ((await run('runc', ['--version'])).code !== 0) return 'runc not installed — apt-get install podman runc';
  // The tests run rootful podman and enter the container's network namespace with nsenter.
  if (process.getuid?.() !== 0) return 'not root: these tests run rootful podman and nsenter into the container (run the suite as root, as .ci/run does in CI)';
  if ((await run('nsenter', ['--version'])).code !== 0) return 'nsenter not installed — apt-get install util-linux';
  if ((await run('ldd', ['--version'])).code !== 0) return 'ldd not installed — apt-get install libc-bin';
  return null;
}

/** Podman for one test run: every image and container it makes is named with one tag and removed by cleanup(). */
export class PodmanSession {
  /** Unique per run, so parallel runs on one machine never touch each other's images. */
  readonly id = `${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
  readonly baseImage = `localhost/shardns-test-base:${this.id}`;
  readonly image = `localhost/shardns-test:${this.id}`;
  private readonly images: string[] = [];
  private readonly containers = new Set<string>();
  /** Anonymous volumes (the image's VOLUME /var/lib/shardns) of the containers cleanup() removed. */
  private readonly volumes: string[] = [];
  private readonly dirs: string[] = [];

  /**
   * A stand-in for the Node base image (no registry serves one here): the host's node
   * binary and the libraries ldd lists, npm, /bin/sh, /usr/bin/env and /etc/passwd,
   * imported as an image. The real Dockerfile's default BASE_IMAGE is node:*-slim.
   */
  async buildBase(): Promise<Ran> {
    const stage = this.tempDir('base');
    const node = process.execPath;
    const npm = join(dirname(node), '..', 'lib', 'node_modules', 'npm');
    if (!existsSync(join(npm, 'bin', 'npm-cli.js'))) return { code: 1, stdout: '', stderr: `npm not found beside ${node} (looked in ${npm})`, ms: 0 };
    const put = (from: string, to: string): void => {
      mkdirSync(join(stage, dirname(to)), { recursive: true });
      cpSync(from, join(stage, to), { dereference: true });
    };
    put(node, '/usr/local/bin/node');
    mkdirSync(join(stage, 'usr/local/lib/node_modules'), { recursive: true });
    cpSync(npm, join(stage, 'usr/local/lib/node_modules/npm'), { recursive: true, verbatimSymlinks: true });
    symlinkSync('../lib/node_modules/npm/bin/npm-cli.js', join(stage, 'usr/local/bin/npm'));
    symlinkSync('../lib/node_modules/npm/bin/npx-cli.js', join(stage, 'usr/local/bin/npx'));
    put('/bin/sh', '/bin/sh');
    put('/usr/bin/env', '/usr/bin/env');
    put('/etc/passwd', '/etc/passwd');
    put('/etc/group', '/etc/group');
    mkdirSync(join(stage, 'tmp'));
    chmodSync(join(stage, 'tmp'), 0o1777);
    const ldd = await run('ldd', [node, '/bin/sh', '/usr/bin/env']);
    if (ldd.code !== 0) return ldd;
    for (const lib of new Set(ldd.stdout.match(/\/\S+\.so[.\d]*/g) ?? [])) put(lib, lib);
    const tarball = join(this.tempDir('tar'), 'base.tar');
    const tar = await run('tar', ['-C', stage, '-cf', tarball, '.']);
    if (tar.code !== 0) return tar;
    const imported = await run('podman', [
      'import',
      '--change', 'ENV PATH=/usr/local/bin:/usr/bin:/bin',
      '--change', `ENV NODE_EXTRA_CA_CERTS=${CERTS}/ca-certificates.crt`,
      tarball,
      this.baseImage,
    ], 120_000);
    if (imported.code === 0) this.images.push(this.baseImage);
    rmSync(stage, { recursive: true, force: true });
    rmSync(dirname(tarball), { recursive: true, force: true });
    return imported;
  }

  /** `podman build` of the repository's Dockerfile on the stand-in base; no intermediate images are kept. */
  async buildImage(): Promise<Ran> {
    const r = await run('podman', [
      'build', ...RUNTIME, ...ULIMITS,
      '--layers=false', // leaves nothing behind but the tagged image
      '--format', 'docker', // OCI image configs have no HEALTHCHECK
      '--network', 'host', // npm reaches the registry
      ...(existsSync(CERTS) ? ['-v', `${CERTS}:${CERTS}:ro`] : []),
      '--build-arg', `BASE_IMAGE=${this.baseImage}`,
      '-t', this.image,
      '-f', join(ROOT, 'Dockerfile'),
      ROOT,
    ], 600_000);
    if (r.code === 0) this.images.push(this.image);
    return r;
  }

  /**
   * `podman run` of the image with the given run flags and shardns arguments; the name is
   * recorded for cleanup. The stand-in base sets NODE_EXTRA_CA_CERTS for npm, so the
   * certificates are mounted at run time too (node would warn about the missing file).
   */
  runImage(name: string, runFlags: string[], args: string[] = [], timeoutMs = 60_000): Promise<Ran> {
    this.containers.add(name);
    return run('podman', [
      'run', ...RUNTIME, ...ULIMITS,
      '--name', name,
      ...(existsSync(CERTS) ? ['-v', `${CERTS}:${CERTS}:ro`] : []),
      ...runFlags,
      this.image,
      ...args,
    ], timeoutMs);
  }

  /** A container name unique to this run. */
  name(what: string): string {
    return `shardns-test-${what}-${this.id}`;
  }

  /** podman with any other arguments (inspect, logs, healthcheck run, stop …). */
  podman(args: string[], timeoutMs = 60_000): Promise<Ran> {
    return run('podman', args, timeoutMs);
  }

  /** A temporary folder removed by cleanup(). */
  tempDir(what: string): string {
    const dir = mkdtempSync(join(tmpdir(), `shardns-${what}-`));
    this.dirs.push(dir);
    return dir;
  }

  /** Writes files in a fresh temporary folder that the image's user may read, and returns the folder. */
  folderWith(files: Record<string, string>): string {
    const dir = this.tempDir('etc');
    chmodSync(dir, 0o755);
    for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text, { mode: 0o644 });
    return dir;
  }

  /** Removes every container (with its anonymous volumes) and image this session made (newest first), and its temporary folders. */
  async cleanup(): Promise<void> {
    if (this.containers.size > 0) {
      for (const c of this.containers) {
        const mounts = await run('podman', ['inspect', '--format', '{{range .Mounts}}{{if eq .Type "volume"}}{{.Name}} {{end}}{{end}}', c]);
        if (mounts.code === 0) this.volumes.push(...mounts.stdout.trim().split(/\s+/).filter(Boolean));
      }
      // --volumes: the anonymous volume each container got for the image's VOLUME (/var/lib/shardns) goes too.
      await run('podman', ['rm', '--force', '--volumes', '--time', '0', '--ignore', ...this.containers], 60_000);
    }
    for (const image of [...this.images].reverse()) await run('podman', ['rmi', '--force', image], 60_000);
    for (const dir of this.dirs) rmSync(dir, { recursive: true, force: true });
  }

  /**
   * Removes what earlier runs left behind when they were killed before their cleanup:
   * containers and images named by this class whose process is gone.
   */
  async sweepStale(): Promise<void> {
    const gone = (name: string): boolean => {
      const pid = Number(/(\d+)-[a-z0-9]+$/.exec(name)?.[1]);
      return pid > 0 && pid !== process.pid && !existsSync(`/proc/${pid}`);
    };
    const containers = await run('podman', ['ps', '--all', '--format', '{{.Names}}', '--filter', 'name=^shardns-test-']);
    const stale = containers.stdout.split('\n').filter((n) => n !== '' && gone(n));
    if (stale.length > 0) await run('podman', ['rm', '--force', '--time', '0', '--ignore', ...stale]);
    const images = await run('podman', ['images', '--format', '{{.Repository}}:{{.Tag}}']);
    for (const image of images.stdout.split('\n')) {
      if (/^localhost\/shardns-test(-base)?:/.test(image) && gone(image)) await run('podman', ['rmi', '--force', image]);
    }
  }

  /** Images this session made that still exist (cleanup check). */
  async leftovers(): Promise<string[]> {
    const left: string[] = [];
    for (const image of this.images) if ((await run('podman', ['image', 'exists', image])).code === 0) left.push(image);
    for (const c of this.containers) if ((await run('podman', ['container', 'exists', c])).code === 0) left.push(c);
    for (const v of this.volumes) if ((await run('podman', ['volume', 'exists', v])).code === 0) left.push(`volume ${v}`);
    return left;
  }
}

/** Runs dig inside the network namespace of a process (a container's), with these arguments. */
export function digIn(pid: number, args: string[], timeoutMs = 20_000): Promise<Ran> {
  return run('nsenter', [`--net=/proc/${pid}/ns/net`, 'dig', ...args], timeoutMs);
}
