/** The benchmark report: markdown tables from a result, for stdout and bench/README.md; also re-renders a saved result. */

import { readFileSync, writeFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { maxMinRatio } from './balance.js';
import { settingLabel, SHARDNS_DEFAULT_CACHE_SIZE } from './forward.js';
import { ratios, summarize, summarizeForward, type BenchResult, type ForwardResult, type Ratio, type Summary } from './result.js';
import { runLabel, SERVER_LABEL } from './servers.js';
import { renderChart } from './svg.js';

/** 12345.6 → `12,346`. */
export const int = (n: number): string => (Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : '–');
/** A number with `digits` decimals, or `–`. */
export const fixed = (n: number | undefined, digits: number): string => (n !== undefined && Number.isFinite(n) ? n.toFixed(digits) : '–');
/** A ratio like `0.87×`; `∞` when the divisor was 0. */
export const times = (n: number): string => (n === Infinity ? '∞' : Number.isFinite(n) ? `${n.toFixed(2)}×` : '–');

function table(head: string[], rows: string[][], right: boolean[] = head.map((_, i) => i > 0)): string {
  const sep = right.map((r) => (r ? '---:' : '---'));
  return [head, sep, ...rows].map((r) => `| ${r.join(' | ')} |`).join('\n');
}

/** One line naming the machine and the software. */
export function renderMeta(r: BenchResult): string {
  const m = r.meta;
  const versions = Object.entries(m.versions)
    .map(([k, v]) => `${SERVER_LABEL[k as keyof typeof SERVER_LABEL]} ${v}`)
    .join(', ');
  return `${m.date.slice(0, 16).replace('T', ' ')} UTC · Node ${m.node} · ${m.cpuModel} · ${m.cores} cores · Linux ${m.kernel} · dnsperf ${m.dnsperf} · ${versions}${m.commit ? ` · shardns commit ${m.commit}` : ''}${m.backgroundBusyCores !== undefined ? ` · CPUs busy before the start: ${m.backgroundBusyCores.toFixed(2)}` : ''}`;
}

/** A percentage with a sensible number of decimals (`12 %`, `0.37 %`, `0.004 %`). */
export const pct = (share: number): string => {
  if (!Number.isFinite(share)) return '–';
  const p = share * 100;
  return `${p === 0 ? '0' : p >= 10 ? p.toFixed(0) : p >= 0.1 ? p.toFixed(2) : p.toFixed(3)} %`;
};

/** The columns every load table shares, for one summary. */
function loadCells(s: Summary): string[] {
  return [
    s.runs > 1 ? `${int(s.qps)} (${int(s.qpsMin)}–${int(s.qpsMax)})` : int(s.qps),
    fixed(s.cpuUsPerQuery, 1),
    `${int(s.lost)} (${fixed(s.lostPct, s.lostPct > 0 && s.lostPct < 0.1 ? 3 : 2)} %)`,
    fixed(s.latencyAvgMs, 2),
    fixed(s.latencyStdDevMs, 2),
    fixed(s.latencyMaxMs, 1),
    fixed(s.peakRssMB, 0),
    fixed(s.machineBusyCores, 2),
  ];
}

const LOAD_HEAD = ['QPS', 'µs CPU / query', 'lost', 'latency avg ms', 'latency stddev ms', 'latency max ms', 'peak RSS MB', 'machine CPUs busy'];

/** The load test: one row per server (shardns variant) and worker count, then shardns / peer. */
export function renderLoad(r: BenchResult): string {
  if (r.runs.length === 0 || r.load === null) return '';
  const o = r.options;
  const q = r.load.queries;
  const pct = (n: number): string => `${((n / q.count) * 100).toFixed(0)} %`;
  const lines: string[] = [];
  lines.push(
    `### Load: ${r.load.zone.origin} (${int(r.load.zone.records)} records${r.load.zone.generated ? ', generated' : ''}), ` +
      `dnsperf -c ${o.clients} -q ${o.outstanding}, ${o.durationSec} s per run, ${o.rounds} round${o.rounds === 1 ? '' : 's'} (${[...new Set(r.runs.map((x) => runLabel(x.server, x.variant)))].join(', ')} in turn${o.rounds > 1 ? ', every second round in reverse order' : ''})`,
    '',
    `Query file: ${int(q.count)} lines — existing names ${pct(q.kinds.existing)}, below a delegation ${pct(q.kinds.referral)}, ` +
      `NODATA ${pct(q.kinds.nodata)}, wildcard hits ${pct(q.kinds.wildcard)}, absent ${pct(q.kinds.absent)}; ${pct(q.mixedCase)} in mixed case; ` +
      `types ${Object.entries(q.types).sort((a, b) => b[1] - a[1]).map(([t, n]) => `${t} ${pct(n)}`).join(', ')}.`,
    '',
  );
  const sums = summarize(r.runs);
  lines.push(table(['server', 'workers', ...LOAD_HEAD], sums.map((s) => [s.label, String(s.workers), ...loadCells(s)]), [false, ...LOAD_HEAD.map(() => true), true]));
  const rat = ratios(sums, r.runs);
  if (rat.length > 0) {
    const spread = (x: Ratio): string => (x.cpuByRound ? `${times(x.cpuByRound.median)} (${times(x.cpuByRound.min)}–${times(x.cpuByRound.max)})` : '–');
    lines.push(
      '',
      'shardns / peer, same run (QPS above 1: shardns answered more; CPU above 1: shardns spent more CPU per answer). ' +
        'By round: each round\'s shardns run over the same round\'s peer run, median (lowest–highest):',
      '',
      table(
        ['workers', 'shardns', 'peer', 'QPS ratio', 'CPU / query ratio', 'CPU ratio by round'],
        rat.map((x) => [String(x.workers), x.shardns, SERVER_LABEL[x.peer], times(x.qps), times(x.cpu), spread(x)]),
        [false, false, false, true, true, true],
      ),
    );
  }
  const rcodes = sums.map((s) => {
    const all: Record<string, number> = {};
    for (const run of r.runs.filter((x) => x.server === s.server && x.workers === s.workers && x.variant === s.variant)) {
      for (const [k, v] of Object.entries(run.dnsperf.rcodes)) all[k] = (all[k] ?? 0) + v;
    }
    const total = Object.values(all).reduce((a, b) => a + b, 0);
    return `${s.label} ×${s.workers}: ${Object.entries(all).map(([k, v]) => `${k} ${((v / total) * 100).toFixed(1)} %`).join(', ')}`;
  });
  lines.push('', `Response codes (same query file, so they should agree): ${rcodes.join('; ')}.`);
  return lines.join('\n');
}

/** The cached-forwarding scenario: one row per cache setting and worker count, the fill before the rounds, and same-run ratios. */
export function renderForward(r: BenchResult): string {
  const f: ForwardResult | null | undefined = r.forward;
  if (!f || f.runs.length === 0) return '';
  const o = r.options;
  const def = f.defaultCacheSize ?? SHARDNS_DEFAULT_CACHE_SIZE;
  const sums = summarizeForward(f.runs);
  const label = (setting: string, size: number | null): string => settingLabel(setting, size, def);
  const lines: string[] = [
    `### Cached forwarding: dnsperf → shardns (no zone of its own, --forward to an upstream) → upstream shardns with the zone; -c ${o.clients} -q ${o.outstanding}, ${o.durationSec} s per run, ${o.rounds} round${o.rounds === 1 ? '' : 's'} (settings in turn)`,
    '',
    `Query file: the load test's, ${int(f.queries)} lines (${int(f.leftOut)} names below a delegation left out: the upstream answers them with referrals, which a forwarder does not cache), ` +
      `${int(f.distinctQuestions)} distinct questions. Upstream: ${f.upstream}. shardns's default --cache-size is ${int(def)} per worker. ` +
      'µs CPU / query is the forwarding shardns alone (supervisor and workers); the upstream\'s CPU is apart, also per answer dnsperf got (add the two for the cost of both).',
    '',
    table(
      ['forwarder', 'workers', ...LOAD_HEAD, 'upstream queries', 'share of answers', 'upstream µs CPU / answer'],
      sums.map((s) => [label(s.setting, s.cacheSize), String(s.workers), ...loadCells(s), int(s.upstreamQueries), pct(s.upstreamShare), fixed(s.upstreamCpuUsPerAnswer, 2)]),
      [false, ...LOAD_HEAD.map(() => true), true, true, true, true],
    ),
  ];
  if (f.fills.length > 0) {
    const fills = f.fills.map((x) => {
      const s = sums.find((y) => y.setting === x.setting && y.workers === x.workers);
      const name = `${label(x.setting, s?.cacheSize ?? null)} ×${x.workers}`;
      return x.warmupCompleted > 0
        ? `${name}: the upstream got ${int(x.upstreamQueries)} queries while the warm-up answered ${int(x.warmupCompleted)} (${pct(x.upstreamQueries / x.warmupCompleted)})`
        : `${name}: the upstream got ${int(x.upstreamQueries)} queries (no warm-up)`;
    });
    lines.push('', `Before the measured rounds (readiness probe, and a warm-up of one pass through the query file, which fills the cache): ${fills.join('; ')}.`);
  }
  const ratioLines: string[] = [];
  for (const s of sums) {
    for (const b of sums) {
      if (b.workers !== s.workers || b === s || b.cacheSize !== 0 || s.cacheSize === 0) continue;
      ratioLines.push(`| ${s.workers} | ${label(s.setting, s.cacheSize)} | ${label(b.setting, b.cacheSize)} | ${times(s.qps / b.qps)} | ${times(s.cpuUsPerQuery / b.cpuUsPerQuery)} |`);
    }
    const auth = summarize(r.runs).find((a) => a.server === 'shardns' && a.workers === s.workers);
    if (auth) ratioLines.push(`| ${s.workers} | ${label(s.setting, s.cacheSize)} | ${auth.label} answering the zone itself (load test) | ${times(s.qps / auth.qps)} | ${times(s.cpuUsPerQuery / auth.cpuUsPerQuery)} |`);
  }
  if (ratioLines.length > 0) {
    lines.push('', 'Ratios (QPS above 1: the first answered more; CPU above 1: the first spent more CPU per answer):', '', '| workers | forwarder | against | QPS ratio | CPU / query ratio |', '| --- | --- | --- | ---: | ---: |', ...ratioLines);
  }
  return lines.join('\n');
}

/** Replies per shardns worker and the busiest / idlest ratio. */
export function renderBalance(r: BenchResult): string {
  if (r.balance.length === 0) return '';
  return [
    '### Worker balance (shardns, replies per worker over all rounds, from the workers\' counters)',
    '',
    table(
      ['shardns', 'workers', 'dnsperf clients', 'replies per worker', 'max / min'],
      r.balance.map((b) => [runLabel('shardns', b.variant), String(b.workers), String(b.clients), b.shares.map((s) => `#${s.id}: ${int(s.answered)}`).join(', '), times(maxMinRatio(b.shares))]),
      [false, true, true, false, true],
    ),
  ].join('\n');
}

/** Load time and memory for the generated zones. */
export function renderScale(r: BenchResult): string {
  if (r.scale.length === 0) return '';
  return [
    `### Zone scale (generated zones, ${r.options.scaleWorkers} worker${r.options.scaleWorkers === 1 ? '' : 's'} each; time from start to the first correct answer; memory summed over the server's processes just then)`,
    '',
    table(
      ['records', 'zone file MB', 'server', 'first correct answer s', 'RSS MB', 'PSS MB', 'peak RSS MB'],
      r.scale.map((s) => [int(s.records), fixed(s.zoneMB, 1), SERVER_LABEL[s.server], s.ok ? fixed(s.firstAnswerSec, 2) : `failed: ${s.error?.split('\n')[0] ?? ''}`, fixed(s.rssMB, 0), fixed(s.pssMB, 0), fixed(s.peakRssMB, 0)]),
      [true, true, false, true, true, true, true],
    ),
  ].join('\n');
}

/** The whole report. */
export function renderMarkdown(r: BenchResult): string {
  const notes = (r.notes ?? []).join(' ');
  const parts = [`## shardns benchmark\n\n${renderMeta(r)}`, renderLoad(r), notes, renderBalance(r), renderForward(r), renderScale(r)];
  if (r.skipped.length > 0) parts.push(`Skipped: ${r.skipped.map((s) => `${SERVER_LABEL[s.server]} (${s.reason})`).join('; ')}.`);
  if (r.errors.length > 0) parts.push(`Errors:\n\n${r.errors.map((e) => `- ${e.split('\n')[0]}`).join('\n')}`);
  return parts.filter((p) => p !== '').join('\n\n') + '\n';
}

/** `node dist/bench/report.js RESULT.json [CHART.svg]`: prints the report of a saved result (and writes its chart). */
function main(argv: string[]): number {
  const [file, svg] = argv;
  if (file === undefined) {
    process.stderr.write('usage: node dist/bench/report.js bench/results/RESULT.json [CHART.svg]\n');
    return 2;
  }
  const result = JSON.parse(readFileSync(file, 'utf8')) as BenchResult;
  process.stdout.write(renderMarkdown(result));
  if (svg !== undefined) writeFileSync(svg, renderChart(result));
  return 0;
}

const isMain = process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href;
if (isMain) process.exitCode = main(process.argv.slice(2));
