import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { describeQueryFile, pct, renderMarkdown, scaleRatios, workerCost } from '../../../bench/report.js';
import { median, ratios, summarize, summarizeForward, type BenchResult, type ForwardRun, type LoadRun, type ScaleEntry } from '../../../bench/result.js';
import { axisTop, niceMax, renderChart, tickLabel } from '../../../bench/svg.js';
import { ROOT } from '../../helpers/server.js';

/** A saved result (hand-made numbers, so the expected figures are easy to check). */
const saved = JSON.parse(readFileSync(`${ROOT}test/unit/bench/fixtures/result.json`, 'utf8')) as BenchResult;

describe('bench report from a saved result', () => {
  it('summarizes each server and worker count: mean QPS with range, total CPU over total answers', () => {
    const s = summarize(saved.runs);
    expect(s.map((x) => `${x.server}×${x.workers}`)).to.deep.equal(['shardns×1', 'nsd×1', 'knot×1', 'shardns×2', 'nsd×2', 'knot×2']);
    const sh1 = s[0]!;
    expect(sh1.qps).to.equal(42_000);
    expect([sh1.qpsMin, sh1.qpsMax]).to.deep.equal([40_000, 44_000]);
    expect(sh1.cpuUsPerQuery).to.be.closeTo(20, 1e-9);
    expect(sh1.lost).to.equal(22);
    expect(sh1.latencyAvgMs).to.be.closeTo(4, 1e-9);
    expect(s[1]!.cpuUsPerQuery).to.be.closeTo(6, 1e-9);
  });

  it('gives shardns / peer ratios per worker count from the same run', () => {
    const r = ratios(summarize(saved.runs));
    const get = (w: number, peer: string): { qps: number; cpu: number } => r.find((x) => x.workers === w && x.peer === peer)!;
    expect(get(1, 'nsd').qps).to.be.closeTo(42_000 / 145_000, 1e-9);
    expect(get(1, 'nsd').cpu).to.be.closeTo(20 / 6, 1e-9);
    expect(get(2, 'knot').qps).to.be.closeTo(62_000 / 145_000, 1e-9);
    expect(get(2, 'knot').cpu).to.be.closeTo(20 / 6, 1e-9);
    expect(r).to.have.length(4);
    // Without the runs there are no rounds to pair.
    expect(r.every((x) => x.cpuByRound === undefined)).to.equal(true);
  });

  it('pairs each round of shardns with the same round of the peer: median and range of the CPU ratios', () => {
    const base = saved.runs.find((x) => x.server === 'shardns' && x.workers === 1)!;
    const at = (server: LoadRun['server'], round: number, cpu: number): LoadRun => ({ ...base, server, round, cpuUsPerQuery: cpu, cpuSec: (cpu * base.dnsperf.completed) / 1e6 });
    // Rounds: 6.6/6.0 = 1.1, 5.4/6.0 = 0.9, 6.0/6.0 = 1.0; NSD's round 4 has no shardns run to pair with.
    const runs = [at('shardns', 1, 6.6), at('nsd', 1, 6.0), at('nsd', 2, 6.0), at('shardns', 2, 5.4), at('shardns', 3, 6.0), at('nsd', 3, 6.0), at('nsd', 4, 9.0)];
    const r = ratios(summarize(runs), runs);
    expect(r).to.have.length(1);
    const by = r[0]!.cpuByRound!;
    expect(by.rounds).to.equal(3);
    expect(by.median).to.be.closeTo(1.0, 1e-9);
    expect(by.min).to.be.closeTo(0.9, 1e-9);
    expect(by.max).to.be.closeTo(1.1, 1e-9);
    // The totals count NSD's fourth round too: the two views differ.
    expect(r[0]!.cpu).to.be.closeTo(6.0 / 6.75, 1e-9);
    const md = renderMarkdown({ ...saved, runs, balance: [], scale: [], options: { ...saved.options, rounds: 4 } });
    expect(md).to.include('| QPS ratio | CPU / query ratio | CPU ratio by round |');
    expect(md).to.include('| 1 | shardns | NSD | 1.00× | 0.89× | 1.00× (0.90×–1.10×) |');
    expect(md).to.include('in turn, every second round in reverse order)');
  });

  it('takes the median of an odd and an even count', () => {
    expect(median([3, 1, 2])).to.equal(2);
    expect(median([4, 1, 3, 2])).to.equal(2.5);
    expect(median([7])).to.equal(7);
  });

  it('renders the markdown: machine line, load table, ratios, balance, zone scale', () => {
    const md = renderMarkdown(saved);
    expect(md).to.include('Node v20.20.2 · AMD EPYC · 2 cores');
    expect(md).to.include('| server | workers | QPS | µs CPU / query | lost |');
    expect(md).to.include('| shardns | 1 | 42,000 (40,000–44,000) | 20.0 | 22 (0.003 %) | 4.00 |');
    expect(md).to.include('| NSD | 2 | 155,000 (150,000–160,000) | 7.0 | 0 (0.00 %) |');
    expect(md).to.include('| 1 | shardns | NSD | 0.29× | 3.33× |');
    expect(md).to.include('| 2 | shardns | Knot DNS | 0.43× | 3.33× |');
    expect(md).to.include('| shardns | 2 | 8 | #0: 700,000, #1: 540,000 | 1.30× |');
    // A result from before restarts and PSS parts: those columns are empty.
    expect(md).to.include('| 1,000,000 | 31.5 | shardns | 1 | 12.50 | – | 1300 | 1040 | – | – | 1700 | – | – |');
    expect(md).to.include('| 1,000,000 | 31.5 | Knot DNS | 1 | failed: knot gave no correct answer within 300 s');
    expect(md).to.include('existing names 78 %, below a delegation 2 %, NODATA 5 %, wildcard hits 5 %, absent 10 %; 25 % in mixed case');
  });

  it('renders only what a result has (no peers, no scale) and lists skipped servers and errors', () => {
    const small: BenchResult = {
      ...saved,
      runs: saved.runs.filter((r) => r.server === 'shardns' && r.workers === 1 && r.round === 1),
      balance: [],
      scale: [],
      skipped: [{ server: 'knot', reason: 'knotd not installed — apt-get install knot' }],
      errors: ['NSD with 1 workers did not start: boom\nlog'],
    };
    const md = renderMarkdown(small);
    expect(md).to.include('| shardns | 1 | 40,000 | 20.0 |');
    expect(md).to.not.include('QPS ratio');
    expect(md).to.not.include('Zone scale');
    expect(md).to.include('Skipped: Knot DNS (knotd not installed — apt-get install knot).');
    expect(md).to.include('- NSD with 1 workers did not start: boom\n');
  });

  it('draws the SVG chart: a bar per server and worker count in each panel, values, legend, no NaN', () => {
    const svg = renderChart(saved);
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).to.equal(true);
    expect(svg.trim().endsWith('</svg>')).to.equal(true);
    expect(svg.match(/<rect [^>]*><title>/g)).to.have.length(12); // 3 servers × 2 worker counts × 2 panels
    expect(svg).to.include('<title>shardns, 1 worker: 42000 QPS</title>');
    expect(svg).to.include('<title>NSD, 2 workers: 7.0 µs</title>');
    expect(svg).to.include('Queries per second');
    expect(svg).to.include('µs CPU per answered query');
    expect(svg).to.include('>Knot DNS</text>');
    expect(svg).to.not.match(/NaN|undefined|Infinity/);
    const opens = (svg.match(/<(text|rect|line|path)\b/g) ?? []).length;
    const closes = (svg.match(/<\/(text|rect)>|\/>/g) ?? []).length;
    expect(closes).to.equal(opens);
  });

  it('draws a chart for a result without load runs', () => {
    expect(renderChart({ ...saved, runs: [] })).to.include('no load runs');
  });

  it('picks round axes', () => {
    expect(niceMax(151_000)).to.deep.equal({ max: 200_000, step: 50_000 });
    expect(niceMax(25.2)).to.deep.equal({ max: 30, step: 5 });
    expect(niceMax(6.3)).to.deep.equal({ max: 8, step: 2 });
    expect(niceMax(5.9)).to.deep.equal({ max: 6, step: 1 });
    expect(niceMax(0)).to.deep.equal({ max: 1, step: 0.2 });
    expect(tickLabel(150_000, 50_000)).to.equal('150k');
    expect(tickLabel(12_500, 2_500)).to.equal('12.5k');
    expect(tickLabel(0, 5)).to.equal('0');
    expect(tickLabel(7.5, 2.5)).to.equal('7.5');
  });

  describe('with shardns variants, the dns2 peer and the forwarding scenario', () => {
    /** A run like the saved ones, with its own numbers: QPS, CPU seconds, answers. */
    const run = (base: LoadRun, patch: { server?: LoadRun['server']; variant?: string; round?: number; qps: number; cpuSec: number; completed: number }): LoadRun => ({
      ...base,
      server: patch.server ?? base.server,
      ...(patch.variant !== undefined ? { variant: patch.variant } : {}),
      round: patch.round ?? base.round,
      dnsperf: { ...base.dnsperf, qps: patch.qps, completed: patch.completed, sent: patch.completed, lost: 0 },
      cpuSec: patch.cpuSec,
      cpuUsPerQuery: (patch.cpuSec / patch.completed) * 1e6,
    });
    const one = saved.runs.filter((r) => r.workers === 1);
    const sh = one.filter((r) => r.server === 'shardns');
    const forward = (setting: string, cacheSize: number | null, round: number, qps: number, cpuSec: number, upstreamQueries: number, upstreamCpuSec: number): ForwardRun => ({
      ...run(sh[0]!, { round, qps, cpuSec, completed: qps * 10, variant: `forward ${setting}` }),
      setting,
      cacheSize,
      upstreamQueries,
      upstreamCpuSec,
    });
    const mixed: BenchResult = {
      ...saved,
      options: { ...saved.options, variants: ['default', 'dgram'], scenarios: ['auth', 'forward'], forwardCache: ['on', 'off'], forwardWorkers: [1] },
      runs: [
        ...sh.map((r) => ({ ...r, variant: 'default' })),
        ...sh.map((r) => run(r, { variant: 'dgram', qps: r.dnsperf.qps / 2, cpuSec: r.cpuSec * 2, completed: r.dnsperf.completed })),
        ...one.filter((r) => r.server !== 'shardns'),
        ...[1, 2].map((round) => run(sh[0]!, { server: 'dns2', round, qps: 10_000, cpuSec: 10, completed: 100_000 })),
        ...saved.runs.filter((r) => r.workers === 2),
      ],
      balance: [{ ...saved.balance[0]!, variant: 'dgram' }],
      notes: ['dns2 runs as one process: it is measured with 1 worker only (left out at 2 workers).'],
      forward: {
        queries: 49_000,
        distinctQuestions: 18_900,
        leftOut: 1_000,
        upstream: 'shardns, 1 worker, --forward none, the same zone; one upstream per forwarder',
        defaultCacheSize: 10_000,
        fills: [
          { setting: 'on', workers: 1, warmupCompleted: 100_000, upstreamQueries: 18_901 },
          { setting: 'off', workers: 1, warmupCompleted: 20_000, upstreamQueries: 20_001 },
        ],
        runs: [
          forward('on', 19_000, 1, 50_000, 5, 10, 0),
          forward('off', 0, 1, 20_000, 6, 200_000, 2),
          forward('on', 19_000, 2, 60_000, 6, 20, 0.01),
          forward('off', 0, 2, 20_000, 6, 200_000, 2),
        ],
      },
    };

    it('summarizes each variant apart and gives every variant its ratio to every peer, dns2 included', () => {
      const s = summarize(mixed.runs);
      expect(s.map((x) => `${x.label}×${x.workers}`)).to.deep.equal(['shardns×1', 'shardns dgram×1', 'NSD×1', 'Knot DNS×1', 'dns2×1', 'shardns×2', 'NSD×2', 'Knot DNS×2']);
      const r = ratios(s);
      const get = (w: number, shardns: string, peer: string): { qps: number; cpu: number } => r.find((x) => x.workers === w && x.shardns === shardns && x.peer === peer)!;
      expect(get(1, 'shardns', 'dns2').qps).to.be.closeTo(4.2, 1e-9);
      expect(get(1, 'shardns', 'dns2').cpu).to.be.closeTo(0.2, 1e-9);
      expect(get(1, 'shardns dgram', 'nsd').cpu).to.be.closeTo(40 / 6, 1e-9);
      expect(r).to.have.length(2 * 3 + 2);
    });

    it('renders variant rows, dns2 rows and ratios, the note, and balance per variant', () => {
      const md = renderMarkdown(mixed);
      expect(md).to.include('(shardns, shardns dgram, NSD, Knot DNS, dns2 in turn, every second round in reverse order)');
      expect(md).to.include('| shardns dgram | 1 | 21,000 (20,000–22,000) | 40.0 | 0 (0.00 %) |');
      expect(md).to.include('| dns2 | 1 | 10,000 (10,000–10,000) | 100.0 | 0 (0.00 %) |');
      expect(md).to.include('| 1 | shardns | dns2 | 4.20× | 0.20× |');
      expect(md).to.include('| 1 | shardns dgram | dns2 | 2.10× | 0.40× |');
      expect(md).to.not.match(/\| 2 \| shardns \| dns2 \|/);
      expect(md).to.include('dns2 runs as one process: it is measured with 1 worker only (left out at 2 workers).');
      expect(md).to.include('| shardns dgram | 1 | 8 | #0: 840,000 | 1.00× |');
      expect(md).to.include('shardns dgram ×1: NOERROR 90.0 %, NXDOMAIN 10.0 %');
    });

    it('renders the forwarding scenario: QPS, CPU of the forwarder alone, upstream share, the fill, same-run ratios', () => {
      const f = summarizeForward(mixed.forward!.runs);
      expect(f.map((x) => x.setting)).to.deep.equal(['on', 'off']);
      expect(f[0]!.upstreamShare).to.be.closeTo(30 / 1_100_000, 1e-12);
      expect(f[0]!.cpuUsPerQuery).to.be.closeTo(10, 1e-9);
      expect(f[1]!.upstreamCpuUsPerAnswer).to.be.closeTo(4e6 / 400_000, 1e-9);
      expect(f[0]!.upstreamCpuUsPerAnswer).to.be.closeTo(0.01e6 / 1_100_000, 1e-9);
      const md = renderMarkdown(mixed);
      expect(md).to.include('### Cached forwarding');
      expect(md).to.include('49,000 lines (1,000 names below a delegation left out');
      expect(md).to.include('18,900 distinct questions');
      expect(md).to.include('| cache on (19,000 entries) | 1 | 55,000 (50,000–60,000) | 10.0 | 0 (0.00 %) |');
      expect(md).to.include('| 30 | 0.003 % | 0.01 |');
      expect(md).to.include('| cache off | 1 | 20,000 (20,000–20,000) | 30.0 | 0 (0.00 %) |');
      expect(md).to.include('| 400,000 | 100 % | 10.00 |');
      expect(md).to.include('cache on (19,000 entries) ×1: the upstream got 18,901 queries while the warm-up answered 100,000 (19 %)');
      expect(md).to.include('| 1 | cache on (19,000 entries) | cache off | 2.75× | 0.33× |');
      expect(md).to.include('| 1 | cache on (19,000 entries) | shardns answering the zone itself (load test) | 1.31× | 0.50× |');
    });

    it('formats shares', () => {
      expect(pct(0)).to.equal('0 %');
      expect(pct(1)).to.equal('100 %');
      expect(pct(0.0037)).to.equal('0.37 %');
      expect(pct(0.00004)).to.equal('0.004 %');
      expect(pct(NaN)).to.equal('–');
    });

    it('draws every variant and dns2 in the chart; a bar far off the scale is cut and keeps its true value', () => {
      const svg = renderChart(mixed);
      expect(svg.match(/<rect [^>]*><title>/g)).to.have.length(2 * (5 + 3)); // 5 series at 1 worker, 3 at 2, two panels
      expect(svg).to.include('<title>shardns dgram, 1 worker: 21000 QPS</title>');
      expect(svg).to.include('<title>dns2, 1 worker: 100.0 µs</title>');
      expect(svg).to.include('>shardns dgram</text>');
      expect(svg).to.include('>dns2</text>');
      expect(svg.match(/class="cut"/g)).to.have.length(1); // dns2's CPU bar
      expect(svg).to.not.match(/NaN|undefined|Infinity/);
      const fills = new Set([...svg.matchAll(/<rect [^>]*fill="(#[0-9a-f]{6})"><title>([^,]+),/g)].map((m) => `${m[2]}=${m[1]}`));
      expect([...fills].filter((x) => x.startsWith('shardns dgram=')).length).to.equal(1);
      expect([...fills].find((x) => x.startsWith('shardns=')) !== [...fills].find((x) => x.startsWith('shardns dgram='))).to.equal(true);
    });

    it('cuts the axis only when one value dwarfs the rest', () => {
      expect(axisTop([5, 6, 7, 100])).to.deep.equal({ top: 19.5, clipped: true });
      expect(axisTop([5, 6, 7, 18])).to.deep.equal({ top: 18, clipped: false });
      expect(axisTop([1, 100])).to.deep.equal({ top: 100, clipped: false });
      expect(axisTop([])).to.deep.equal({ top: 0, clipped: false });
    });
  });

  describe('with the cache-missing scenario and zone scale with restarts', () => {
    const one = saved.runs.filter((r) => r.workers === 1);
    const missSetup = {
      zone: saved.load!.zone,
      queries: { count: 1_000_000, seed: 1, kinds: { existing: 156_000, referral: 4_000, nodata: 10_000, wildcard: 10_000, absent: 20_000, random: 800_000 }, types: { A: 700_000, AAAA: 300_000 }, mixedCase: 250_000, notes: [] },
    };
    const withMiss: BenchResult = {
      ...saved,
      runs: [],
      balance: [],
      scale: [],
      miss: { share: 0.8, load: missSetup, runs: one, balance: [saved.balance[0]!] },
    };

    it('renders the cache-missing load test with the load test\'s tables: rows, ratios by round, response codes', () => {
      const md = renderMarkdown(withMiss);
      expect(md).to.include('### Load, cache missing (80 % random subdomains): example.com.');
      expect(md).to.include('fresh random names that do not exist (random-subdomain flood, 1–3 labels under the apex, each asked about once) 80 %, existing names 16 %');
      expect(md).to.include('| shardns | 1 | 42,000 (40,000–44,000) | 20.0 | 22 (0.003 %) | 4.00 |');
      expect(md).to.include('| 1 | shardns | NSD | 0.29× | 3.33× |');
      expect(md).to.include('Response codes (same query file, so they should agree): shardns ×1:');
      expect(md).to.not.include('### Load: ');
      expect(md).to.include('| shardns | 1 | 8 |'); // balance, without a scenario name when only one scenario has any
      const both = renderMarkdown({ ...withMiss, runs: saved.runs, balance: saved.balance });
      expect(both).to.include('### Load: ');
      expect(both).to.include('| shardns (cache missing) | 1 | 8 |');
    });

    it('describes a query file from before the flood share without one', () => {
      const text = describeQueryFile(saved.load!.queries);
      expect(text).to.not.include('random');
      expect(text).to.include('existing names 78 %');
    });

    const entry = (server: ScaleEntry['server'], workers: number, first: number, pss: number, restart: number, extra: Partial<ScaleEntry> = {}): ScaleEntry => ({
      records: 1_000_000,
      server,
      workers,
      zoneMB: 28.4,
      ok: true,
      firstAnswerSec: first,
      allReadySec: first,
      rssMB: pss * 2,
      peakRssMB: pss * 3,
      pssMB: pss,
      pssAnonMB: pss / 2,
      restart: { ok: true, firstAnswerSec: restart, allReadySec: restart, pssMB: pss },
      ...extra,
    });
    const scale: ScaleEntry[] = [
      entry('shardns', 2, 3.0, 700, 1.5, { allReadySec: 3.3, stateDir: true }),
      entry('nsd', 2, 1.0, 250, 1.0),
      entry('knot', 2, 1.5, 350, 1.5),
      entry('shardns', 4, 8.0, 1400, 0, { ok: false, allReadySec: undefined, heartbeatKills: 2, error: 'timed out', restart: undefined }),
      entry('nsd', 4, 1.2, 300, 1.1),
    ];

    it('gives shardns / peer for first answer, all ready, PSS and restart at each size and worker count', () => {
      const r = scaleRatios(scale);
      expect(r.map((x) => `${x.workers} ${x.peer}`)).to.deep.equal(['2 nsd', '2 knot', '4 nsd']);
      expect(r[0]!.firstAnswer).to.be.closeTo(3, 1e-9);
      expect(r[0]!.allReady).to.be.closeTo(3.3, 1e-9);
      expect(r[0]!.pss).to.be.closeTo(2.8, 1e-9);
      expect(r[0]!.restart).to.be.closeTo(1.5, 1e-9);
      expect(r[2]!.allReady).to.be.NaN;
      expect(r[2]!.restart).to.be.NaN;
    });

    it('renders the scale table with RSS and PSS, restarts, heartbeat kills and the ratios', () => {
      const md = renderMarkdown({ ...saved, runs: [], balance: [], scale });
      expect(md).to.include('| records | zone file MB | server | workers | first correct answer s | all workers ready s | RSS MB | PSS MB | PSS anon MB | private MB | peak RSS MB | restart: first correct answer s | restart: PSS MB |');
      expect(md).to.include('| 1,000,000 | 28.4 | shardns | 2 | 3.00 | 3.30 | 1400 | 700 | 350 | – | 2100 | 1.50 | 700 |');
      expect(md).to.include('| 1,000,000 | 28.4 | shardns | 4 | 8.00 | not all: timed out | 2800 | 1400 | 700 | – | 4200 | – | – |');
      expect(md).to.include('shardns ×4 at 1,000,000 records: 2 worker(s) killed for missed heartbeats while loading');
      expect(md).to.include('shardns ran with --state-dir');
      expect(md).to.include('| 1,000,000 | 2 | NSD | 3.00× | 3.30× | 2.80× | 1.50× |');
      expect(md).to.include('| 1,000,000 | 4 | NSD | 6.67× | – | 4.67× | – |');
      expect(md, 'no worker-count note when the larger start failed').to.not.include('over ×2');
    });

    it('says what more workers cost shardns over the smallest count at each size, PSS and private', () => {
      const cost = [
        entry('shardns', 2, 0.5, 180.4, 0.4, { privateMB: 90 }),
        entry('shardns', 4, 0.6, 203.2, 0.4, { privateMB: 118.6 }),
        entry('nsd', 4, 1.2, 300, 1.1, { privateMB: 250 }),
        entry('shardns', 2, 5, 900, 1, { records: 10_000_000 }),
        entry('shardns', 4, 6, 890, 1, { records: 10_000_000 }),
      ];
      expect(workerCost(cost)).to.deep.equal(['shardns ×4 over ×2 at 1,000,000 records: +23 MB PSS, +29 MB private', 'shardns ×4 over ×2 at 10,000,000 records: -10 MB PSS']);
      expect(renderMarkdown({ ...saved, runs: [], balance: [], scale: cost })).to.include('shardns ×4 over ×2 at 1,000,000 records: +23 MB PSS, +29 MB private');
    });
  });
});
