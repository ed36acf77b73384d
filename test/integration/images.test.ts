/** Zone images through the real program: built once, mapped by every worker, reused on restart, rebuilt when damaged, swapped on reload. */

import { expect } from 'chai';
import { mkdtempSync, readdirSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { udpQuery, type Reply } from '../helpers/dns-client.js';
import { startServer, until, type RunningServer, workerPids } from '../helpers/server.js';

const ZONE = (serial: number, www: string): string => `$ORIGIN img.test.\n$TTL 60\n@ SOA ns1 host ${serial} 3600 600 86400 60\n@ NS ns1\nns1 A 192.0.2.1\nwww A ${www}\n`;

/** The A answers every worker gives (20 queries from fresh source ports). */
async function answers(port: number, name: string): Promise<string[]> {
  const seen = new Set<string>();
  for (let i = 0; i < 20; i++) {
    const r = await udpQuery(name, 'A', 'IN', port);
    seen.add(`${(r as unknown as Reply).rcode}:${(r.answers ?? []).map((a) => (a as { data: string }).data).join(',')}`);
  }
  return [...seen].sort();
}

/** Image files in the state directory. */
function images(state: string): string[] {
  return readdirSync(join(state, 'images')).filter((f) => f.endsWith('.zimg'));
}

/** Which files a process maps (from /proc/PID/maps). */
function mappedFiles(pid: number): string[] {
  return readFileSync(`/proc/${pid}/maps`, 'utf8')
    .split('\n')
    .map((l) => l.split(/\s+/).slice(5).join(' '))
    .filter((f) => f.endsWith('.zimg'));
}

describe('zone images: build, map, reuse, rebuild, swap', function () {
  this.timeout(60_000);
  let dir: string;
  let state: string;
  let zone: string;
  let server: RunningServer | null = null;

  const start = async (): Promise<RunningServer> => {
    server = await startServer(['--workers', '2', '--listen', '127.0.0.1', '--forward', 'none', '--state-dir', state, '--zone', `img.test.=${zone}`]);
    return server;
  };
  const stop = async (): Promise<void> => {
    if (!server) return;
    process.kill(server.proc.pid!, 'SIGTERM');
    await server.exited;
    server = null;
  };

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'shardns-images-'));
    state = join(dir, 'state');
    zone = join(dir, 'img.test.zone');
    writeFileSync(zone, ZONE(1, '192.0.2.10'));
  });
  afterEach(async () => {
    server?.kill();
    server = null;
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('first start builds one image, and every worker maps that file (shared pages, not a copy each)', async () => {
    const s = await start();
    expect(s.stdout()).to.match(/zone img\.test\.: serial 1, 4 records; image built in \d+ ms/);
    expect(images(state)).to.have.length(1);
    const workers = workerPids(s.proc.pid!);
    expect(workers).to.have.length(2);
    for (const pid of workers) expect(mappedFiles(pid)).to.deep.equal([join(state, 'images', images(state)[0]!)]);
    // The supervisor never parses nor maps a zone: the builder did, in a process of its own that has exited.
    expect(mappedFiles(s.proc.pid!)).to.deep.equal([]);
    expect(await answers(s.port, 'www.img.test')).to.deep.equal(['NOERROR:192.0.2.10']);
    await stop();
  });

  it('a restart with the zone unchanged reuses the image without parsing', async () => {
    const before = images(state);
    const s = await start();
    expect(s.stdout()).to.match(/zone img\.test\.: serial 1, 4 records; image reused in \d+ ms: sources unchanged/);
    expect(images(state)).to.deep.equal(before);
    expect(await answers(s.port, 'www.img.test')).to.deep.equal(['NOERROR:192.0.2.10']);
    await stop();
  });

  const damages: [string, (file: string) => void][] = [
    ['an octet flipped', (f) => {
      const b = readFileSync(f);
      b[b.length - 100]! ^= 0x40;
      writeFileSync(f, b);
    }],
    ['truncated', (f) => truncateSync(f, 200)],
  ];
  for (const [what, damage] of damages) {
    it(`an image ${what} on disk is detected, never mapped, and rebuilt`, async () => {
      damage(join(state, 'images', images(state)[0]!));
      const s = await start();
      expect(s.stdout() + s.stderr()).to.match(/zone img\.test\.: serial 1, 4 records; image built in \d+ ms: .*(checksum|octets|truncated)/);
      expect(await answers(s.port, 'www.img.test')).to.deep.equal(['NOERROR:192.0.2.10']);
      await stop();
    });
  }

  it('a reload maps the new image in every worker and removes the old file; a worker killed during the swap comes back on the new one', async () => {
    const s = await start();
    const old = images(state);
    writeFileSync(zone, ZONE(2, '192.0.2.20'));
    const since = s.mark();
    process.kill(s.proc.pid!, 'SIGHUP');
    // Kill a worker while the builder works and the swap goes on.
    process.kill(workerPids(s.proc.pid!).find((p) => mappedFiles(p).length > 0)!, 'SIGKILL');
    await s.waitFor(/reloaded 1 zone\(s\), 4 records/, 20_000, since);
    await s.waitFor(/ready again/, 20_000, since);
    expect(await answers(s.port, 'www.img.test')).to.deep.equal(['NOERROR:192.0.2.20']);
    expect(await until(() => images(state).length === 1 && images(state)[0] !== old[0])).to.equal(true);
    const now = join(state, 'images', images(state)[0]!);
    // Old mappings are let go a moment after the swap.
    expect(await until(() => workerPids(s.proc.pid!).every((p) => JSON.stringify(mappedFiles(p)) === JSON.stringify([now])), 5000)).to.equal(true);
    await stop();
  });

  it('a broken zone on reload keeps the image serving and its file on disk', async () => {
    const s = await start();
    const kept = images(state);
    writeFileSync(zone, ZONE(3, '192.0.2.300'));
    const since = s.mark();
    process.kill(s.proc.pid!, 'SIGHUP');
    await s.waitFor(/reload failed; still serving the previous zones:\n.*img\.test\.zone:6:7: bad IPv4 address/, 20_000, since);
    expect(await answers(s.port, 'www.img.test')).to.deep.equal(['NOERROR:192.0.2.20']);
    expect(images(state)).to.deep.equal(kept);
    await stop();
  });
});
