/**
 * The cached-forwarding scenario: a shardns serving no zone forwards every
 * question to an upstream shardns that serves the zone; dnsperf asks the
 * forwarder, so after the first time each answer comes from its cache. Per
 * cache setting: QPS, the forwarder's CPU per query (the upstream's apart),
 * and the share of queries that reached the upstream (its counters).
 */

import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { defaults } from '../src/config.js';
import { runDnsperf } from './dnsperf.js';
import { measureRun, queriesSoFar, type Load } from './measure.js';
import { freePort } from './ports.js';
import type { ProcessGroups } from './processes.js';
import type { Query } from './queries.js';
import type { ForwardFill, ForwardResult } from './result.js';
import { startServer, type Probe, type ServerHandle, type ZoneUnderTest } from './servers.js';

/** shardns's --cache-size default (per worker), from src/config.ts. */
export const SHARDNS_DEFAULT_CACHE_SIZE = defaults(1).cacheSize;

/** One cache setting of the forwarding shardns. */
export interface ForwardSetting {
  /** As given: `on`, `default`, `off`, or a number. */
  name: string;
  /** --cache-size to pass, or null to leave shardns's default. */
  cacheSize: number | null;
}

/**
 * The --cache-size of each setting: `on` is big enough to hold every distinct
 * question of the query file (at least shardns's default), so after the
 * first time every answer can come from the cache; `default` passes nothing;
 * `off` is 0; a number is that many entries.
 */
export function forwardSettings(names: readonly string[], distinctQuestions: number, defaultSize = SHARDNS_DEFAULT_CACHE_SIZE): ForwardSetting[] {
  return names.map((name) => {
    if (name === 'default') return { name, cacheSize: null };
    if (name === 'off') return { name, cacheSize: 0 };
    if (name === 'on') return { name, cacheSize: Math.max(defaultSize, Math.ceil(distinctQuestions / 1000) * 1000) };
    return { name, cacheSize: Number(name) };
  });
}

/** How the report names a setting: `cache on (20,000 entries)`, `cache off`, … */
export function settingLabel(name: string, cacheSize: number | null, defaultSize = SHARDNS_DEFAULT_CACHE_SIZE): string {
  if (cacheSize === 0) return 'cache off';
  const n = (cacheSize ?? defaultSize).toLocaleString('en-US');
  if (name === 'on') return `cache on (${n} entries)`;
  if (name === 'default') return `cache default (${n} entries)`;
  return `cache ${n} entries`;
}

/**
 * The forwarding scenario's questions: the load test's file without the names
 * below a delegation. An authoritative upstream answers those with a
 * referral (NOERROR, no answer, NS in authority), which a forwarder rightly
 * does not cache (RFC 2308: neither an answer nor a negative answer); a
 * recursive upstream never sends one.
 */
export function forwardQueries(queries: readonly Query[]): { queries: Query[]; leftOut: number; distinctQuestions: number } {
  const kept = queries.filter((q) => q.kind !== 'referral');
  const distinct = new Set(kept.map((q) => `${q.name.toLowerCase()} ${q.type}`));
  return { queries: kept, leftOut: queries.length - kept.length, distinctQuestions: distinct.size };
}

/** What the scenario needs from the run. */
export interface ForwardContext {
  groups: ProcessGroups;
  zone: ZoneUnderTest;
  probe: Probe;
  queryFile: string;
  load: Load;
  warmupSec: number;
  rounds: number;
  workers: readonly number[];
  settings: readonly ForwardSetting[];
  dir: string;
  hz: number;
  log: (line: string) => void;
  /** Failures are added here; the rest goes on. */
  errors: string[];
}

/** A forwarder and the upstream only it uses (so the upstream's counters are its alone). */
interface Pair {
  setting: ForwardSetting;
  upstream: ServerHandle;
  forwarder: ServerHandle;
}

/** Runs the scenario: for each worker count, every setting's pair is started, warmed up, then measured in turns. */
export async function forwardTest(c: ForwardContext, into: ForwardResult): Promise<void> {
  for (const workers of c.workers) {
    const pairs: Pair[] = [];
    const ports = new Set<number>();
    const port = async (): Promise<number> => {
      const p = await freePort(ports);
      ports.add(p);
      return p;
    };
    for (const setting of c.settings) {
      const label = settingLabel(setting.name, setting.cacheSize, into.defaultCacheSize);
      const dir = join(c.dir, `forward-${setting.name}-${workers}`);
      mkdirSync(dir, { recursive: true });
      let upstream: ServerHandle | undefined;
      try {
        const upPort = await port();
        upstream = await startServer(c.groups, { kind: 'shardns', variant: 'upstream', workers: 1, port: upPort, zone: c.zone, args: ['--forward', 'none'], dir, probe: c.probe, timeoutMs: 60_000 });
        const args = ['--forward', `127.0.0.1:${upPort}`, ...(setting.cacheSize !== null ? ['--cache-size', String(setting.cacheSize)] : [])];
        const forwarder = await startServer(c.groups, { kind: 'shardns', variant: `forward ${label}`, workers, port: await port(), zone: null, args, dir, probe: c.probe, timeoutMs: 60_000 });
        c.log(`forwarding shardns (${label}, ${workers} worker${workers === 1 ? '' : 's'}) answers on 127.0.0.1:${forwarder.port}, upstream shardns on 127.0.0.1:${upPort}`);
        pairs.push({ setting, upstream, forwarder });
      } catch (err) {
        if (upstream) await c.groups.stop(upstream.process);
        c.errors.push(`forwarding shardns (${label}, ${workers} workers) did not start: ${(err as Error).message}`);
        c.log(c.errors.at(-1)!.split('\n')[0]!);
      }
    }
    for (const p of pairs) {
      const fill: ForwardFill = { setting: p.setting.name, workers, warmupCompleted: 0, upstreamQueries: 0 };
      try {
        if (c.warmupSec > 0) {
          // One whole pass through the file (at most 2 minutes), so every question has been asked once: the rounds then see the steady state.
          const { stats } = await runDnsperf(c.groups, { port: p.forwarder.port, queryFile: c.queryFile, durationSec: 120, passes: 1, clients: c.load.clients, outstanding: c.load.outstanding, timeoutSec: 2 });
          fill.warmupCompleted = stats.completed;
        }
        fill.upstreamQueries = await queriesSoFar(p.upstream);
        into.fills.push(fill);
      } catch (err) {
        c.log(`warm-up of the forwarder (${p.setting.name}) failed: ${(err as Error).message.split('\n')[0]}`);
      }
    }
    for (let round = 1; round <= c.rounds; round++) {
      for (const p of pairs) {
        try {
          const m = await measureRun(c.groups, p.forwarder, c.load, round, c.hz, p.upstream);
          const up = m.upstream ?? { queries: NaN, cpuSec: NaN };
          into.runs.push({ ...m.run, setting: p.setting.name, cacheSize: p.setting.cacheSize, upstreamQueries: up.queries, upstreamCpuSec: up.cpuSec });
          const share = m.run.dnsperf.completed > 0 ? (up.queries / m.run.dnsperf.completed) * 100 : NaN;
          c.log(
            `forward ${settingLabel(p.setting.name, p.setting.cacheSize, into.defaultCacheSize)} ×${workers} round ${round}: ${Math.round(m.run.dnsperf.qps).toLocaleString('en-US')} QPS, ` +
              `${m.run.cpuUsPerQuery.toFixed(1)} µs CPU/query, upstream got ${up.queries.toLocaleString('en-US')} (${share.toFixed(2)} %), lost ${m.run.dnsperf.lost}`,
          );
        } catch (err) {
          c.errors.push(`forward ${p.setting.name} ×${workers} round ${round}: ${(err as Error).message}`);
          c.log(c.errors.at(-1)!.split('\n')[0]!);
        }
      }
    }
    for (const p of pairs) await Promise.all([c.groups.stop(p.forwarder.process), c.groups.stop(p.upstream.process)]);
  }
}
