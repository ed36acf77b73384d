import { expect } from 'chai';
import { collectGarbage, evaluateIn, listening } from '../../bench/inspector.js';
import { freePort, ROOT, startServer, type RunningServer } from '../helpers/server.js';
import { memoryKb } from '../../bench/procstat.js';
import { txtOf, udpQuery } from '../helpers/dns-client.js';

/** The worker that answers id.server: its pid. */
async function workerPid(port: number): Promise<number> {
  const text = txtOf(await udpQuery('id.server', 'TXT', 'CH', port)) ?? '';
  const m = /^worker-\d+ pid (\d+) host /.exec(text);
  if (!m) throw new Error(`unexpected id.server answer "${text}"`);
  return Number(m[1]);
}

// The forward-zones benchmark forces collections in a worker this way
// (bench/inspector.ts): a worker must leave SIGUSR1 to Node (no handler of
// its own, no flag that turns the inspector off) and live on.
describe('a shardns worker under a forced collection through its inspector (SIGUSR1)', function () {
  this.timeout(60_000);
  let server: RunningServer;
  let inspectPort: number;

  before(async () => {
    inspectPort = await freePort();
    server = await startServer(['--workers', '1', '--listen', '127.0.0.1', '--forward', 'none'], { env: { ...process.env, NODE_OPTIONS: `--inspect-port=127.0.0.1:${inspectPort}` } });
  });
  after(() => server?.kill());

  it('opens its inspector on the loopback port, collects, and the same worker answers on', async () => {
    const pid = await workerPid(server.port);
    expect(await listening(inspectPort)).to.equal(false);
    for (let k = 0; k < 5; k++) {
      const r = await collectGarbage(pid, inspectPort, () => memoryKb(pid).pssKb);
      expect(r.kind, JSON.stringify(r)).to.equal('ok');
      if (r.kind !== 'ok') return;
      expect(r.usedBytes).to.be.greaterThan(0);
      expect(r.pssKb).to.be.greaterThan(0);
      expect(r.opened).to.equal(k === 0);
      expect(await listening(inspectPort), 'the inspector stays open').to.equal(true);
      expect(await workerPid(server.port), `the same worker, not a restarted one: ${server.stdout()}${server.stderr()}`).to.equal(pid);
    }
    // The benchmark's last probe: malloc_trim(0) in the worker through koffi (1: memory was given back, 0: none was free).
    const trim = await evaluateIn(pid, inspectPort, `require(${JSON.stringify(`${ROOT}node_modules/koffi`)}).load('libc.so.6').func('int malloc_trim(size_t pad)')(0)`);
    expect(trim.kind, JSON.stringify(trim)).to.equal('ok');
    expect(trim.kind === 'ok' && trim.value).to.be.oneOf([0, 1]);
    const bad = await evaluateIn(pid, inspectPort, 'no_such_name_here');
    expect(bad.kind === 'error' && bad.message).to.match(/no_such_name_here/);
    const other = await evaluateIn(pid + 1, inspectPort, '1');
    expect(other.kind === 'error' && other.message).to.equal(`the inspector on 127.0.0.1:${inspectPort} is pid ${pid}'s, not ${pid + 1}'s`);
    await new Promise((r) => setTimeout(r, 300));
    expect(await workerPid(server.port)).to.equal(pid);
    expect(server.stderr()).to.match(new RegExp(`Debugger listening on ws://127\\.0\\.0\\.1:${inspectPort}/`));
    expect(server.stdout() + server.stderr()).not.to.match(/restart|exited|stalled/i);
  });
});
