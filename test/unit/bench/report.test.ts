import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { renderMarkdown } from '../../../bench/report.js';
import { ratios, summarize, type BenchResult } from '../../../bench/result.js';
import { niceMax, renderChart, tickLabel } from '../../../bench/svg.js';
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
  });

  it('renders the markdown: machine line, load table, ratios, balance, zone scale', () => {
    const md = renderMarkdown(saved);
    expect(md).to.include('Node v20.20.2 · AMD EPYC · 2 cores');
    expect(md).to.include('| server | workers | QPS | µs CPU / query | lost |');
    expect(md).to.include('| shardns | 1 | 42,000 (40,000–44,000) | 20.0 | 22 (0.003 %) | 4.00 |');
    expect(md).to.include('| NSD | 2 | 155,000 (150,000–160,000) | 7.0 | 0 (0.00 %) |');
    expect(md).to.include('| 1 | NSD | 0.29× | 3.33× |');
    expect(md).to.include('| 2 | Knot DNS | 0.43× | 3.33× |');
    expect(md).to.include('| 2 | 8 | #0: 700,000, #1: 540,000 | 1.30× |');
    expect(md).to.include('| 1,000,000 | 31.5 | shardns | 12.50 | 1300 | 1040 | 1700 |');
    expect(md).to.include('| 1,000,000 | 31.5 | Knot DNS | failed: knot gave no correct answer within 300 s');
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
    const opens = (svg.match(/<(text|rect|line)\b/g) ?? []).length;
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
});
