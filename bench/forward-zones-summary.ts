/**
 * The forward-zones memory results of several forward-peers runs, summed up:
 * per reply-cache setting and kind of run (A/B: 10,000 forward zones against
 * none; A/A: `--forward-zones 0`, two identical servers), the difference in
 * worker memory (the second server minus the first) at each point, the
 * median over runs and the range, un-forced and after a forced collection,
 * and the CPU-per-query ratio.
 *
 *   node dist/bench/forward-zones-summary.js [--side-by-side] bench/results/forward-peers-*.json
 */

import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';

/** A worker's memory right after a forced full collection, kB (as forward-peers writes it). */
interface CollectedKb {
  pssKb: number;
  pssBrkKb?: number;
  heapUsedKb: number;
  heapTotalKb: number;
}

/** One reply-cache setting of one run, as forward-peers writes it under `zones`. */
export interface ZonesRun {
  cpuUs: number[][];
  pssKb: { atStart: number[][]; afterWarmUp: number[][]; underLoad: number[][]; afterRuns: number[][] };
  collectedKb?: Record<'atStart' | 'afterWarmUp' | 'underLoad' | 'afterRuns', CollectedKb[][]>;
  /** At the end: a forced collection, then malloc_trim(0), per server. */
  trimmed?: { collected: CollectedKb; trimmedPssKb: number; trimmedBrkKb: number }[];
}

/** A forward-peers result file, the parts read here. */
export interface ForwardPeersResult {
  when: string;
  options: { forwardZones?: number };
  zones?: Record<string, ZonesRun>;
}

/** The measures compared between the two servers, each a function of one server's samples (MB). */
const MEASURES: { name: string; of: (r: ZonesRun, server: 0 | 1) => number | null }[] = [
  { name: 'PSS at start', of: (r, i) => median(r.pssKb.atStart[i]!) / 1024 },
  { name: 'PSS after warm-up', of: (r, i) => median(r.pssKb.afterWarmUp[i]!) / 1024 },
  { name: 'PSS under load, mean', of: (r, i) => mean(r.pssKb.underLoad[i]!) / 1024 },
  { name: 'PSS under load, peak', of: (r, i) => Math.max(...r.pssKb.underLoad[i]!) / 1024 },
  { name: 'PSS after runs', of: (r, i) => median(r.pssKb.afterRuns[i]!) / 1024 },
  ...(['atStart', 'afterWarmUp', 'underLoad', 'afterRuns'] as const).flatMap((p) => [
    { name: `collected: PSS ${label(p)}`, of: (r: ZonesRun, i: 0 | 1) => (r.collectedKb ? median(r.collectedKb[p][i]!.map((c) => c.pssKb)) / 1024 : null) },
    { name: `collected: heap used ${label(p)}`, of: (r: ZonesRun, i: 0 | 1) => (r.collectedKb ? median(r.collectedKb[p][i]!.map((c) => c.heapUsedKb)) / 1024 : null) },
    { name: `collected: PSS of the brk heap ${label(p)}`, of: (r: ZonesRun, i: 0 | 1) => (r.collectedKb?.[p][i]!.every((c) => c.pssBrkKb !== undefined) ? median(r.collectedKb[p][i]!.map((c) => c.pssBrkKb!)) / 1024 : null) },
  ]),
  { name: 'end: PSS after a forced collection', of: (r, i) => (r.trimmed ? r.trimmed[i]!.collected.pssKb / 1024 : null) },
  { name: 'end: PSS after it and malloc_trim(0)', of: (r, i) => (r.trimmed ? r.trimmed[i]!.trimmedPssKb / 1024 : null) },
  { name: 'end: V8 heap used', of: (r, i) => (r.trimmed ? r.trimmed[i]!.collected.heapUsedKb / 1024 : null) },
];

function label(p: string): string {
  return { atStart: 'at start', afterWarmUp: 'after warm-up', underLoad: 'under load', afterRuns: 'after runs' }[p] ?? p;
}

/** The median of `xs` (NaN when empty). */
export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? NaN : s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
}

function mean(xs: number[]): number {
  return xs.length === 0 ? NaN : xs.reduce((a, b) => a + b, 0) / xs.length;
}

/** One line of the summary: a measure's differences (MB, second server minus first) over the runs of one kind and setting. */
export interface SummaryRow {
  answerCache: string;
  kind: 'A/B' | 'A/A';
  measure: string;
  /** One difference per run, in the order of the files. */
  diffs: number[];
}

/** The rows for every setting, kind and measure; CPU is the ratio (second ÷ first) of each run's medians. */
export function summarize(results: ForwardPeersResult[]): SummaryRow[] {
  const rows = new Map<string, SummaryRow>();
  for (const res of results) {
    const kind = (res.options.forwardZones ?? 10_000) > 0 ? 'A/B' : 'A/A';
    for (const [key, run] of Object.entries(res.zones ?? {})) {
      const answerCache = key.replace(/^answerCache/, '');
      const add = (measure: string, d: number): void => {
        const id = `${answerCache}|${kind}|${measure}`;
        const row = rows.get(id) ?? { answerCache, kind, measure, diffs: [] };
        row.diffs.push(d);
        rows.set(id, row);
      };
      add('CPU µs/query ratio', median(run.cpuUs[1]!) / median(run.cpuUs[0]!));
      for (const m of MEASURES) {
        const a = m.of(run, 0);
        const b = m.of(run, 1);
        if (a !== null && b !== null) add(m.name, b - a);
      }
    }
  }
  return [...rows.values()];
}

/** The rows as a markdown table: median (min … max), and how many runs exceed `limitMb` (memory rows). */
export function summaryTable(rows: SummaryRow[], limitMb = 10): string {
  const f = (x: number, d: number): string => (Number.isFinite(x) ? x.toFixed(d) : '—');
  const out = ['| reply cache | runs | measure | difference, median (min … max) | runs over ' + limitMb + ' MB |', '|---|---|---|---|---|'];
  for (const r of rows) {
    const ratio = r.measure.startsWith('CPU');
    const d = ratio ? 3 : 1;
    const over = ratio ? '—' : String(r.diffs.filter((x) => x > limitMb).length);
    out.push(`| ${r.answerCache} ${r.kind} | ${r.diffs.length} | ${r.measure} | ${f(median(r.diffs), d)} (${f(Math.min(...r.diffs), d)} … ${f(Math.max(...r.diffs), d)}) | ${over} |`);
  }
  return out.join('\n');
}

/**
 * The rows side by side: per reply-cache setting, one line per measure with
 * the A/B and the A/A runs' median (min … max) and their counts, runs over
 * `limitMb` in brackets.
 */
export function sideBySide(rows: SummaryRow[], limitMb = 10): string {
  const f = (x: number, d: number): string => (Number.isFinite(x) ? x.toFixed(d) : '—');
  const cell = (r: SummaryRow | undefined): string => {
    if (!r) return '—';
    const d = r.measure.startsWith('CPU') ? 3 : 1;
    const over = r.measure.startsWith('CPU') ? 0 : r.diffs.filter((x) => x > limitMb).length;
    return `${f(median(r.diffs), d)} (${f(Math.min(...r.diffs), d)} … ${f(Math.max(...r.diffs), d)})${over ? ` [${over} over ${limitMb}]` : ''}`;
  };
  const caches = [...new Set(rows.map((r) => r.answerCache))].sort((a, b) => Number(b) - Number(a));
  const runs = (cache: string, kind: string): number => Math.max(0, ...rows.filter((r) => r.answerCache === cache && r.kind === kind).map((r) => r.diffs.length));
  const out: string[] = [];
  for (const cache of caches) {
    out.push('', `Reply cache ${cache === '0' ? 'off' : `on (${cache})`}: ${runs(cache, 'A/B')} A/B runs, ${runs(cache, 'A/A')} A/A runs.`, '', '| measure | A/B: 10,000 forward zones − none | A/A: none − none |', '|---|---|---|');
    const measures = [...new Set(rows.filter((r) => r.answerCache === cache).map((r) => r.measure))];
    for (const m of measures) {
      const find = (kind: string): SummaryRow | undefined => rows.find((r) => r.answerCache === cache && r.kind === kind && r.measure === m);
      out.push(`| ${m} | ${cell(find('A/B'))} | ${cell(find('A/A'))} |`);
    }
  }
  return out.join('\n');
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const files = process.argv.slice(2).filter((a) => !a.startsWith('--'));
  if (files.length === 0) {
    console.error('usage: node dist/bench/forward-zones-summary.js [--side-by-side] bench/results/forward-peers-*.json');
    process.exit(2);
  }
  const results = files.map((f) => JSON.parse(readFileSync(f, 'utf8')) as ForwardPeersResult).filter((r) => r.zones);
  const rows = summarize(results);
  if (process.argv.includes('--side-by-side')) console.log(sideBySide(rows));
  else console.log(summaryTable(rows.sort((a, b) => a.answerCache.localeCompare(b.answerCache) || a.kind.localeCompare(b.kind))));
}
