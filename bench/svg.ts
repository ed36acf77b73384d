/** The benchmark chart: QPS and µs CPU per query by server (shardns variant) and worker count, as a self-contained SVG. */

import { summarize, type BenchResult, type Summary } from './result.js';
import type { ServerKind } from './servers.js';

/** Bar colours per server (distinct for colour-blind readers: orange, dark blue, teal, purple). */
export const COLORS: Record<ServerKind, string> = {
  shardns: '#e66101',
  nsd: '#253494',
  knot: '#1b9e77',
  dns2: '#7b3294',
  'floor-recvfrom': '#969696',
  'floor-mmsg': '#636363',
  'floor-block': '#252525',
  'floor-uring': '#bdbdbd',
};
/** Further shardns variants: shades of the shardns orange. */
const SHARDNS_SHADES = ['#e66101', '#fdb863', '#b35806', '#f4a582', '#7f3b08'];

/** A bar series: one server or shardns variant, with its colour. */
interface Series {
  label: string;
  color: string;
}

/** The series of a result, in report order, each with its colour (shardns variants in shades of orange). */
export function seriesOf(sums: readonly Summary[]): Series[] {
  const out: Series[] = [];
  let shade = 0;
  for (const s of sums) {
    if (out.some((x) => x.label === s.label)) continue;
    out.push({ label: s.label, color: s.server === 'shardns' ? SHARDNS_SHADES[shade++ % SHARDNS_SHADES.length]! : COLORS[s.server] });
  }
  return out;
}

/**
 * The value an axis should reach: the largest, unless one series dwarfs the
 * rest (dns2 spends ~15× the CPU of the others); then three times the median,
 * and the bars above it are drawn broken, with their true value.
 */
export function axisTop(values: readonly number[]): { top: number; clipped: boolean } {
  const v = values.filter(Number.isFinite).sort((a, b) => a - b);
  if (v.length === 0) return { top: 0, clipped: false };
  const max = v[v.length - 1]!;
  const median = v.length % 2 === 1 ? v[(v.length - 1) / 2]! : (v[v.length / 2 - 1]! + v[v.length / 2]!) / 2;
  const cap = 3 * median;
  if (v.length < 3 || max <= cap) return { top: max, clipped: false };
  return { top: Math.max(cap, ...v.filter((x) => x <= cap)), clipped: true };
}

const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/**
 * A round axis for values up to `v`: a step of 1, 2, 2.5 or 5 × 10^n and a
 * maximum that is a whole number of steps, with at most `maxTicks` steps.
 */
export function niceMax(v: number, maxTicks = 6): { max: number; step: number } {
  if (!(v > 0)) return { max: 1, step: 0.2 };
  const pow = 10 ** Math.floor(Math.log10(v / maxTicks));
  for (const m of [1, 2, 2.5, 5, 10, 20]) {
    const step = m * pow;
    const n = Math.ceil(v / step - 1e-9);
    if (n <= maxTicks) return { max: n * step, step };
  }
  return { max: 20 * pow * maxTicks, step: 20 * pow };
}

/** An axis label: `150k`, `25`, `2.5`. */
export function tickLabel(v: number, step: number): string {
  if (v === 0) return '0';
  if (step >= 1000) return `${Number((v / 1000).toFixed(step % 1000 === 0 ? 0 : 1))}k`;
  return Number.isInteger(step) ? v.toFixed(0) : String(Number(v.toFixed(2)));
}

interface Panel {
  title: string;
  value: (s: Summary) => number;
  range?: (s: Summary) => [number, number];
  label: (v: number) => string;
}

const short = (v: number): string => (v >= 10_000 ? `${(v / 1000).toFixed(0)}k` : v >= 1000 ? `${(v / 1000).toFixed(1)}k` : v >= 100 ? v.toFixed(0) : v.toFixed(1));

/** Draws one panel of grouped bars at (x, y) of size w × h. */
function panel(p: Panel, sums: Summary[], servers: Series[], workers: number[], x: number, y: number, w: number, h: number): string {
  const out: string[] = [];
  const { top, clipped } = axisTop(sums.map((s) => (p.range ? p.range(s)[1] : p.value(s))));
  const { max, step } = niceMax(top * (clipped ? 1.12 : 1.06)); // room for the value labels
  const left = x + 48;
  const plotW = w - 56;
  const plotTop = y + 28;
  const plotH = h - 28 - 36;
  const yOf = (v: number): number => plotTop + plotH - (v / max) * plotH;
  out.push(`<text x="${x + w / 2}" y="${y + 14}" class="title" text-anchor="middle">${esc(p.title)}</text>`);
  for (let i = 0; i * step <= max + step / 2; i++) {
    const v = i * step;
    const yy = yOf(v).toFixed(1);
    out.push(`<line x1="${left}" x2="${left + plotW}" y1="${yy}" y2="${yy}" class="grid"/>`);
    out.push(`<text x="${left - 6}" y="${yy}" class="tick" text-anchor="end" dominant-baseline="middle">${esc(tickLabel(v, step))}</text>`);
  }
  const groupW = plotW / Math.max(1, workers.length);
  const barW = Math.min(44, (groupW * 0.8) / Math.max(1, servers.length));
  workers.forEach((n, gi) => {
    // Only the series measured at this worker count (dns2 runs at 1 worker only), centred in the group.
    const here = servers.filter((series) => sums.some((z) => z.label === series.label && z.workers === n));
    const gx = left + gi * groupW + (groupW - barW * here.length) / 2;
    here.forEach((series, si) => {
      const s = sums.find((z) => z.label === series.label && z.workers === n);
      if (!s) return;
      const v = p.value(s);
      if (!Number.isFinite(v)) return;
      const bx = gx + si * barW;
      const broken = v > max;
      const by = yOf(Math.min(v, max));
      out.push(`<rect x="${(bx + 2).toFixed(1)}" y="${by.toFixed(1)}" width="${(barW - 4).toFixed(1)}" height="${(plotTop + plotH - by).toFixed(1)}" fill="${series.color}"><title>${esc(`${series.label}, ${n} worker${n === 1 ? '' : 's'}: ${p.label(v)}`)}</title></rect>`);
      let labelY = by - 4;
      if (broken) {
        // Off the scale: a white zigzag across the bar says the bar is cut.
        const zy = by + 10;
        out.push(`<path d="M${(bx + 1).toFixed(1)} ${zy + 3} l${((barW - 2) / 2).toFixed(1)} -6 l${((barW - 2) / 2).toFixed(1)} 6" class="cut"/>`);
      } else if (p.range && s.runs > 1) {
        const [lo, hi] = p.range(s);
        const cx = (bx + barW / 2).toFixed(1);
        out.push(`<line x1="${cx}" x2="${cx}" y1="${yOf(lo).toFixed(1)}" y2="${yOf(Math.min(hi, max)).toFixed(1)}" class="whisker"/>`);
        labelY = Math.min(labelY, yOf(Math.min(hi, max)) - 4);
      }
      out.push(`<text x="${(bx + barW / 2).toFixed(1)}" y="${labelY.toFixed(1)}" class="value" text-anchor="middle">${esc(short(v))}</text>`);
    });
    out.push(`<text x="${(left + gi * groupW + groupW / 2).toFixed(1)}" y="${plotTop + plotH + 18}" class="axis" text-anchor="middle">${n} worker${n === 1 ? '' : 's'}</text>`);
  });
  out.push(`<line x1="${left}" x2="${left + plotW}" y1="${plotTop + plotH}" y2="${plotTop + plotH}" class="base"/>`);
  return out.join('\n');
}

/** The chart for a result: QPS (left, with the range over rounds) and µs CPU per answered query (right). */
export function renderChart(r: BenchResult): string {
  const sums = summarize(r.runs);
  const servers = seriesOf(sums);
  const workers = [...new Set(sums.map((s) => s.workers))].sort((a, b) => a - b);
  const W = 900 + Math.max(0, servers.length - 4) * 120 * Math.max(1, workers.length / 2);
  const H = 400;
  const m = r.meta;
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="system-ui, -apple-system, 'Segoe UI', sans-serif">`,
    '<style>.cut{stroke:#fff;stroke-width:3;fill:none}.title{font-size:15px;font-weight:600;fill:#222}.sub{font-size:11px;fill:#555}.tick{font-size:11px;fill:#555}.axis{font-size:12px;fill:#222}.value{font-size:11px;fill:#222}.legend{font-size:12px;fill:#222}.grid{stroke:#e4e4e4;stroke-width:1}.base{stroke:#888;stroke-width:1}.whisker{stroke:#111;stroke-width:1.5}</style>',
    `<rect width="${W}" height="${H}" fill="#fff"/>`,
    `<text x="16" y="24" class="title">shardns vs ${esc([...new Set(sums.filter((s) => s.server !== 'shardns').map((s) => s.label))].join(' vs ') || '(no peers)')} — dnsperf over UDP on loopback</text>`,
    `<text x="16" y="42" class="sub">${esc(`${m.date.slice(0, 10)} · ${m.cpuModel} · ${m.cores} cores shared with dnsperf · Node ${m.node} · ${r.options.durationSec} s × ${r.options.rounds} rounds, -c ${r.options.clients} -q ${r.options.outstanding}`)}</text>`,
  ];
  let lx = 16;
  for (const k of servers) {
    parts.push(`<rect x="${lx}" y="54" width="12" height="12" fill="${k.color}"/><text x="${lx + 17}" y="64" class="legend">${esc(k.label)}</text>`);
    lx += 30 + k.label.length * 7;
  }
  parts.push(`<text x="${W - 16}" y="64" class="sub" text-anchor="end">whiskers: lowest and highest round; a cut bar is off the scale</text>`);
  if (sums.length === 0) parts.push(`<text x="${W / 2}" y="${H / 2}" class="axis" text-anchor="middle">no load runs in this result</text>`);
  else {
    parts.push(
      panel({ title: 'Queries per second (higher is better)', value: (s) => s.qps, range: (s) => [s.qpsMin, s.qpsMax], label: (v) => `${Math.round(v)} QPS` }, sums, servers, workers, 10, 76, W / 2 - 20, H - 86),
      panel({ title: 'Server µs CPU per answered query (lower is better)', value: (s) => s.cpuUsPerQuery, label: (v) => `${v.toFixed(1)} µs` }, sums, servers, workers, W / 2 + 10, 76, W / 2 - 20, H - 86),
    );
  }
  parts.push('</svg>');
  return parts.join('\n') + '\n';
}
