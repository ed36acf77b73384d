import { expect } from 'chai';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { udpQuery, type Reply } from '../helpers/dns-client.js';
import { startServer, type RunningServer, workerPids } from '../helpers/server.js';

const ZONE = (extra: string): string => `$ORIGIN reload.test.\n$TTL 60\n@ SOA ns1 host 1 3600 600 86400 60\n@ NS ns1\nns1 A 192.0.2.1\n${extra}`;

/** The A addresses every worker gives for a name (several queries, several source ports). */
async function addresses(port: number, name: string): Promise<string[]> {
  const seen = new Set<string>();
  for (let i = 0; i < 20; i++) {
    const r = await udpQuery(name, 'A', 'IN', port);
    seen.add(`${(r as unknown as Reply).rcode}:${(r.answers ?? []).map((a) => (a as { data: string }).data).join(',')}`);
  }
  return [...seen];
}

describe('SIGHUP: reload zones', function () {
  this.timeout(30_000);
  let server: RunningServer;
  let file: string;

  before(async () => {
    file = join(mkdtempSync(join(tmpdir(), 'shardns-reload-')), 'reload.test.zone');
    writeFileSync(file, ZONE('www A 192.0.2.10\n'));
    server = await startServer(['--workers', '2', '--listen', '127.0.0.1', '--zone', `reload.test.=${file}`]);
  });
  after(() => server?.kill());

  it('serves the new data in every worker after a good reload', async () => {
    expect(await addresses(server.port, 'www.reload.test')).to.deep.equal(['NOERROR:192.0.2.10']);
    writeFileSync(file, ZONE('www A 192.0.2.20\nnew A 192.0.2.30\n'));
    const since = server.mark();
    process.kill(server.proc.pid!, 'SIGHUP');
    await server.waitFor(/reloaded 1 zone\(s\), 5 records, in 2 worker\(s\)/, 10_000, since);
    expect(await addresses(server.port, 'www.reload.test')).to.deep.equal(['NOERROR:192.0.2.20']);
    expect(await addresses(server.port, 'new.reload.test')).to.deep.equal(['NOERROR:192.0.2.30']);
  });

  it('a broken file on reload: errors with file:line logged, the old data keeps serving', async () => {
    writeFileSync(file, ZONE('www A 192.0.2.40\nbad A 300.1.1.1\n'));
    const since = server.mark();
    process.kill(server.proc.pid!, 'SIGHUP');
    await server.waitFor(new RegExp(`reload failed; still serving the previous zones:\\n${file}:7:7: bad IPv4 address "300\\.1\\.1\\.1"`), 10_000, since);
    expect(await addresses(server.port, 'www.reload.test')).to.deep.equal(['NOERROR:192.0.2.20']);
    expect(server.proc.exitCode).to.equal(null);
  });

  /** SIGKILLs the given workers and waits until each slot has a worker ready again. */
  async function replace(pids: number[]): Promise<void> {
    const since = server.mark();
    for (const pid of pids) process.kill(pid, 'SIGKILL');
    for (let i = 0; i < pids.length; i++) await server.waitFor(new RegExp(`(?:[\\s\\S]*?ready again){${i + 1}}`), 10_000, since);
  }

  it('workers that die while the file is broken come back with the zones the others serve, not the broken file', async () => {
    // The file is still the broken one of the test above.
    await replace(workerPids(server.proc.pid!));
    expect(await addresses(server.port, 'www.reload.test')).to.deep.equal(['NOERROR:192.0.2.20']);
    expect(await addresses(server.port, 'new.reload.test')).to.deep.equal(['NOERROR:192.0.2.30']);
    expect(server.stdout() + server.stderr()).to.not.match(/cannot serve/);
  });

  it('a file edited but not reloaded: a replacement serves what the others serve; the next reload moves every worker, replacements included', async () => {
    writeFileSync(file, ZONE('www A 192.0.2.50\n'));
    await replace([workerPids(server.proc.pid!)[0]!]);
    expect(await addresses(server.port, 'www.reload.test')).to.deep.equal(['NOERROR:192.0.2.20']);
    const since = server.mark();
    process.kill(server.proc.pid!, 'SIGHUP');
    await server.waitFor(/reloaded 1 zone\(s\), 4 records, in 2 worker\(s\)/, 10_000, since);
    expect(await addresses(server.port, 'www.reload.test')).to.deep.equal(['NOERROR:192.0.2.50']);
    await replace(workerPids(server.proc.pid!));
    expect(await addresses(server.port, 'www.reload.test')).to.deep.equal(['NOERROR:192.0.2.50']);
    expect(await addresses(server.port, 'new.reload.test')).to.deep.equal(['NXDOMAIN:']);
  });
});
