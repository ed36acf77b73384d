/**
 * The question table of the answer differential test: zone sets from the
 * fixtures, and for each set every owner × several types (missing names,
 * wildcard expansions, names below cuts, DNAME and CNAME chains, mixed case),
 * each asked in a few client variants (EDNS or not, small UDP sizes that
 * force truncation, TCP, a client that may recurse). Shared by the capture
 * script (test/helpers/capture-answers.ts) and test/unit/auth/differential.test.ts.
 */

import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import dnsPacket from 'dns-packet';
import type { AnswerContext, Transport } from '../../src/dns/answer.js';
import { compileAcl, type Acl } from '../../src/forward/acl.js';
import type { Zone } from '../../src/zone/index.js';
import { ROOT } from './server.js';

/** A set of zones served together. */
export interface ZoneSetCase {
  label: string;
  zones: { name: string; file: string }[];
  /** Names asked in every variant for a few types (truncation, referrals, chains). */
  full?: string[];
}

/** Fixture zones left out of the comparison, and why. */
export const NOT_COMPARED: Readonly<Record<string, string>> = {
  'escaped-names.zone':
    'names with dots, zero and other octets inside labels: the dns-packet path wrote them wrong (dns-packet splits a label at "\\." and writes escapes as text); the image path writes the octets the zone file means',
};

/** The zone sets: the answer fixtures together, each parser fixture that loads, the shipped example zone. */
export function zoneSetCases(): ZoneSetCase[] {
  const answers = 'test/fixtures/answers/';
  const sets: ZoneSetCase[] = [
    {
      label: 'answers',
      zones: [
        { name: 'example.com.', file: `${answers}example.com.zone` },
        { name: 'child.example.com.', file: `${answers}child.example.com.zone` },
        { name: 'other.test.', file: `${answers}other.test.zone` },
      ],
      full: ['big.example.com', 'huge.example.com', 'Www.Example.com', 'host.deleg.example.com', 'chain1.example.com', 'a.b.dn.example.com', 'external.example.com', 'x.wild.example.com', 'nx.example.com'],
    },
    { label: 'config/example.com', zones: [{ name: 'example.com.', file: 'config/zones/example.com.zone' }] },
  ];
  const dir = 'test/fixtures/zones/';
  for (const f of readdirSync(ROOT + dir).sort()) {
    if (!f.endsWith('.zone') || f.startsWith('broken-') || NOT_COMPARED[f] !== undefined) continue;
    const origin = /^; origin (\S+)/.exec(readFileSync(ROOT + dir + f, 'latin1'))?.[1];
    if (origin === undefined) continue;
    sets.push({ label: `zones/${f}`, zones: [{ name: origin, file: dir + f }] });
  }
  return sets;
}

/** How a client asks. */
export interface Variant {
  transport: Transport;
  /** EDNS: the UDP size offered, DO, NSID asked, version. */
  edns?: { size: number; do?: boolean; nsid?: boolean; version?: number };
  rd: boolean;
  /** The context forwards and this client may recurse (or, `false`, forwards but the client may not). */
  recursion?: boolean;
}

export const VARIANTS: readonly Variant[] = [
  { transport: 'udp', rd: false },
  { transport: 'udp', rd: false, edns: { size: 1232 } },
  { transport: 'udp', rd: true, edns: { size: 512, do: true } },
  { transport: 'udp', rd: false, edns: { size: 4096, nsid: true } },
  { transport: 'tcp', rd: true },
  { transport: 'udp', rd: true, edns: { size: 1232 }, recursion: true },
  { transport: 'udp', rd: true, edns: { size: 1232, do: true }, recursion: false },
  { transport: 'udp', rd: false, edns: { size: 1232, version: 1 } },
];

/** One question of the table. */
export interface QuestionCase {
  set: string;
  name: string;
  type: string;
  klass: string;
  variant: number;
}

const TYPES = ['A', 'AAAA', 'NS', 'SOA', 'MX', 'TXT', 'CNAME', 'DNAME', 'SRV', 'DS', 'PTR', 'RRSIG', 'ANY', 'CAA', 'HINFO'];

/** Every letter in alternating case: `wWw.eXaMpLe.cOm`. */
function mixedCase(name: string): string {
  let out = '';
  let up = false;
  for (const ch of name) {
    if (/[a-z]/i.test(ch)) {
      out += up ? ch.toUpperCase() : ch.toLowerCase();
      up = !up;
    } else out += ch;
  }
  return out;
}

/** The questions for one zone set, from its loaded zones (deterministic: the same zones give the same list). */
export function questionsFor(set: { label: string; full?: string[] }, zones: readonly Zone[]): QuestionCase[] {
  const names: string[] = [];
  const typesOf = new Map<string, Set<string>>();
  const seen = new Set<string>();
  const add = (n: string, types?: Iterable<string>): void => {
    if (n.includes('\\')) return; // names with escapes: dns-packet (the old path) cannot write them
    if (!seen.has(n)) {
      seen.add(n);
      names.push(n);
    }
    const t = typesOf.get(n) ?? new Set<string>();
    for (const x of types ?? []) t.add(x);
    typesOf.set(n, t);
  };
  for (const zone of zones) {
    for (const records of zone.nodes.values()) {
      const owner = records[0]!.name;
      const own = records.map((x) => x.type).filter((t) => !t.startsWith('UNKNOWN_'));
      add(owner, own);
      add(mixedCase(owner), own);
      if (owner.startsWith('*.')) {
        add(`w1.${owner.slice(2)}`, own);
        add(`A.b.${owner.slice(2)}`, own);
      } else {
        add(owner === '.' ? 'zz-missing' : `zz-missing.${owner}`);
      }
    }
    const origin = zone.origin;
    if (origin !== '.') add(`nx.${origin}`);
    if (origin.includes('.')) add(origin.slice(origin.indexOf('.') + 1));
  }
  add('nowhere.invalid');
  add('.');
  const out: QuestionCase[] = [];
  let i = 0;
  for (const name of names) {
    const types = new Set([...TYPES, ...(typesOf.get(name) ?? [])]);
    for (const type of types) {
      // One variant per question, taking turns; the first names of a set get every variant.
      if (i < 40 && set.full !== undefined) for (let v = 0; v < VARIANTS.length; v++) out.push({ set: set.label, name, type, klass: 'IN', variant: v });
      else out.push({ set: set.label, name, type, klass: 'IN', variant: i % VARIANTS.length });
      i++;
    }
  }
  for (const name of set.full ?? []) for (const type of ['A', 'TXT', 'NS', 'ANY']) for (let v = 0; v < VARIANTS.length; v++) out.push({ set: set.label, name, type, klass: 'IN', variant: v });
  // Whole-zone transfers and class ANY once per origin, class CH once per set.
  for (let v = 0; v < VARIANTS.length; v++) {
    for (const zone of zones) {
      const origin = zone.origin;
      out.push({ set: set.label, name: origin, type: 'AXFR', klass: 'IN', variant: v });
      out.push({ set: set.label, name: origin, type: 'SOA', klass: 'ANY', variant: v });
    }
    out.push({ set: set.label, name: 'id.server', type: 'TXT', klass: 'CH', variant: v });
  }
  return out;
}

/** The query message of a question. */
export function queryBytes(q: QuestionCase, id = 0x2b2b): Buffer {
  const v = VARIANTS[q.variant]!;
  const options = v.edns?.nsid ? [{ code: 3, data: Buffer.alloc(0) }] : [];
  return dnsPacket.encode({
    type: 'query',
    id,
    flags: v.rd ? dnsPacket.RECURSION_DESIRED : 0,
    questions: [{ name: q.name, type: q.type as 'A', class: q.klass as 'IN' }],
    additionals: v.edns ? [{ type: 'OPT', name: '.', udpPayloadSize: v.edns.size, ednsVersion: v.edns.version ?? 0, flags: v.edns.do ? dnsPacket.DNSSEC_OK : 0, options } as never] : [],
  });
}

const LOOPBACK = compileAcl(['127.0.0.0/8']) as Acl;
const NOBODY = compileAcl(['192.0.2.255/32']) as Acl;

/** The answer context a variant runs in, over the given zones. */
export function contextFor(zones: AnswerContext['zones'], v: Variant): AnswerContext {
  return {
    identity: { server: 'worker-3 pid 42 host diff', version: 'shardns diff' },
    zones,
    recursion: v.recursion === undefined ? null : v.recursion ? LOOPBACK : NOBODY,
    ednsUdpSize: 1232,
    nsid: Buffer.from('worker-3'),
  };
}

/**
 * A printable form of what answer() decided, whatever its shape: the reply's
 * octets in hex, "drop", or the forward request with its chain as the wire
 * the wire form of each record (what forwardedReply sends).
 */
export function outcomeText(out: unknown): string {
  if (out === null) return 'drop';
  if (Buffer.isBuffer(out)) return `reply ${out.toString('hex')}`;
  const o = out as { kind: string; bytes?: Buffer };
  if (o.kind === 'drop') return 'drop';
  if (o.kind === 'reply') return `reply ${o.bytes!.toString('hex')}`;
  const f = out as { id: number; flags: number; question: { wire: Buffer }; edns: unknown; transport: string; target: string; chain: Buffer[] };
  // The text the fixture was recorded with: the question as dns-packet decoded it, each chain record as dns-packet wrote it
  // (for the names compared, the same octets as the wire records the chain now holds).
  const header = Buffer.from([0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0]);
  const q = dnsPacket.decode(Buffer.concat([header, f.question.wire])).questions![0]!;
  const chain = f.chain.map((r) => r.toString('hex'));
  return `forward ${JSON.stringify({ id: f.id, flags: f.flags, question: { name: q.name, type: q.type, class: q.class }, edns: f.edns, transport: f.transport, target: f.target, chain })}`;
}

/** A short digest of an outcome text (the fixture keeps digests, not whole replies). */
export function digest(text: string): string {
  return `${text.length}:${createHash('sha256').update(text).digest('hex').slice(0, 12)}`;
}

/** The key a question is kept under in its set's part of the fixture. */
export function questionKey(q: QuestionCase): string {
  return `${q.name}|${q.klass}|${q.type}|${q.variant}`;
}

/**
 * The fixture: per zone set, the zones (with the octets of every file they
 * read, so the test does not follow later edits of the fixture zones) and,
 * per question key, the digest of the outcome.
 */
export interface OutcomeFixture {
  about: string;
  sets: Record<string, { zones: { name: string; file: string }[]; full?: string[]; files: Record<string, string>; outcomes: Record<string, string> }>;
}

/** Where the captured outcomes live. */
export const FIXTURE = `${ROOT}test/fixtures/answers/outcomes.json`;
