import { expect } from 'chai';
import { Counters } from '../../../src/dns/counters.js';
import { RCODE, headerOnlyReply } from '../../../src/dns/header.js';
import type { WorkerCounters } from '../../../src/ipc.js';
import { Histogram, UPSTREAM_BUCKETS } from '../../../src/ops/histogram.js';
import { Metrics, type WorkerReport } from '../../../src/ops/metrics.js';
import { buildQuery } from '../../helpers/dns-client.js';
import { parseExposition, type Exposition } from '../../helpers/prometheus.js';

const q = buildQuery('a.example', 'A');

/** A worker's report as dns-worker.ts builds it: its real Counters fed `udp` and `tcp` replies of these rcodes. */
function report(id: number, pid: number, o: { udp?: number[]; tcp?: number[]; hits?: number; entries?: number; latency?: number[]; inode?: number; logs?: number }): WorkerReport {
  const c = new Counters();
  for (const rcode of o.udp ?? []) c.record('udp', headerOnlyReply(q, rcode));
  for (const rcode of o.tcp ?? []) c.record('tcp', headerOnlyReply(q, rcode));
  const h = new Histogram();
  for (const s of o.latency ?? []) h.observe(s);
  const counters: WorkerCounters = {
    ...c.snapshot(),
    replyCache: { hits: o.hits ?? 0, misses: 0, entries: o.entries ?? 0, notAdmitted: 0 },
    forwarding: { cacheHits: 1, cacheMisses: 2, upstreamQueries: 3, upstreamFailures: 1, shared: 0 },
    ops: {
      images: [],
      udpSockets: o.inode === undefined ? [] : [{ endpoint: '127.0.0.1:5353', inode: o.inode }],
      upstreamLatency: h.snapshot(),
      logs: { dnstap: { records: 2 * (o.logs ?? 0), dropped: 0 }, 'query-log': { records: o.logs ?? 0, dropped: 1 } },
    },
  };
  return { id, pid, counters };
}

async function scrape(m: Metrics, reports: WorkerReport[], drops = new Map<number, number>(), restarts: number[] = [0, 0]): Promise<Exposition> {
  m.collect(reports, drops, restarts);
  return parseExposition(await m.render());
}

describe('Metrics', () => {
  const { NOERROR, NXDOMAIN, REFUSED } = RCODE;

  it('sums the workers\' counters by transport, rcode and opcode, with the right types', async () => {
    const m = new Metrics(2);
    const e = await scrape(m, [report(0, 10, { udp: [NOERROR, NOERROR, NXDOMAIN], tcp: [REFUSED], hits: 2 }), report(1, 11, { udp: [NOERROR], hits: 1 })]);
    expect(e.get('shardns_queries_total', { transport: 'udp' })).to.equal(4);
    expect(e.get('shardns_queries_total', { transport: 'tcp' })).to.equal(1);
    expect(e.get('shardns_replies_total', { transport: 'udp', rcode: 'NOERROR' })).to.equal(3);
    expect(e.get('shardns_replies_total', { transport: 'udp', rcode: 'NXDOMAIN' })).to.equal(1);
    expect(e.get('shardns_replies_total', { transport: 'tcp', rcode: 'REFUSED' })).to.equal(1);
    expect(e.get('shardns_query_opcodes_total', { transport: 'udp', opcode: 'QUERY' })).to.equal(4);
    expect(e.get('shardns_reply_cache_hits_total')).to.equal(3);
    expect(e.get('shardns_forward_cache_hits_total')).to.equal(2);
    expect(e.get('shardns_upstream_queries_total')).to.equal(6);
    expect(e.get('shardns_worker_received_total', { worker: '0' })).to.equal(4);
    expect(e.get('shardns_worker_answered_total', { worker: '1' })).to.equal(1);
    expect(e.get('shardns_worker_up', { worker: '1' })).to.equal(1);
    expect(e.types.get('shardns_replies_total')).to.equal('counter');
    expect(e.types.get('shardns_reply_cache_entries')).to.equal('gauge');
    expect(e.types.get('shardns_upstream_resolution_seconds')).to.equal('histogram');
  });

  it('never goes backwards when a worker is replaced: the old process\'s counts stay', async () => {
    const m = new Metrics(2);
    await scrape(m, [report(0, 10, { udp: [NOERROR, NOERROR, NOERROR], entries: 50 }), report(1, 11, { udp: [NOERROR] })]);
    // Worker 0 died and came back as pid 12, which has answered one query so far; it also restarted once.
    const e = await scrape(m, [report(0, 12, { udp: [NXDOMAIN], entries: 1 }), report(1, 11, { udp: [NOERROR, NOERROR] })], new Map(), [1, 0]);
    expect(e.get('shardns_queries_total', { transport: 'udp' })).to.equal(6);
    expect(e.get('shardns_replies_total', { transport: 'udp', rcode: 'NOERROR' })).to.equal(5);
    expect(e.get('shardns_worker_received_total', { worker: '0' })).to.equal(4);
    expect(e.get('shardns_worker_restarts_total', { worker: '0' })).to.equal(1);
    // A gauge is the running process's, not a sum over processes.
    expect(e.get('shardns_reply_cache_entries')).to.equal(1);
  });

  it('sums the UDP threads\' counters (--io thread) over workers, each under its own name', async () => {
    const m = new Metrics(2);
    const thread = (r: WorkerReport, t: NonNullable<WorkerCounters['udpThread']>): WorkerReport => ({ ...r, counters: { ...r.counters, udpThread: t } });
    const e = await scrape(m, [
      thread(report(0, 10, {}), { received: 100, recvCalls: 40, cacheHits: 90, passed: 10, sent: 100, sendFailures: 1, coalesceWaits: 5 }),
      thread(report(1, 11, {}), { received: 50, recvCalls: 30, cacheHits: 45, passed: 5, sent: 50, sendFailures: 0, coalesceWaits: 2 }),
    ]);
    expect(e.get('shardns_udp_thread_received_total')).to.equal(150);
    expect(e.get('shardns_udp_thread_receive_calls_total')).to.equal(70);
    expect(e.get('shardns_udp_thread_cache_hits_total')).to.equal(135);
    expect(e.get('shardns_udp_thread_passed_total')).to.equal(15);
    expect(e.get('shardns_udp_thread_send_failures_total')).to.equal(1);
    expect(e.get('shardns_udp_thread_coalesce_waits_total')).to.equal(7);
    expect(e.types.get('shardns_udp_thread_received_total')).to.equal('counter');
  });

  it('counts a slot that does not answer as down, keeping its counts', async () => {
    const m = new Metrics(2);
    await scrape(m, [report(0, 10, { udp: [NOERROR] }), report(1, 11, { udp: [NOERROR, NOERROR] })]);
    const e = await scrape(m, [report(0, 10, { udp: [NOERROR] })]);
    expect(e.get('shardns_worker_up', { worker: '1' })).to.equal(0);
    expect(e.get('shardns_queries_total', { transport: 'udp' })).to.equal(3);
  });

  it('reports kernel drops per worker slot and endpoint, kept across a new socket', async () => {
    const m = new Metrics(2);
    let e = await scrape(m, [report(0, 10, { inode: 500 }), report(1, 11, { inode: 501 })], new Map([[500, 7], [501, 0], [999, 40]]));
    expect(e.get('shardns_udp_receive_drops_total', { worker: '0', endpoint: '127.0.0.1:5353' })).to.equal(7);
    expect(e.get('shardns_udp_receive_drops_total', { worker: '1', endpoint: '127.0.0.1:5353' })).to.equal(0);
    // Slot 0 got a new socket (inode 600) that dropped 2 so far.
    e = await scrape(m, [report(0, 12, { inode: 600 }), report(1, 11, { inode: 501 })], new Map([[600, 2], [501, 1]]));
    expect(e.get('shardns_udp_receive_drops_total', { worker: '0', endpoint: '127.0.0.1:5353' })).to.equal(9);
    expect(e.sum('shardns_udp_receive_drops_total')).to.equal(10);
  });

  it('exposes the upstream latency as a Prometheus histogram summed over workers', async () => {
    const m = new Metrics(2);
    const e = await scrape(m, [report(0, 10, { latency: [0.0005, 0.02] }), report(1, 11, { latency: [0.02, 7] })]);
    expect(e.get('shardns_upstream_resolution_seconds_bucket', { le: '0.001' })).to.equal(1);
    expect(e.get('shardns_upstream_resolution_seconds_bucket', { le: '0.025' })).to.equal(3);
    expect(e.get('shardns_upstream_resolution_seconds_bucket', { le: String(UPSTREAM_BUCKETS.at(-1)) })).to.equal(3);
    expect(e.get('shardns_upstream_resolution_seconds_bucket', { le: '+Inf' })).to.equal(4);
    expect(e.get('shardns_upstream_resolution_seconds_count')).to.equal(4);
    expect(e.get('shardns_upstream_resolution_seconds_sum')).to.be.closeTo(7.0405, 1e-9);
  });

  it('tells zones, reloads and log records', async () => {
    const m = new Metrics(1);
    m.zonesLoaded([{ origin: 'example.com.', serial: 2024010101, records: 34, ms: 28 }], 1_700_000_000_000);
    m.reloaded('ok');
    m.reloaded('failed');
    m.reloaded('failed');
    m.logDropped('dnstap', 5);
    const e = await scrape(m, [report(0, 10, { logs: 10 })], new Map(), [0]);
    expect(e.get('shardns_zone_serial', { zone: 'example.com.' })).to.equal(2024010101);
    expect(e.get('shardns_zone_records', { zone: 'example.com.' })).to.equal(34);
    expect(e.get('shardns_zone_image_build_seconds', { zone: 'example.com.' })).to.equal(0.028);
    expect(e.get('shardns_reloads_total', { outcome: 'ok' })).to.equal(1);
    expect(e.get('shardns_reloads_total', { outcome: 'failed' })).to.equal(2);
    expect(e.get('shardns_reloads_total', { outcome: 'partial' })).to.equal(0);
    expect(e.get('shardns_reload_last_success_timestamp_seconds')).to.equal(1_700_000_000);
    expect(e.get('shardns_log_records_total', { log: 'dnstap' })).to.equal(20);
    expect(e.get('shardns_log_records_total', { log: 'query-log' })).to.equal(10);
    expect(e.get('shardns_log_records_dropped_total', { log: 'dnstap' })).to.equal(5);
    expect(e.get('shardns_log_records_dropped_total', { log: 'query-log' })).to.equal(1);
  });

  it('labels nothing by client or query name', async () => {
    const m = new Metrics(1);
    m.zonesLoaded([{ origin: 'example.com.', serial: 1, records: 1, ms: 1 }]);
    const e = await scrape(m, [report(0, 10, { udp: [NOERROR], inode: 1 })], new Map([[1, 0]]), [0]);
    const labels = new Set<string>();
    for (const k of e.samples.keys()) for (const l of k.matchAll(/(\w+)="/g)) labels.add(l[1]!);
    expect([...labels].sort()).to.deep.equal(['endpoint', 'le', 'log', 'opcode', 'outcome', 'rcode', 'transport', 'verdict', 'version', 'worker', 'zone']);
  });
});
