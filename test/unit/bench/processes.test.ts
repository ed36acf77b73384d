import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { ProcessGroups } from '../../../bench/processes.js';
import { groupPids } from '../../../bench/procstat.js';
import { alive, until } from '../../helpers/server.js';

const HOLDER = fileURLToPath(new URL('./fixtures/hold-processes.js', import.meta.url));

describe('bench process clean-up', function () {
  this.timeout(20_000);

  it('starts each process as its own group and stops it with everything it forked', async () => {
    const groups = new ProcessGroups();
    const t = groups.spawn('forker', 'sh', ['-c', 'sleep 300 & sleep 300 & echo started; wait']);
    await t.waitFor(/started/, 5000);
    expect(t.pgid).to.equal(t.proc.pid);
    expect(await until(() => groupPids(t.pgid).length === 3, 3000)).to.equal(true);
    const pids = groupPids(t.pgid);
    await groups.stop(t);
    expect(pids.filter(alive)).to.deep.equal([]);
    expect(groups.pgids()).to.deep.equal([]);
  });

  it('kills a group that ignores SIGTERM once the grace time is over', async () => {
    const groups = new ProcessGroups();
    const t = groups.spawn('stubborn', 'sh', ['-c', 'trap "" TERM; echo ready; while :; do sleep 0.05; done']);
    await t.waitFor(/ready/, 5000);
    const started = Date.now();
    await groups.stop(t, 300);
    expect(Date.now() - started).to.be.within(250, 5000);
    expect(groupPids(t.pgid)).to.deep.equal([]);
  });

  it('killAllSync kills every group at once', async () => {
    const groups = new ProcessGroups();
    const a = groups.spawn('a', 'sleep', ['300']);
    const b = groups.spawn('b', 'sh', ['-c', 'sleep 300 & wait']);
    await until(() => groupPids(b.pgid).length === 2, 3000);
    groups.killAllSync();
    expect(await until(() => groupPids(a.pgid).length + groupPids(b.pgid).length === 0, 3000)).to.equal(true);
  });

  it('on SIGINT (Ctrl-C) the benchmark process kills every group it started and exits 130', async () => {
    const holder = spawn(process.execPath, [HOLDER], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    holder.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise<number | null>((r) => holder.on('exit', (code) => r(code)));
    expect(await until(() => out.includes('\n'), 10_000)).to.equal(true);
    const { pids } = JSON.parse(out) as { pgids: number[]; pids: number[] };
    expect(pids).to.have.length(4); // sleep, and sh with two sleeps
    expect(pids.every(alive)).to.equal(true);
    holder.kill('SIGINT');
    expect(await exited).to.equal(130);
    expect(await until(() => pids.filter(alive).length === 0, 3000), `left alive: ${pids.filter(alive).join(' ')}`).to.equal(true);
  });

  it('keeps the output, finds patterns after a mark, and fails a wait when the process exits', async () => {
    const groups = new ProcessGroups();
    const t = groups.spawn('echo', 'sh', ['-c', 'echo one; sleep 0.2; echo two >&2; sleep 0.2; echo three']);
    await t.waitFor(/one/, 5000);
    const mark = t.mark();
    await t.waitFor(/three/, 5000, mark);
    expect(t.outputSince(mark)).to.equal('two\nthree\n');
    await t.closed;
    await expectReject(t.waitFor(/four/, 5000), /exited/);
    await groups.stopAll();
  });

  it('reports a command that cannot start', () => {
    const groups = new ProcessGroups();
    expect(() => groups.spawn('x', '/nonexistent/command', [])).to.throw(/cannot start/);
  });
});

async function expectReject(p: Promise<unknown>, re: RegExp): Promise<void> {
  try {
    await p;
  } catch (err) {
    expect((err as Error).message).to.match(re);
    return;
  }
  throw new Error('expected a rejection');
}
