/** The dnsperf query file: names of the zone under test × their types in a realistic mix, absent names, wildcard hits, mixed case; optionally a random-subdomain flood share. */

import { pickWeighted, seededRandom } from './random.js';

/**
 * How often each query type is asked, roughly as authoritative servers see it
 * (address lookups dominate; mail, text and service records are a few percent).
 * A type missing here weighs 1.
 */
export const TYPE_WEIGHTS: Readonly<Record<string, number>> = {
  A: 50,
  AAAA: 25,
  MX: 5,
  TXT: 5,
  SRV: 3,
  NS: 3,
  SOA: 2,
  CNAME: 1,
  DS: 1,
  PTR: 1,
};

/**
 * Which part of the mix a query belongs to (each gives a different kind of
 * answer). `random` is the random-subdomain flood share: fresh random names
 * that do not exist, each asked about once, so no reply cache can help.
 */
export type QueryKind = 'existing' | 'referral' | 'nodata' | 'wildcard' | 'absent' | 'random';

/** One line of the query file. */
export interface Query {
  name: string;
  type: string;
  kind: QueryKind;
}

/** The part of a loaded zone the generator needs (src/zone's Zone fits). */
export interface ZoneNames {
  /** The apex without the trailing dot: `example.com`. */
  readonly origin: string;
  /** Owner lookup key (lower case, no trailing dot) → its records. */
  readonly nodes: ReadonlyMap<string, readonly { readonly type: string }[]>;
}

/** Shares of the mix and the size of the file. */
export interface QueryMixOptions {
  /** Lines to write. */
  count: number;
  seed: number;
  /** Share of names that do not exist (NXDOMAIN). */
  absent: number;
  /** Share of names that match a wildcard (RFC 4592), when the zone has one. */
  wildcard: number;
  /** Share of existing names asked for a type they do not have (NODATA, e.g. AAAA of an IPv4-only host). */
  nodata: number;
  /** Share of queries whose name is written in random upper and lower case. */
  mixedCase: number;
  /**
   * Share of the file that is a random-subdomain flood: names of 1–3 fresh
   * random labels under the apex ({@link floodName}), which do not exist.
   * The other queries follow the mix above. 0 (the default) leaves the file
   * exactly as it is without this option.
   */
  randomSubdomain: number;
}

/** Defaults: ~10 % absent, ~5 % wildcard hits, ~5 % NODATA, a quarter in mixed case, no flood. */
export const DEFAULT_MIX: QueryMixOptions = { count: 50_000, seed: 1, absent: 0.1, wildcard: 0.05, nodata: 0.05, mixedCase: 0.25, randomSubdomain: 0 };

/** The generated queries and what they contain. */
export interface QueryFile {
  queries: Query[];
  /** Queries per kind. */
  kinds: Record<QueryKind, number>;
  /** Queries per type. */
  types: Record<string, number>;
  /** Queries whose name has an upper-case letter. */
  mixedCase: number;
  /** Why a share could not be met (a zone without wildcards, an apex wildcard). */
  notes: string[];
}

/** An owner name with the types a client would ask of it. */
interface Owner {
  name: string;
  types: string[];
  kind: 'existing' | 'referral';
  /** Types it has (for NODATA: ask one it lacks). */
  has: Set<string>;
}

const weightOf = (t: string): number => TYPE_WEIGHTS[t] ?? 1;
/** What clients ask of a name: its own types; behind a CNAME they ask for addresses (and get the chain). */
function askable(types: Set<string>): string[] {
  const out = new Set([...types].filter((t) => t !== 'RRSIG' && t !== 'NSEC' && t !== 'NSEC3'));
  if (types.has('CNAME')) {
    out.add('A');
    out.add('AAAA');
  }
  return [...out];
}

/** The labels above `name` up to (not including) the apex, nearest first. */
function ancestors(name: string, origin: string): string[] {
  const out: string[] = [];
  let n = name;
  while (n !== origin && n.endsWith('.' + origin)) {
    n = n.slice(n.indexOf('.') + 1);
    if (n !== origin) out.push(n);
  }
  return out;
}

/** Writes `name` with each letter in random case (as DNS 0x20 randomisation does). */
export function randomCase(name: string, rnd: () => number): string {
  let out = '';
  for (const ch of name) out += /[a-z]/i.test(ch) ? (rnd() < 0.5 ? ch.toUpperCase() : ch.toLowerCase()) : ch;
  return out;
}

/** A label not used in the zone: `nx` and six base-36 characters. */
function randomLabel(rnd: () => number, prefix: string): string {
  return prefix + Math.floor(rnd() * 36 ** 6).toString(36).padStart(6, '0');
}

const FLOOD_ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789';
/** Depth of a flood name: 1 label 60 %, 2 labels 30 %, 3 labels 10 %. */
const FLOOD_DEPTH: Readonly<Record<number, number>> = { 1: 6, 2: 3, 3: 1 };

/**
 * A name as a random-subdomain flood asks it: 1–3 labels of 5–12 random
 * letters and digits under `origin` (lower case, no trailing dot), e.g.
 * `x7f3k2q.example.com` or `k2j9a.x7f3k2q.example.com`. With 36^5 or more
 * choices per label, names practically never repeat.
 */
export function floodName(rnd: () => number, origin: string): string {
  const depth = pickWeighted(rnd, [1, 2, 3], (d) => FLOOD_DEPTH[d]!);
  const labels: string[] = [];
  for (let i = 0; i < depth; i++) {
    const len = 5 + Math.floor(rnd() * 8);
    let l = '';
    for (let j = 0; j < len; j++) l += FLOOD_ALPHABET[Math.floor(rnd() * FLOOD_ALPHABET.length)];
    labels.push(l);
  }
  return `${labels.join('.')}.${origin}`;
}

/** The ancestor of `name` (or itself) one label under `origin`: `b.example.com` for `a.b.example.com`. */
function underApex(name: string, origin: string): string {
  const head = name.slice(0, -(origin.length + 1));
  return `${head.slice(head.lastIndexOf('.') + 1)}.${origin}`;
}

/** Generates `options.count` queries for the zone; the same seed gives the same file. */
export function generateQueries(zone: ZoneNames, options: Partial<QueryMixOptions> = {}): QueryFile {
  const o = { ...DEFAULT_MIX, ...options };
  const rnd = seededRandom(o.seed);
  const origin = zone.origin.toLowerCase();
  const notes: string[] = [];

  // Zone cuts below the apex: owners at or under them get referrals.
  const cuts = new Set<string>();
  for (const [key, records] of zone.nodes) if (key !== origin && records.some((r) => r.type === 'NS')) cuts.add(key);
  // Every name that exists, including empty non-terminals, so an "absent" name really is absent.
  const existing = new Set<string>(zone.nodes.keys());
  const owners: Owner[] = [];
  const wildcards: Owner[] = [];
  for (const [key, records] of zone.nodes) {
    for (const a of ancestors(key, origin)) existing.add(a);
    const has = new Set(records.map((r) => r.type));
    const types = askable(has);
    if (types.length === 0) continue;
    const below = cuts.has(key) || ancestors(key, origin).some((a) => cuts.has(a));
    const owner: Owner = { name: key, types, kind: below ? 'referral' : 'existing', has };
    if (key.startsWith('*.')) {
      if (!below) wildcards.push(owner);
    } else owners.push(owner);
  }
  if (owners.length === 0) throw new Error(`zone ${zone.origin} has no names to query`);

  let absentShare = o.absent;
  if (zone.nodes.has(`*.${origin}`)) {
    notes.push(`the apex has a wildcard (*.${origin}): no name directly below it is absent, so the file has no NXDOMAIN queries`);
    absentShare = 0;
  }
  let wildcardShare = o.wildcard;
  if (wildcards.length === 0 && wildcardShare > 0) {
    notes.push('the zone has no wildcard: the file has no wildcard hits');
    wildcardShare = 0;
  }
  const nodataCandidates = owners.filter((w) => w.kind === 'existing' && !w.has.has('CNAME'));
  if (o.randomSubdomain > 0 && zone.nodes.has(`*.${origin}`)) notes.push(`the apex has a wildcard (*.${origin}): the random-subdomain names get wildcard answers, not NXDOMAIN`);

  const queries: Query[] = [];
  for (let i = 0; i < o.count; i++) {
    let q: Query;
    // Drawn only with a flood share, so the file without one stays as it was.
    if (o.randomSubdomain > 0 && rnd() < o.randomSubdomain) {
      let name: string;
      // The name right under the apex must not exist; then nothing below it does either.
      do name = floodName(rnd, origin);
      while (existing.has(underApex(name, origin)));
      q = { name, type: pickWeighted(rnd, ['A', 'AAAA', 'MX', 'TXT'], weightOf), kind: 'random' };
      if (rnd() < o.mixedCase) q.name = randomCase(q.name, rnd);
      queries.push(q);
      continue;
    }
    const r = rnd();
    if (r < absentShare) {
      let name: string;
      do name = `${randomLabel(rnd, 'nx')}.${origin}`;
      while (existing.has(name));
      q = { name, type: pickWeighted(rnd, ['A', 'AAAA', 'MX', 'TXT'], weightOf), kind: 'absent' };
    } else if (r < absentShare + wildcardShare) {
      const w = wildcards[Math.floor(rnd() * wildcards.length)]!;
      const parent = w.name.slice(2);
      let name: string;
      do name = `${randomLabel(rnd, 'w')}.${parent}`;
      while (existing.has(name));
      q = { name, type: pickWeighted(rnd, w.types, weightOf), kind: 'wildcard' };
    } else if (r < absentShare + wildcardShare + o.nodata && nodataCandidates.length > 0) {
      const w = nodataCandidates[Math.floor(rnd() * nodataCandidates.length)]!;
      const lacking = ['AAAA', 'A', 'MX', 'TXT'].filter((t) => !w.has.has(t));
      q = lacking.length > 0 ? { name: w.name, type: pickWeighted(rnd, lacking, weightOf), kind: 'nodata' } : { name: w.name, type: pickWeighted(rnd, w.types, weightOf), kind: 'existing' };
    } else {
      const w = owners[Math.floor(rnd() * owners.length)]!;
      q = { name: w.name, type: pickWeighted(rnd, w.types, weightOf), kind: w.kind };
    }
    if (rnd() < o.mixedCase) q.name = randomCase(q.name, rnd);
    queries.push(q);
  }

  const kinds: Record<QueryKind, number> = { existing: 0, referral: 0, nodata: 0, wildcard: 0, absent: 0, random: 0 };
  const types: Record<string, number> = {};
  let mixedCase = 0;
  for (const q of queries) {
    kinds[q.kind]++;
    types[q.type] = (types[q.type] ?? 0) + 1;
    if (q.name !== q.name.toLowerCase()) mixedCase++;
  }
  return { queries, kinds, types, mixedCase, notes };
}

/** The file dnsperf reads with -d: one `name type` per line, names fully qualified. */
export function toDnsperfFile(queries: readonly Query[]): string {
  return queries.map((q) => `${q.name}. ${q.type}\n`).join('');
}
