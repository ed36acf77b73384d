import { expect } from 'chai';
import type { Remote, SecondaryZone } from '../../../src/config.js';
import type { Logger } from '../../../src/log.js';
import type { BuiltZone } from '../../../src/zone/image/reuse.js';
import type { SecondaryState } from '../../../src/xfr/secondary-files.js';
import { clampTimers, SecondaryZones, TIMER_BOUNDS, type FetchJob, type FetchOutcome, type SoaCheck, type SoaTimers } from '../../../src/xfr/secondary.js';

const PRIMARY: Remote = { address: '127.0.0.1', port: 5300, key: null };
const SPEC: SecondaryZone = { name: 'example.org.', type: 'secondary', primaries: [PRIMARY], notify: [], allowTransfer: [], allowNotify: [] };
const TIMERS: SoaTimers = { refresh: 3600, retry: 600, expire: 86_400 };

function built(serial: number): BuiltZone {
  return { origin: 'example.org.', imagePath: `/state/images/example.org-${serial}.zimg`, imageBytes: 100, serial, records: 3, reused: false, reason: 'test', ms: 1, sourceFiles: [] };
}

/** A secondary clock with every dependency fake: a hand-driven clock and timers, scripted SOA answers and transfers. */
function rig(options: { soa?: SoaCheck[]; fetch?: FetchOutcome[]; lagMs?: number } = {}) {
  let now = 1_000_000_000_000;
  const timers: { fn: () => void; at: number; id: number }[] = [];
  let ids = 0;
  let lag = options.lagMs ?? 0;
  const soaAnswers = [...(options.soa ?? [])];
  const fetchAnswers = [...(options.fetch ?? [])];
  const log: string[] = [];
  const served: [string, number | null][] = [];
  const persisted: SecondaryState[] = [];
  const soaAsked: string[] = [];
  const jobs: FetchJob[] = [];
  const logger = {
    debug: (m: string) => log.push(`debug ${m}`),
    info: (m: string) => log.push(`info ${m}`),
    warn: (m: string) => log.push(`warn ${m}`),
    error: (m: string) => log.push(`error ${m}`),
  } as unknown as Logger;
  const clock = new SecondaryZones({
    now: () => now,
    querySoa: async (origin) => {
      soaAsked.push(origin);
      return soaAnswers.shift() ?? { kind: 'error', why: 'no answer scripted' };
    },
    fetch: async (job) => {
      jobs.push(job);
      return fetchAnswers.shift() ?? { kind: 'failed', record: { at: '', kind: 'AXFR', from: 'x', outcome: 'failed', serial: null, detail: 'none scripted', ms: 0 } };
    },
    serve: (origin, zone) => served.push([origin, zone?.serial ?? null]),
    persist: (s) => persisted.push(structuredClone(s)),
    log: logger,
    setTimer: (fn, ms) => {
      const t = { fn, at: now + ms, id: ++ids };
      timers.push(t);
      return t;
    },
    clearTimer: (t) => {
      const i = timers.indexOf(t as (typeof timers)[number]);
      if (i >= 0) timers.splice(i, 1);
    },
  });
  /** Moves the clock to the next timer, fires it, and lets the promises it started settle. */
  const next = async (): Promise<number> => {
    timers.sort((a, b) => a.at - b.at);
    const t = timers.shift();
    if (t === undefined) throw new Error('no timer pending');
    const waited = t.at - now;
    // With lagMs, the wall clock reads a little behind the first timer that fires (Date.now() and Node's monotonic timers drift apart).
    now = t.at - lag;
    lag = 0;
    t.fn();
    for (let i = 0; i < 10; i++) await Promise.resolve();
    return waited;
  };
  const settle = async (): Promise<void> => {
    for (let i = 0; i < 10; i++) await Promise.resolve();
  };
  return { clock, next, settle, log, served, persisted, soaAsked, jobs, timers, advance: (ms: number) => (now += ms), now: () => now };
}

const fresh = (): SecondaryState => ({ origin: SPEC.name, serial: null, lastContact: null, expire: null, last: null });
const updated = (serial: number, timers = TIMERS): FetchOutcome => ({ kind: 'updated', zone: built(serial), timers, warnings: [], record: { at: 'now', kind: 'AXFR', from: '127.0.0.1:5300', outcome: 'ok', serial, detail: '3 records', ms: 5 } });

describe('secondary zones: the refresh clock (RFC 1035 §4.3.5, RFC 1996)', () => {
  it('a zone without data is transferred at once, served, and checked again after its refresh', async () => {
    const r = rig({ fetch: [updated(7)] });
    r.clock.add(SPEC, null, fresh(), null);
    r.clock.begin();
    expect(await r.next()).to.equal(0);
    expect(r.soaAsked).to.deep.equal([]);
    expect(r.jobs).to.have.length(1);
    expect(r.jobs[0]!.current).to.equal(null);
    expect(r.served).to.deep.equal([['example.org.', 7]]);
    expect(r.persisted.at(-1)).to.deep.include({ serial: 7, expire: 86_400, lastContact: r.now() });
    expect(r.persisted.at(-1)!.timers).to.deep.equal(TIMERS);
    // The next check is due after the refresh (the expiry timer is the other one pending).
    const due = r.timers.map((t) => t.at - r.now()).sort((a, b) => a - b);
    expect(due).to.deep.equal([3_600_000, 86_400_000]);
  });

  it('with data: an SOA query; the same serial at the primary confirms the data (no transfer)', async () => {
    const r = rig({ soa: [{ kind: 'ok', serial: 7 }] });
    r.clock.add(SPEC, built(7), { ...fresh(), serial: 7, lastContact: 0, expire: 10 ** 12 }, TIMERS);
    r.clock.begin();
    await r.next();
    expect(r.soaAsked).to.deep.equal(['example.org.']);
    expect(r.jobs).to.have.length(0);
    expect(r.persisted.at(-1)!.last).to.deep.include({ kind: 'SOA', outcome: 'ok' });
    expect(r.persisted.at(-1)!.lastContact).to.equal(r.now());
  });

  it('a newer serial at the primary (RFC 1982, across the wrap) starts a transfer from the version served', async () => {
    const r = rig({ soa: [{ kind: 'ok', serial: 3 }], fetch: [updated(3)] });
    r.clock.add(SPEC, built(0xffff_fff0), { ...fresh(), serial: 0xffff_fff0, lastContact: 0, expire: 10 ** 12 }, TIMERS);
    r.clock.begin();
    await r.next();
    await r.settle();
    expect(r.jobs).to.have.length(1);
    expect(r.jobs[0]).to.deep.include({ announced: 3 });
    expect(r.jobs[0]!.current).to.deep.equal({ imagePath: built(0xffff_fff0).imagePath, serial: 0xffff_fff0 });
    expect(r.served).to.deep.equal([['example.org.', 3]]);
  });

  it('an older serial at the primary is not transferred (ours is kept) and is logged', async () => {
    const r = rig({ soa: [{ kind: 'ok', serial: 5 }] });
    r.clock.add(SPEC, built(7), { ...fresh(), serial: 7, lastContact: 0, expire: 10 ** 12 }, TIMERS);
    r.clock.begin();
    await r.next();
    expect(r.jobs).to.have.length(0);
    expect(r.log.some((l) => /has serial 5, older than ours \(7\)/.test(l))).to.equal(true);
  });

  it('failures retry after the SOA retry; past expire since the last contact the zone stops being served, and is served again once a primary answers', async () => {
    const short: SoaTimers = { refresh: 100, retry: 30, expire: 60 };
    const r = rig({ soa: [{ kind: 'error', why: 'timed out' }, { kind: 'error', why: 'timed out' }, { kind: 'error', why: 'timed out' }, { kind: 'ok', serial: 7 }] });
    r.clock.add(SPEC, built(7), { ...fresh(), serial: 7, lastContact: r.now(), expire: 60 }, short);
    r.clock.begin();
    await r.next(); // the first check fails
    expect(r.log.some((l) => /refresh failed .*timed out.*still serving serial 7; retrying in 30 s/.test(l))).to.equal(true);
    expect(await r.next()).to.equal(30_000); // retry, fails again
    expect(await r.next()).to.equal(30_000); // the expiry (60 s after the last contact) comes before the next retry
    expect(r.served).to.deep.equal([['example.org.', null]]);
    expect(r.log.some((l) => /^error zone example.org.: expired/.test(l))).to.equal(true);
    expect(r.clock.status()[0]).to.deep.include({ standing: 'expired', serial: 7 });
    await r.next(); // a retry, fails
    await r.next(); // a retry: the primary answers with our serial
    expect(r.served).to.deep.equal([['example.org.', null], ['example.org.', 7]]);
    expect(r.clock.status()[0]).to.deep.include({ standing: 'serving' });
  });

  it('an expiry timer that fires a moment before the wall clock says it is due still expires the zone (it re-arms)', async () => {
    const r = rig({ lagMs: 1 });
    r.clock.add(SPEC, built(7), { ...fresh(), serial: 7, lastContact: r.now(), expire: 60 }, { refresh: 10 ** 6, retry: 10 ** 6, expire: 60 });
    await r.next(); // the expiry timer, 1 ms early by the wall clock: not yet expired, re-armed
    expect(r.served).to.deep.equal([]);
    await r.next(); // again: now due
    expect(r.served).to.deep.equal([['example.org.', null]]);
  });

  it('data that expired while the server was down is not served at start', () => {
    const r = rig();
    r.clock.add(SPEC, built(7), { ...fresh(), serial: 7, lastContact: r.now() - 61_000, expire: 60 }, TIMERS);
    expect(r.clock.servedVersion('example.org.')).to.equal(null);
    expect(r.clock.keptImages()).to.deep.equal([built(7).imagePath]);
    expect(r.log.some((l) => /expired while shardns was down/.test(l))).to.equal(true);
  });

  it('a zone without data backs off between failed attempts, doubling', async () => {
    const r = rig();
    r.clock.add(SPEC, null, fresh(), null);
    r.clock.begin();
    await r.next();
    expect(await r.next()).to.equal(5_000);
    expect(await r.next()).to.equal(10_000);
    expect(await r.next()).to.equal(20_000);
  });

  it('NOTIFY with a newer serial transfers at once without an SOA query; with our serial it does nothing', async () => {
    const r = rig({ soa: [{ kind: 'ok', serial: 7 }], fetch: [updated(8)] });
    r.clock.add(SPEC, built(7), { ...fresh(), serial: 7, lastContact: r.now(), expire: 10 ** 6 }, TIMERS);
    r.clock.begin();
    await r.next();
    expect(r.soaAsked).to.have.length(1);
    r.clock.notified('EXAMPLE.org.', 7, '127.0.0.1');
    await r.settle();
    expect(r.jobs).to.have.length(0);
    r.clock.notified('example.org.', 8, '127.0.0.1');
    await r.settle();
    expect(r.soaAsked).to.have.length(1);
    expect(r.jobs.map((j) => j.announced)).to.deep.equal([8]);
    expect(r.served).to.deep.equal([['example.org.', 8]]);
  });

  it('a refresh asked by the operator checks at once (an SOA query first); not before the clock began, nor for a zone not ours', async () => {
    const r = rig({ soa: [{ kind: 'ok', serial: 7 }, { kind: 'ok', serial: 7 }] });
    r.clock.add(SPEC, built(7), { ...fresh(), serial: 7, lastContact: r.now(), expire: 10 ** 6 }, TIMERS);
    expect(r.clock.refresh('example.org.', 'test')).to.equal(false);
    r.clock.begin();
    await r.next();
    expect(r.soaAsked).to.have.length(1);
    expect(r.clock.refresh('other.example.', 'test')).to.equal(false);
    expect(r.clock.refresh('EXAMPLE.ORG.', 'test')).to.equal(true);
    await r.settle();
    expect(r.soaAsked).to.have.length(2);
    expect(r.log.some((l) => /refresh asked \(test\); checking now/.test(l))).to.equal(true);
  });

  it('a NOTIFY while a check runs checks again when it ends', async () => {
    let release: (o: FetchOutcome) => void = () => undefined;
    const r = rig({ fetch: [] });
    const jobs: FetchJob[] = [];
    // A transfer that waits to be released, then one that answers at once.
    const deps = (r.clock as unknown as { deps: { fetch: (j: FetchJob) => Promise<FetchOutcome> } }).deps;
    deps.fetch = (job) => {
      jobs.push(job);
      return jobs.length === 1 ? new Promise((res) => (release = res)) : Promise.resolve(updated(9));
    };
    r.clock.add(SPEC, null, fresh(), null);
    r.clock.begin();
    await r.next();
    expect(jobs).to.have.length(1);
    r.clock.notified('example.org.', 9, '127.0.0.1');
    release(updated(8));
    await r.settle();
    await r.settle();
    expect(jobs.map((j) => j.current?.serial ?? null)).to.deep.equal([null, 8]);
    expect(r.served).to.deep.equal([['example.org.', 8], ['example.org.', 9]]);
  });

  it('SOA timers are clamped as Knot clamps them', () => {
    expect(clampTimers({ refresh: 0, retry: 1, expire: 1 })).to.deep.equal({ refresh: TIMER_BOUNDS.refresh.min, retry: TIMER_BOUNDS.retry.min, expire: TIMER_BOUNDS.expire.min });
    expect(clampTimers({ refresh: 10 ** 9, retry: 10 ** 9, expire: 10 ** 9 })).to.deep.equal({ refresh: TIMER_BOUNDS.refresh.max, retry: TIMER_BOUNDS.retry.max, expire: TIMER_BOUNDS.expire.max });
    expect(clampTimers(TIMERS)).to.deep.equal(TIMERS);
  });
});
