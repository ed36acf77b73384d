/** The benchmark report: markdown tables from a result, for stdout and bench/README.md; also re-renders a saved result. */

import { readFileSync, writeFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { maxMinRatio } from './balance.js';
import { settingLabel, SHARDNS_DEFAULT_CACHE_SIZE } from './forward.js';
import { ratios, signingOf, summarize, summarizeForward, type BalanceEntry, type BenchResult, type ForwardResult, type LoadRun, type LoadSetup, type Ratio, type ScaleEntry, type SignedResult, type Summary } from './result.js';
import { runLabel, SERVER_LABEL } from './servers.js';
import type { ServerSigning } from './signed-check.js';
import { denialLabel } from './signzone.js';
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

/** The query file of a load scenario in one sentence: its mix, case and types. */
export function describeQueryFile(q: LoadSetup['queries']): string {
  const pct = (n: number): string => `${((n / q.count) * 100).toFixed(0)} %`;
  const random = q.kinds.random ?? 0;
  return (
    `Query file: ${int(q.count)} lines — ${random > 0 ? `fresh random names that do not exist (random-subdomain flood, 1–3 labels under the apex, each asked about once) ${pct(random)}, ` : ''}` +
    `existing names ${pct(q.kinds.existing)}, below a delegation ${pct(q.kinds.referral)}, ` +
    `NODATA ${pct(q.kinds.nodata)}, wildcard hits ${pct(q.kinds.wildcard)}, absent ${pct(q.kinds.absent)}; ${pct(q.mixedCase)} in mixed case; ` +
    `types ${Object.entries(q.types).sort((a, b) => b[1] - a[1]).map(([t, n]) => `${t} ${pct(n)}`).join(', ')}.`
  );
}

/** Mean octets per reply over the runs of one summary's server and worker count, weighted by answers (dnsperf's "Average packet size"). */
export function replyBytes(runs: readonly LoadRun[], s: Pick<Summary, 'server' | 'variant' | 'workers'>): number {
  let bytes = 0;
  let answers = 0;
  for (const x of runs) {
    if (x.server !== s.server || x.variant !== s.variant || x.workers !== s.workers || x.dnsperf.responseAvgBytes === undefined) continue;
    bytes += x.dnsperf.responseAvgBytes * x.dnsperf.completed;
    answers += x.dnsperf.completed;
  }
  return answers > 0 ? bytes / answers : NaN;
}

/** How a signed scenario's server row is named when its replies were not all signed. */
const SIGNING_FLAG: Record<ServerSigning, string> = { signed: '', unsigned: ' (unsigned answers)', unchecked: ' (signatures not checked)' };

/** What a signed scenario adds to a load scenario's tables. */
interface SignedView {
  /** Each row's signature check; undefined (no check recorded) reads as unchecked. */
  signing: (s: Summary) => ServerSigning | undefined;
}

/** One load scenario's tables: a row per server (shardns variant) and worker count, shardns / peer with the by-round spread, response codes. */
function renderLoadRuns(r: BenchResult, heading: string, setup: LoadSetup, runs: readonly LoadRun[], intro: string[] = [], signed?: SignedView): string {
  const o = r.options;
  const lines: string[] = [];
  lines.push(
    `### ${heading}: ${setup.zone.origin} (${int(setup.zone.records)} records${setup.zone.generated ? ', generated' : ''}), ` +
      `dnsperf -c ${o.clients} -q ${o.outstanding}, ${o.durationSec} s per run, ${o.rounds} round${o.rounds === 1 ? '' : 's'} (${[...new Set(runs.map((x) => runLabel(x.server, x.variant)))].join(', ')} in turn${o.rounds > 1 ? ', every second round in reverse order' : ''})`,
    '',
    ...intro.flatMap((l) => [l, '']),
    describeQueryFile(setup.queries),
    '',
  );
  const sums = summarize(runs);
  const signing = (s: Pick<Summary, 'server' | 'variant' | 'workers'>): ServerSigning => signed?.signing(s as Summary) ?? 'unchecked';
  if (signed) {
    const head = [...LOAD_HEAD, 'reply bytes avg'];
    lines.push(table(['server', 'workers', ...head], sums.map((s) => [`${s.label}${SIGNING_FLAG[signing(s)]}`, String(s.workers), ...loadCells(s), fixed(replyBytes(runs, s), 0)]), [false, ...head.map(() => true), true]));
  } else lines.push(table(['server', 'workers', ...LOAD_HEAD], sums.map((s) => [s.label, String(s.workers), ...loadCells(s)]), [false, ...LOAD_HEAD.map(() => true), true]));
  const rat = ratios(sums, runs);
  if (rat.length > 0) {
    const spread = (x: Ratio): string => (x.cpuByRound ? `${times(x.cpuByRound.median)} (${times(x.cpuByRound.min)}–${times(x.cpuByRound.max)})` : '–');
    const intro = (extra: string): string =>
      'shardns / peer, same run (QPS above 1: shardns answered more; CPU above 1: shardns spent more CPU per answer). ' +
      extra +
      'By round: each round\'s shardns run over the same round\'s peer run, median (lowest–highest):';
    if (signed) {
      // A server that left DNSSEC records out did less work per reply: no ratio is given for it.
      const apart = (x: Ratio): string | null => {
        const sides = [
          { label: x.shardns, s: signing({ server: 'shardns', ...(x.variant !== undefined ? { variant: x.variant } : {}), workers: x.workers }) },
          { label: SERVER_LABEL[x.peer], s: signing({ server: x.peer, workers: x.workers }) },
        ].filter((y) => y.s !== 'signed');
        return sides.length === 0 ? null : `no: ${sides.map((y) => `${y.label} ${y.s === 'unsigned' ? 'sent unsigned answers' : 'was not checked'}`).join(', ')}`;
      };
      lines.push(
        '',
        intro('Only servers whose sample replies all carried their DNSSEC records are compared (against one that left them out, a ratio would compare different work). '),
        '',
        table(
          ['workers', 'shardns', 'peer', 'QPS ratio', 'CPU / query ratio', 'CPU ratio by round', 'same work'],
          rat.map((x) => {
            const no = apart(x);
            return [String(x.workers), x.shardns, SERVER_LABEL[x.peer], ...(no === null ? [times(x.qps), times(x.cpu), spread(x)] : ['–', '–', '–']), no ?? 'yes'];
          }),
          [false, false, false, true, true, true, false],
        ),
      );
    } else {
      lines.push(
        '',
        intro(''),
        '',
        table(
          ['workers', 'shardns', 'peer', 'QPS ratio', 'CPU / query ratio', 'CPU ratio by round'],
          rat.map((x) => [String(x.workers), x.shardns, SERVER_LABEL[x.peer], times(x.qps), times(x.cpu), spread(x)]),
          [false, false, false, true, true, true],
        ),
      );
    }
  }
  const rcodes = sums.map((s) => {
    const all: Record<string, number> = {};
    for (const run of runs.filter((x) => x.server === s.server && x.workers === s.workers && x.variant === s.variant)) {
      for (const [k, v] of Object.entries(run.dnsperf.rcodes)) all[k] = (all[k] ?? 0) + v;
    }
    const total = Object.values(all).reduce((a, b) => a + b, 0);
    return `${s.label} ×${s.workers}: ${Object.entries(all).map(([k, v]) => `${k} ${((v / total) * 100).toFixed(1)} %`).join(', ')}`;
  });
  lines.push('', `Response codes (same query file, so they should agree): ${rcodes.join('; ')}.`);
  return lines.join('\n');
}

/** The load test: one row per server (shardns variant) and worker count, then shardns / peer. */
export function renderLoad(r: BenchResult): string {
  if (r.runs.length === 0 || r.load === null) return '';
  return renderLoadRuns(r, 'Load', r.load, r.runs);
}

/** The cache-missing load test: as the load test, with its random-subdomain query file. */
export function renderMiss(r: BenchResult): string {
  const m = r.miss;
  if (!m || m.runs.length === 0) return '';
  return renderLoadRuns(r, `Load, cache missing (${pct(m.share)} random subdomains)`, m.load, m.runs, [
    'Every server as in the load test (shardns with its reply cache as set, NSD without rate limiting), but most questions are names nobody asked before: ' +
      'within a run no name repeats (the file is longer than a run), and the names a run shares with the runs before it were pushed out of shardns\'s reply cache (first in, first out) by the hundreds of thousands of other names in between.',
  ]);
}

/** How the report names a kind of sample question. */
const SAMPLE_KIND_LABEL: Record<string, string> = { existing: 'positive', nodata: 'NODATA', absent: 'NXDOMAIN', wildcard: 'wildcard', referral: 'referral', random: 'random name' };

/** A signed scenario's signature check: per server, how many sample replies were signed, their sizes by kind, and what the others lacked. */
export function renderSignedChecks(sr: SignedResult): string {
  if (sr.checks.length === 0) return '';
  const kinds = [...new Set(sr.checks.flatMap((c) => c.samples.map((x) => x.kind)))];
  const rows = sr.checks.map((c) => {
    const signedCount = c.samples.filter((x) => x.outcome.kind === 'signed').length;
    const sizes = kinds.map((k) => {
      const b = c.samples.filter((x) => x.kind === k && x.bytes !== undefined).map((x) => x.bytes!);
      return b.length > 0 ? int(b.reduce((a, v) => a + v, 0) / b.length) : '–';
    });
    const problems = [
      ...new Set(
        c.samples.flatMap((x) => (x.outcome.kind === 'unsigned' ? x.outcome.missing.map((m) => `${SAMPLE_KIND_LABEL[x.kind] ?? x.kind}: ${m}`) : x.outcome.kind === 'no-reply' ? [`${x.name} ${x.type}: no reply (${x.outcome.why})`] : [])),
      ),
    ];
    return [
      `${runLabel(c.server, c.variant)}${SIGNING_FLAG[c.signing]}`,
      String(c.workers),
      `${signedCount} of ${c.samples.length}`,
      ...sizes,
      problems.length === 0 ? '–' : `${problems.slice(0, 3).join('; ')}${problems.length > 3 ? `; … (${problems.length - 3} more)` : ''}`,
    ];
  });
  return [
    `Signature check before the load: ${sr.checks[0]?.samples.length ?? 0} sample questions per server (the first of each kind in the query file), asked with \`dig +dnssec +bufsize=${sr.query.udpSize}\` over UDP and judged by RFC 4035 §3.1 ` +
      '(each RRset of the answer and authority sections with its RRSIG; a negative answer with a signed SOA and NSEC/NSEC3 proof; a referral with DS or a proof of none; a wildcard expansion with a proof). Reply sizes are the samples\' (dig\'s "MSG SIZE rcvd"):',
    '',
    table(['server', 'workers', 'sample replies signed', ...kinds.map((k) => `${SAMPLE_KIND_LABEL[k] ?? k} bytes`), 'what was missing'], rows, [false, true, true, ...kinds.map(() => true), false]),
  ].join('\n');
}

/** The signed scenarios: per denial method, the load tables (with reply sizes, unsigned servers flagged and left out of the ratios) and the signature check. */
export function renderSigned(r: BenchResult): string {
  const parts: string[] = [];
  for (const sr of r.signed ?? []) {
    if (sr.runs.length === 0 && sr.checks.length === 0) continue;
    const s = sr.signing;
    const records = Object.values(s.types).reduce((a, b) => a + b, 0);
    const kinds = ['RRSIG', 'NSEC', 'NSEC3', 'DNSKEY'].filter((t) => (s.types[t] ?? 0) > 0).map((t) => `${t} ${int(s.types[t]!)}`);
    const how = `${denialLabel(sr.denial)}; DO=1, EDNS ${sr.query.udpSize ?? 'none'}`;
    const heading = sr.scenario === 'signed' ? `Load, signed zone (${how})` : `Load, signed zone, cache missing (${pct(sr.share ?? NaN)} random subdomains; ${how})`;
    const intro = [
      `The zone signed at run time with ${s.signer.replace(/^dnssec-signzone\s*/, 'dnssec-signzone ')} (${s.algorithm}, one KSK and one ZSK, in ${fixed(s.seconds, 1)} s): ${int(records)} records (${kinds.join(', ')}). ` +
        `NSD, Knot and shardns serve the same signed file (Knot as a pre-signed zone, its own signing off). Every query asks with DO=1 and an EDNS payload size of ${sr.query.udpSize} octets${sr.query.recursionDesired ? ', RD set as dnsperf sets it elsewhere' : ''} ` +
        '(dnsperf -B with a file of whole messages: dnsperf\'s -D offers 4096 octets). "reply bytes avg" is dnsperf\'s mean reply size.',
    ];
    parts.push(renderLoadRuns(r, heading, sr.load, sr.runs, intro, { signing: (x) => signingOf(sr.checks, x) }));
    const checks = renderSignedChecks(sr);
    if (checks !== '') parts.push(checks);
  }
  return parts.join('\n\n');
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
  const lists: { scenario: string; balance: readonly BalanceEntry[] }[] = [
    { scenario: 'load', balance: r.balance },
    { scenario: 'cache missing', balance: r.miss?.balance ?? [] },
    ...(r.signed ?? []).map((sr) => ({ scenario: `${sr.scenario === 'signed' ? 'signed' : 'signed, cache missing'}, ${sr.denial.toUpperCase()}`, balance: sr.balance })),
  ];
  const rows = lists.flatMap((l) => l.balance.map((b) => ({ b, scenario: l.scenario })));
  if (rows.length === 0) return '';
  const both = lists.filter((l) => l.balance.length > 0).length > 1;
  return [
    '### Worker balance (shardns, replies per worker over all rounds, from the workers\' counters)',
    '',
    table(
      ['shardns', 'workers', 'dnsperf clients', 'replies per worker', 'max / min'],
      rows.map(({ b, scenario }) => [`${runLabel('shardns', b.variant)}${both ? ` (${scenario})` : ''}`, String(b.workers), String(b.clients), b.shares.map((s) => `#${s.id}: ${int(s.answered)}`).join(', '), times(maxMinRatio(b.shares))]),
      [false, true, true, false, true],
    ),
  ].join('\n');
}

/** A start's first-answer and all-ready cells: `failed: …` when it gave no correct answer. */
const startCells = (ok: boolean, first: number | undefined, ready: number | undefined, error: string | undefined): string[] =>
  first === undefined ? [`failed: ${error?.split('\n')[0] ?? ''}`, '–'] : [fixed(first, 2), ok ? fixed(ready, 2) : `not all: ${error?.split('\n')[0] ?? ''}`];

/**
 * What more workers cost shardns at each size: for every worker count above
 * the smallest measured, the PSS and private memory over the smallest
 * (`shardns ×4 over ×2 at 1,000,000 records: +21 MB PSS, +24 MB private`).
 */
export function workerCost(scale: readonly ScaleEntry[]): string[] {
  const out: string[] = [];
  const ours = scale.filter((s) => s.server === 'shardns' && s.ok && s.pssMB !== undefined);
  for (const records of [...new Set(ours.map((s) => s.records))]) {
    const at = ours.filter((s) => s.records === records).sort((a, b) => a.workers - b.workers);
    const base = at[0];
    if (base === undefined) continue;
    for (const s of at.slice(1)) {
      if (s.workers === base.workers) continue;
      const priv = s.privateMB !== undefined && base.privateMB !== undefined ? `, ${signed(s.privateMB - base.privateMB)} MB private` : '';
      out.push(`shardns ×${s.workers} over ×${base.workers} at ${int(records)} records: ${signed(s.pssMB! - base.pssMB!)} MB PSS${priv}`);
    }
  }
  return out;
}

/** `+21` or `-3`, rounded to a whole number. */
const signed = (x: number): string => `${x >= 0 ? '+' : '-'}${Math.abs(Math.round(x))}`;

/** Load time, memory and restart time for the generated zones, and shardns over each peer at the same size and worker count. */
export function renderScale(r: BenchResult): string {
  if (r.scale.length === 0) return '';
  const head = ['records', 'zone file MB', 'server', 'workers', 'first correct answer s', 'all workers ready s', 'RSS MB', 'PSS MB', 'PSS anon MB', 'private MB', 'peak RSS MB', 'restart: first correct answer s', 'restart: PSS MB'];
  const rows = r.scale.map((s) => [
    int(s.records),
    fixed(s.zoneMB, 1),
    SERVER_LABEL[s.server],
    String(s.workers),
    ...startCells(s.ok, s.firstAnswerSec, s.allReadySec, s.error),
    fixed(s.rssMB, 0),
    fixed(s.pssMB, 0),
    fixed(s.pssAnonMB, 0),
    fixed(s.privateMB, 0),
    fixed(s.peakRssMB, 0),
    s.restart ? startCells(s.restart.ok, s.restart.firstAnswerSec, s.restart.allReadySec, s.restart.error)[0]! : '–',
    fixed(s.restart?.pssMB, 0),
  ]);
  const lines = [
    '### Zone scale (generated zones; time from start to the first correct answer for the zone\'s last address record; memory summed over the server\'s processes 1 s after all were ready, the median of five readings; private: pages no other process maps; then stopped and started again on the same zone and state)',
    '',
    table(head, rows, [true, true, false, true, true, true, true, true, true, true, true, true, true]),
  ];
  const notes: string[] = [];
  const kills = r.scale.filter((s) => (s.heartbeatKills ?? 0) + (s.restart?.heartbeatKills ?? 0) > 0);
  for (const s of kills) notes.push(`shardns ×${s.workers} at ${int(s.records)} records: ${(s.heartbeatKills ?? 0) + (s.restart?.heartbeatKills ?? 0)} worker(s) killed for missed heartbeats while loading`);
  const fromRss = r.scale.filter((s) => (s.pssFromRss ?? 0) > 0);
  if (fromRss.length > 0) notes.push(`PSS could not be read for some processes (no /proc/PID/smaps_rollup): their RSS is counted instead (${fromRss.map((s) => `${SERVER_LABEL[s.server]} ×${s.workers}`).join(', ')})`);
  const sd = r.scale.find((s) => s.server === 'shardns');
  if (sd) notes.push(sd.stateDir ? 'shardns ran with --state-dir (a folder per server and size, kept across its restart)' : 'shardns ran without --state-dir (its --help does not list the flag): the restart loads the zone file again');
  notes.push(...workerCost(r.scale));
  if (notes.length > 0) lines.push('', `${notes.join('. ')}.`);
  const rat = scaleRatios(r.scale);
  if (rat.length > 0) {
    lines.push(
      '',
      'shardns / peer, same size and worker count (below 1: shardns was faster or used less):',
      '',
      table(
        ['records', 'workers', 'peer', 'first answer ratio', 'all ready ratio', 'PSS ratio', 'restart ratio'],
        rat.map((x) => [int(x.records), String(x.workers), SERVER_LABEL[x.peer], times(x.firstAnswer), times(x.allReady), times(x.pss), times(x.restart)]),
        [true, true, false, true, true, true, true],
      ),
    );
  }
  return lines.join('\n');
}

/** shardns over one peer in the zone-scale test (NaN where either side has no number). */
export interface ScaleRatio {
  records: number;
  workers: number;
  peer: ScaleEntry['server'];
  firstAnswer: number;
  allReady: number;
  pss: number;
  restart: number;
}

/** shardns / peer for every size and worker count where both started. */
export function scaleRatios(entries: readonly ScaleEntry[]): ScaleRatio[] {
  const div = (a: number | undefined, b: number | undefined): number => (a !== undefined && b !== undefined && b > 0 ? a / b : NaN);
  const out: ScaleRatio[] = [];
  for (const s of entries) {
    if (s.server !== 'shardns' || s.firstAnswerSec === undefined) continue;
    for (const p of entries) {
      if (p.server === 'shardns' || p.records !== s.records || p.workers !== s.workers || p.firstAnswerSec === undefined) continue;
      out.push({
        records: s.records,
        workers: s.workers,
        peer: p.server,
        firstAnswer: div(s.firstAnswerSec, p.firstAnswerSec),
        allReady: div(s.ok ? s.allReadySec : undefined, p.ok ? p.allReadySec : undefined),
        pss: div(s.pssMB, p.pssMB),
        restart: div(s.restart?.firstAnswerSec, p.restart?.firstAnswerSec),
      });
    }
  }
  return out;
}

/** The whole report. */
export function renderMarkdown(r: BenchResult): string {
  const notes = (r.notes ?? []).join(' ');
  const parts = [`## shardns benchmark\n\n${renderMeta(r)}`, renderLoad(r), renderMiss(r), renderSigned(r), notes, renderBalance(r), renderForward(r), renderScale(r)];
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
