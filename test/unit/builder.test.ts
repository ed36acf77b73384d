/** ZoneBuilder (the supervisor's side): a builder that dies is a failed job with a reason, never a crash of the caller. */

import { expect } from 'chai';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ZoneBuilder } from '../../src/builder.js';
import { alive, childPids, until } from '../helpers/server.js';
import type { FetchJob, FetchOutcome } from '../../src/xfr/secondary.js';

describe('ZoneBuilder', function () {
  this.timeout(20_000);
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'shardns-builder-'));
    writeFileSync(join(dir, 'zone.db'), '$TTL 60\n@ SOA ns1 host 1 1 1 1 1\n@ NS ns1\nns1 A 192.0.2.1\n');
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  const builder = (script?: string): ZoneBuilder => new ZoneBuilder({ stateDir: join(dir, 'state'), logLevel: 'error', logFormat: 'text', ...(script ? { script } : {}) });
  const zones = () => [{ name: 'b.test.', file: join(dir, 'zone.db') }];

  it('builds in a child process that has exited once the builder is idle', async () => {
    const b = builder();
    const r = await b.build(zones());
    expect(r.outcome.kind).to.equal('ok');
    if (r.outcome.kind === 'ok') expect(r.outcome.zones.map((z) => [z.origin, z.serial, z.records])).to.deep.equal([['b.test.', 1, 3]]);
    expect(r.peakRssMB).to.be.greaterThan(0);
    await b.idle();
    expect(b.busy).to.equal(false);
    expect(childPids(process.pid).filter((pid) => cmdline(pid).includes('zone-builder'))).to.deep.equal([]);
  });

  it('the build settles at the answer, not at the exit: a builder still working after it (the deferred fsync) keeps it busy until gone, then onIdle', async () => {
    const script = join(dir, 'slow-exit.mjs');
    // Answers at once, then works 1.5 s (as the fsync of a large image may) before the channel's close lets it exit.
    writeFileSync(
      script,
      `process.on('message', (m) => process.send({ type: 'built', seq: m.seq, outcome: { kind: 'ok', zones: [], warnings: [], ms: 1 }, pid: process.pid, peakRssMB: 1 }, undefined, undefined, () => { const end = Date.now() + 1500; while (Date.now() < end); }));
process.on('disconnect', () => process.exit(0));`,
    );
    let idle = 0;
    const b = new ZoneBuilder({ stateDir: join(dir, 'state'), logLevel: 'error', logFormat: 'text', script, onIdle: () => idle++ });
    const t0 = performance.now();
    const r = await b.build(zones());
    const answeredMs = performance.now() - t0;
    expect(r.outcome.kind).to.equal('ok');
    expect(answeredMs, 'settled before the builder finished its work').to.be.lessThan(1200);
    expect(b.busy, 'busy while the builder still runs').to.equal(true);
    expect(idle).to.equal(0);
    await b.idle();
    expect(performance.now() - t0).to.be.greaterThan(1400);
    expect(b.busy).to.equal(false);
    await new Promise((r) => setImmediate(r)); // onIdle comes a turn after idle() settles
    expect(idle).to.equal(1);
  });

  it('onStarted is called when the builder has the job, before its answer; once, also when the builder dies first', async () => {
    const script = join(dir, 'started.mjs');
    // Says it started, then answers 800 ms later.
    writeFileSync(
      script,
      `process.on('message', (m) => { process.send({ type: 'started', seq: m.seq, pid: process.pid }); setTimeout(() => process.send({ type: 'built', seq: m.seq, outcome: { kind: 'ok', zones: [], warnings: [], ms: 1 }, pid: process.pid, peakRssMB: 1 }), 800); });
process.on('disconnect', () => process.exit(0));`,
    );
    const t0 = performance.now();
    const startedAt: number[] = [];
    const r = await builder(script).build(zones(), false, () => startedAt.push(performance.now() - t0));
    const answeredAt = performance.now() - t0;
    expect(r.outcome.kind).to.equal('ok');
    expect(startedAt).to.have.length(1);
    expect(answeredAt - startedAt[0]!, 'started well before the answer').to.be.greaterThan(600);
    const dead = join(dir, 'dies.mjs');
    writeFileSync(dead, 'process.exit(3);');
    let calls = 0;
    const d = await builder(dead).build(zones(), false, () => calls++);
    expect(d.outcome.kind).to.equal('error');
    expect(calls, 'called once even though the builder never started').to.equal(1);
  });

  const deaths: [string, string, RegExp][] = [
    ['exits before answering', 'process.exit(3);', /the zone builder exited \(exit code 3\) before finishing the build/],
    ['is killed while building', "process.on('message', () => process.kill(process.pid, 'SIGKILL'));", /the zone builder exited \(SIGKILL\) before finishing the build/],
  ];
  for (const [what, body, message] of deaths) {
    it(`a builder that ${what}: the build fails with the reason, for every zone`, async () => {
      const script = join(dir, `bad-${deaths.findIndex((d) => d[0] === what)}.mjs`);
      writeFileSync(script, body);
      const r = await builder(script).build(zones());
      expect(r.outcome.kind).to.equal('error');
      if (r.outcome.kind !== 'error') return;
      expect(r.outcome.error.code).to.equal('E_IMAGE');
      expect(r.outcome.errors.join('\n')).to.match(message);
      expect(r.outcome.failed.map((f) => f.origin)).to.deep.equal(['b.test.']);
    });
  }
});

describe('ZoneBuilder: the warm transfer builder', function () {
  this.timeout(20_000);
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'shardns-warm-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  const job = (origin: string): FetchJob => ({ origin, primaries: [], current: null, announced: null });
  /**
   * A stand-in builder: answers each fetch with `current` (the zone's origin as the record's detail, its pid as `from`),
   * then says it settled at `rssMB`; job number `dieAt` (counted in this process) kills it instead of answering.
   */
  const script = (name: string, opts: { rssMB: number; dieAt?: number }): string => {
    const path = join(dir, `${name}.mjs`);
    writeFileSync(
      path,
      `let jobs = 0;
process.on('message', (m) => {
  if (m.type !== 'fetch') return;
  jobs++;
  if (jobs === ${opts.dieAt ?? -1}) { process.kill(process.pid, 'SIGKILL'); return; }
  const record = { at: new Date().toISOString(), kind: 'IXFR', from: String(process.pid), outcome: 'ok', serial: 1, detail: m.job.origin, ms: 0 };
  process.send({ type: 'fetched', seq: m.seq, outcome: { kind: 'current', record }, pid: process.pid, peakRssMB: 1 }, () =>
    process.connected && process.send({ type: 'settled', seq: m.seq, pid: process.pid, rssMB: ${opts.rssMB} }, () => {}));
});
process.on('disconnect', () => process.exit(0));
`,
    );
    return path;
  };
  const answeredBy = (o: FetchOutcome): number => (o.kind === 'current' ? Number(o.record.from) : -1);

  it('one process answers job after job, and stays between them; close() lets it go', async () => {
    const b = new ZoneBuilder({ stateDir: join(dir, 'state'), logLevel: 'error', logFormat: 'text', script: script('steady', { rssMB: 50 }) });
    const first = await b.fetch(job('a.test.'), []);
    const second = await b.fetch(job('b.test.'), []);
    expect([first.kind, first.record.detail, second.record.detail]).to.deep.equal(['current', 'a.test.', 'b.test.']);
    expect(answeredBy(second)).to.equal(answeredBy(first));
    expect(b.warmPid).to.equal(answeredBy(first));
    expect(alive(answeredBy(first))).to.equal(true);
    b.close();
    expect(await until(() => !alive(answeredBy(first)), 5000, 20)).to.equal(true);
  });

  it('onIdle after a warm job comes once the caller has taken up the outcome (the image it built is then kept, not deleted as unused)', async () => {
    let adopted = false;
    const seen: boolean[] = [];
    const b = new ZoneBuilder({ stateDir: join(dir, 'state'), logLevel: 'error', logFormat: 'text', script: script('idle-after', { rssMB: 50 }), onIdle: () => seen.push(adopted) });
    const outcome = await b.fetch(job('a.test.'), []);
    // What the secondary does in the same turn: keep what the job built (after this, removal spares it).
    adopted = outcome.kind === 'current';
    await new Promise((r) => setImmediate(r));
    expect(seen).to.deep.equal([true]);
    b.close();
  });

  it('a second job while the warm one runs gets a builder of its own', async () => {
    const b = new ZoneBuilder({ stateDir: join(dir, 'state'), logLevel: 'error', logFormat: 'text', script: script('two', { rssMB: 50 }) });
    const [x, y] = await Promise.all([b.fetch(job('a.test.'), []), b.fetch(job('b.test.'), [])]);
    expect(answeredBy(x)).to.not.equal(answeredBy(y));
    expect(b.warmPid).to.equal(answeredBy(x));
    b.close();
  });

  it('killed in the middle of a job: that transfer fails with the reason, the next job runs in a new builder', async () => {
    const b = new ZoneBuilder({ stateDir: join(dir, 'state'), logLevel: 'error', logFormat: 'text', script: script('dies', { rssMB: 50, dieAt: 2 }) });
    const first = await b.fetch(job('a.test.'), []);
    const lost = await b.fetch(job('b.test.'), []);
    expect(lost.kind).to.equal('failed');
    expect(lost.record.detail).to.match(/the zone builder exited \(SIGKILL\) before finishing the transfer/);
    const next = await b.fetch(job('c.test.'), []);
    expect([next.kind, next.record.detail]).to.deep.equal(['current', 'c.test.']);
    expect(answeredBy(next)).to.not.equal(answeredBy(first));
    b.close();
  });

  it('left larger than its limit after a job: let go, and a fresh one is started at once for the next job', async () => {
    const b = new ZoneBuilder({ stateDir: join(dir, 'state'), logLevel: 'error', logFormat: 'text', warmRssLimitMB: 100, script: script('big', { rssMB: 500 }) });
    const first = answeredBy(await b.fetch(job('a.test.'), []));
    expect(await until(() => !alive(first), 5000, 20), 'the large one exits').to.equal(true);
    expect(await until(() => b.warmPid !== null && b.warmPid !== first, 5000, 20), 'a new one is started before any job asks').to.equal(true);
    const fresh = b.warmPid;
    expect(answeredBy(await b.fetch(job('b.test.'), []))).to.equal(fresh);
    b.close();
  });
});

function cmdline(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8');
  } catch {
    return '';
  }
}
