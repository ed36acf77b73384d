/** The server every fuzz target talks to: the fixture zones (signed ones too) compiled in process, answer contexts, pipelines, fake resolvers. */

import { existsSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Answer } from 'dns-packet';
import { ZoneSet } from '../src/auth/zone-set.js';
import { ReplyCache } from '../src/dns/answer-cache.js';
import type { AnswerContext } from '../src/dns/answer.js';
import { Counters } from '../src/dns/counters.js';
import { QueryPipeline, type Resolver } from '../src/dns/pipeline.js';
import { compileAcl, type Acl } from '../src/forward/acl.js';
import type { CacheLimits, CachedAnswer } from '../src/forward/cache.js';
import type { Resolution } from '../src/forward/forwarder.js';
import type { UpstreamQuestion } from '../src/forward/transport.js';
import { loadZones } from '../src/zones.js';

/** The repository's root (this file runs as dist/fuzz/context.js). */
export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
/** The fuzz folder: seed corpora (corpus/<target>/), crashes found (crashes/<target>/), signed zones (zones/). */
export const FUZZ_DIR = `${ROOT}fuzz/`;

/** The zones served: the answer fixtures, the escaped-names fixture, and the signed zones fuzz/make-seeds.ts wrote (NSEC and NSEC3). */
export function fuzzZoneConfigs(): { name: string; file: string }[] {
  const answers = `${ROOT}test/fixtures/answers/`;
  const zones = [
    { name: 'example.com.', file: `${answers}example.com.zone` },
    { name: 'child.example.com.', file: `${answers}child.example.com.zone` },
    { name: 'other.test.', file: `${answers}other.test.zone` },
    // Labels holding dots, zero octets and upper case (RFC 4343): a zone of its own origin.
    { name: 'escaped.test.', file: `${ROOT}test/fixtures/zones/escaped-names.zone` },
  ];
  const signed = `${FUZZ_DIR}zones/`;
  if (existsSync(signed)) {
    for (const f of readdirSync(signed).sort()) {
      const m = /^(.+\.)zone\.signed$/.exec(f);
      if (m) zones.push({ name: m[1]!, file: signed + f });
    }
  }
  return zones;
}

let zoneSet: ZoneSet | null = null;

/** The fuzz zones compiled once per process (a broken fixture is a setup error, thrown). */
export function fuzzZones(): ZoneSet {
  if (zoneSet) return zoneSet;
  const loaded = loadZones(fuzzZoneConfigs());
  if (!loaded.ok) throw new Error(`fuzz: the fixture zones do not load:\n${loaded.errors.join('\n')}`);
  zoneSet = loaded.zones;
  return zoneSet;
}

/** Clients allowed to recurse: IPv4 and IPv6 loopback (the targets also ask from 192.0.2.9, which may not). */
const RECURSION = compileAcl(['127.0.0.0/8', '::1/128']) as Acl;

/** An answer context as a worker builds it; `zones: false` serves nothing, so every IN name is forwarded. */
export function fuzzContext(zones = true): AnswerContext {
  return {
    identity: { server: 'fuzz-worker pid 1 host fuzz', version: 'shardns fuzz' },
    zones: zones ? fuzzZones() : new ZoneSet([]),
    recursion: RECURSION,
    ednsUdpSize: 1232,
    nsid: Buffer.from('fuzz-worker'),
  };
}

/** The forward cache's limits the worker uses by default (src/config.ts). */
export const FORWARD_LIMITS: CacheLimits = { maxEntries: 10_000, maxBytes: 64 << 20, minTtl: 0, maxTtl: 86_400, maxNegativeTtl: 10_800, servfailTtl: 5 };

/** A resolver that answers every question at once (a forward-cache hit) with what `answerFor` gives. */
export class InstantResolver implements Resolver {
  constructor(public answerFor: (q: UpstreamQuestion) => CachedAnswer) {}
  resolve(q: UpstreamQuestion): Resolution {
    return { kind: 'cached', answer: this.answerFor(q) };
  }
}

/** One A record for any question: what an upstream gives for a forwarded name. */
export function oneAddress(q: UpstreamQuestion): CachedAnswer {
  const a = { name: q.name, type: 'A', class: 'IN', ttl: 300, data: '198.51.100.7' } as Answer;
  return { rcode: 'NOERROR', ad: false, answers: [a], authorities: [], additionals: [] };
}

/** A pipeline and what it reports: internal errors (a handler that threw inside) are collected, not logged. */
export interface FuzzPipeline {
  pipeline: QueryPipeline;
  ctx: AnswerContext;
  resolver: InstantResolver;
  /** Internal errors told since the last take (each a stack). */
  takeErrors(): string[];
}

/**
 * A pipeline as a worker wires it (reply cache with admission on the second
 * miss, when `replyCache`), on a fixed clock so forwarded replies do not age
 * between two asks of one input.
 */
export function fuzzPipeline(ctx: AnswerContext, replyCache: boolean, resolver = new InstantResolver(oneAddress)): FuzzPipeline {
  let errors: string[] = [];
  const clock = (): number => 1_000_000;
  // Small: a fresh pipeline is made per input, and one input asks a handful of questions.
  const replies = replyCache ? new ReplyCache({ entries: 16, bytes: 16 * 2048, admitOnSecondMiss: true }, clock) : null;
  const pipeline = new QueryPipeline({
    ctx,
    counters: new Counters(),
    replies,
    forwarder: resolver,
    forwardLimits: FORWARD_LIMITS,
    // Every error is told: the limit of one a second is measured on this clock, which stands still.
    onInternalError: (m) => errors.push(m),
    now: (() => {
      let t = 0;
      return () => (t += 10_000);
    })(),
  });
  return {
    pipeline,
    ctx,
    resolver,
    takeErrors: () => {
      const e = errors;
      errors = [];
      return e;
    },
  };
}
