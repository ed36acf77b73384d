/** Reads a V8 .cpuprofile (node --cpu-prof) and prints the functions with the most self time, and with the most total time. */

import { readFileSync } from 'node:fs';

/*
 * Usage: node dist/bench/cpuprofile-top.js FILE.cpuprofile [N] [--lines FUNCTION]
 * Self time: samples whose top frame is the function. Total time: samples
 * with the function anywhere on the stack (counted once per sample). With
 * --lines, the self time of every function of that name by source line (of
 * the compiled JavaScript: dist/…js).
 */

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
  positionTicks?: { line: number; ticks: number }[];
}

interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

function label(n: ProfileNode): string {
  const f = n.callFrame;
  const file = f.url.replace(/^.*\/(dist|node_modules)\//, '$1/');
  return `${f.functionName || '(anonymous)'} ${file}:${f.lineNumber + 1}`;
}

function main(): void {
  const args = process.argv.slice(2);
  const linesAt = args.indexOf('--lines');
  const linesOf = linesAt >= 0 ? args.splice(linesAt, 2)[1] : undefined;
  const [file, topArg] = args;
  if (file === undefined) throw new Error('usage: cpuprofile-top FILE.cpuprofile [N] [--lines FUNCTION]');
  const top = Number(topArg ?? 30);
  const p = JSON.parse(readFileSync(file, 'utf8')) as Profile;
  const byId = new Map<number, ProfileNode>();
  const parent = new Map<number, number>();
  for (const n of p.nodes) {
    byId.set(n.id, n);
    for (const c of n.children ?? []) parent.set(c, n.id);
  }
  const self = new Map<string, number>();
  const total = new Map<string, number>();
  let all = 0;
  for (let i = 0; i < p.samples.length; i++) {
    const dt = p.timeDeltas[i] ?? 0;
    all += dt;
    const leaf = byId.get(p.samples[i]!)!;
    const l = label(leaf);
    self.set(l, (self.get(l) ?? 0) + dt);
    const seen = new Set<string>();
    for (let id: number | undefined = leaf.id; id !== undefined; id = parent.get(id)) {
      const k = label(byId.get(id)!);
      if (seen.has(k)) continue;
      seen.add(k);
      total.set(k, (total.get(k) ?? 0) + dt);
    }
  }
  const print = (title: string, m: Map<string, number>): void => {
    console.log(`\n${title} (of ${(all / 1000).toFixed(0)} ms sampled)`);
    for (const [k, v] of [...m].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`${(v / 1000).toFixed(0).padStart(8)} ms ${((100 * v) / all).toFixed(1).padStart(5)} %  ${k}`);
  };
  print('self time', self);
  print('total time', total);
  if (linesOf !== undefined) {
    const perTick = all / Math.max(1, p.samples.length);
    const lines = new Map<string, number>();
    for (const n of p.nodes) {
      if (n.callFrame.functionName !== linesOf) continue;
      for (const t of n.positionTicks ?? []) {
        const k = `${n.callFrame.url.replace(/^.*\/(dist|node_modules)\//, '$1/')}:${t.line}`;
        lines.set(k, (lines.get(k) ?? 0) + t.ticks * perTick);
      }
    }
    print(`self time of ${linesOf} by line`, lines);
  }
}

main();
