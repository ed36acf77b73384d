/**
 * Whether a server's replies carry DNSSEC: a few questions of each kind in
 * the query file asked with `dig +dnssec` before the load, dig's output read,
 * and each reply judged by what RFC 4035 §3.1 asks of a server for a signed
 * zone. A server that leaves records out does less work per reply, so the
 * report flags it instead of comparing it with one that does not.
 */

import { spawnSync } from 'node:child_process';
import type { ProcessGroups } from './processes.js';
import type { Query, QueryKind } from './queries.js';
import { SIGNED_QUERY } from './wire-queries.js';

/** One resource record as dig prints it. */
export interface DigRecord {
  /** Lower case, with the trailing dot. */
  owner: string;
  type: string;
  /** The RDATA in presentation form, fields separated by one space. */
  data: string;
}

/** A reply as dig printed it. */
export interface DigReply {
  /** `NOERROR`, `NXDOMAIN`, … */
  rcode: string;
  /** Header flags: `qr`, `aa`, `tc`, `rd`, … */
  flags: string[];
  /** EDNS flags of the reply's OPT record (`do`), or null when the reply had no OPT record. */
  ednsFlags: string[] | null;
  answer: DigRecord[];
  authority: DigRecord[];
  additional: DigRecord[];
  /** Octets of the reply (dig's "MSG SIZE rcvd"). */
  size: number;
}

/** What one dig run gave. */
export type DigOutcome = { kind: 'reply'; reply: DigReply } | { kind: 'no-reply'; why: string };

const SECTION = /^;; (ANSWER|AUTHORITY|ADDITIONAL) SECTION:$/;

/** Reads dig's default output (one record a line, `;;` comments); a run without ";; Got answer:" is `no-reply` with dig's own reason. */
export function parseDig(text: string): DigOutcome {
  const lines = text.split('\n');
  if (!lines.some((l) => l.startsWith(';; Got answer:'))) {
    const why = lines.find((l) => /error|timed out|no servers|refused|unreachable/i.test(l))?.replace(/^;;\s*/, '') ?? (text.trim().split('\n')[0] || 'no output');
    return { kind: 'no-reply', why };
  }
  const rcode = /^;; ->>HEADER<<-.*status: ([A-Z0-9]+)/m.exec(text)?.[1] ?? 'unknown';
  const flags = (/^;; flags:([^;]*);/m.exec(text)?.[1] ?? '').trim().split(/\s+/).filter((f) => f !== '');
  const edns = /^; EDNS: version: \d+, flags:([^;]*);/m.exec(text);
  const ednsFlags = edns ? edns[1]!.trim().split(/\s+/).filter((f) => f !== '') : null;
  const size = Number(/^;; MSG SIZE\s+rcvd: (\d+)/m.exec(text)?.[1] ?? NaN);
  const sections: Record<'ANSWER' | 'AUTHORITY' | 'ADDITIONAL', DigRecord[]> = { ANSWER: [], AUTHORITY: [], ADDITIONAL: [] };
  let current: DigRecord[] | null = null;
  for (const line of lines) {
    const m = SECTION.exec(line);
    if (m) {
      current = sections[m[1] as keyof typeof sections];
      continue;
    }
    if (line.trim() === '' || line.startsWith(';')) {
      if (line.trim() === '') current = null;
      continue;
    }
    if (current === null) continue;
    // owner ttl class type rdata…
    const f = line.trim().split(/\s+/);
    if (f.length < 4) continue;
    current.push({ owner: f[0]!.toLowerCase(), type: f[3]!, data: f.slice(4).join(' ') });
  }
  return { kind: 'reply', reply: { rcode, flags, ednsFlags, answer: sections.ANSWER, authority: sections.AUTHORITY, additional: sections.ADDITIONAL, size } };
}

/** How one reply measures up: it carries what a signed zone's reply must, or what it lacks. */
export type SignedVerdict = { kind: 'signed' } | { kind: 'unsigned'; missing: string[] };

/** Labels of a name (`a.example.com.` → 3), not counting a leading `*` (RFC 4034 §3.1.3, the RRSIG Labels field). */
function labelCount(owner: string): number {
  const labels = owner.replace(/\.$/, '').split('.').filter((l) => l !== '');
  return labels[0] === '*' ? labels.length - 1 : labels.length;
}

/** RRsets of a section: owner and type of each, RRSIGs left out. */
function rrsets(records: readonly DigRecord[]): { owner: string; type: string }[] {
  const seen = new Map<string, { owner: string; type: string }>();
  for (const r of records) if (r.type !== 'RRSIG') seen.set(`${r.owner} ${r.type}`, { owner: r.owner, type: r.type });
  return [...seen.values()];
}

/** Whether `records` hold an RRSIG over `owner`'s `type` RRset (its first RDATA field is the type covered). */
function signedIn(records: readonly DigRecord[], owner: string, type: string): boolean {
  return records.some((r) => r.type === 'RRSIG' && r.owner === owner && r.data.split(' ')[0] === type);
}

/** NSEC and NSEC3 RRsets of a section, each with whether its RRSIG came along. */
function denials(records: readonly DigRecord[]): { owner: string; type: string; signed: boolean }[] {
  return rrsets(records)
    .filter((s) => s.type === 'NSEC' || s.type === 'NSEC3')
    .map((s) => ({ ...s, signed: signedIn(records, s.owner, s.type) }));
}

/**
 * Judges a reply to a query with DO=1 for a name in a signed zone by RFC
 * 4035 §3.1: the DO bit copied back (RFC 3225 §3); every RRset of the answer
 * with its RRSIG, and of the authority section too except the NS RRset of a
 * referral (§3.1.1, §2.2); a wildcard expansion (an RRSIG whose Labels field
 * is below the owner's label count) with an NSEC or NSEC3 proof
 * (§3.1.3.3); a negative answer (NXDOMAIN, or NODATA: the SOA in authority)
 * with the SOA's RRSIG and signed NSEC or NSEC3 records (§3.1.3, RFC 5155
 * §7.2); a referral with a signed DS, or a signed NSEC or NSEC3 proving there
 * is none (§3.1.4). A truncated reply or another rcode is not judged signed.
 */
export function judgeReply(reply: DigReply): SignedVerdict {
  const missing: string[] = [];
  if (reply.ednsFlags === null) missing.push('no OPT record in the reply (RFC 6891)');
  else if (!reply.ednsFlags.includes('do')) missing.push('the DO bit was not copied into the reply (RFC 3225 §3)');
  if (reply.flags.includes('tc')) missing.push(`truncated (TC=1) at ${SIGNED_QUERY.udpSize} octets`);
  if (reply.rcode !== 'NOERROR' && reply.rcode !== 'NXDOMAIN') missing.push(`rcode ${reply.rcode}`);

  for (const s of rrsets(reply.answer)) {
    if (!signedIn(reply.answer, s.owner, s.type)) missing.push(`RRSIG over ${s.owner} ${s.type} in the answer (RFC 4035 §3.1.1)`);
  }
  const expanded = reply.answer.some((r) => r.type === 'RRSIG' && Number(r.data.split(' ')[2]) < labelCount(r.owner));
  const proofs = denials(reply.authority);
  if (expanded && proofs.length === 0) missing.push('NSEC or NSEC3 proving no closer match for the wildcard expansion (RFC 4035 §3.1.3.3)');

  const hasSoa = reply.authority.some((r) => r.type === 'SOA');
  const negative = reply.rcode === 'NXDOMAIN' || hasSoa;
  const referral = !negative && reply.answer.length === 0 && !reply.flags.includes('aa') && reply.authority.some((r) => r.type === 'NS');
  for (const s of rrsets(reply.authority)) {
    if (referral && s.type === 'NS') continue; // the delegation's NS RRset is not signed (RFC 4035 §2.2)
    if (!signedIn(reply.authority, s.owner, s.type)) missing.push(`RRSIG over ${s.owner} ${s.type} in the authority section (RFC 4035 §3.1.1)`);
  }
  if (negative) {
    if (!hasSoa) missing.push('the SOA in the authority section of a negative answer (RFC 2308 §3)');
    if (proofs.length === 0) missing.push('NSEC or NSEC3 records proving the name or type absent (RFC 4035 §3.1.3, RFC 5155 §7.2)');
  }
  if (referral) {
    const ds = rrsets(reply.authority).some((s) => s.type === 'DS');
    if (!ds && proofs.length === 0) missing.push('a DS RRset, or NSEC or NSEC3 proving there is none, at the delegation (RFC 4035 §3.1.4)');
  }
  if (!negative && !referral && reply.answer.length === 0 && reply.rcode === 'NOERROR') missing.push('an answer (the reply is empty)');
  if (missing.length === 0 && ![...reply.answer, ...reply.authority].some((r) => r.type === 'RRSIG')) missing.push('any RRSIG at all');
  return missing.length === 0 ? { kind: 'signed' } : { kind: 'unsigned', missing: [...new Set(missing)] };
}

/** The order sample questions are taken in: every kind of answer the query file has. */
const SAMPLE_KINDS: readonly QueryKind[] = ['existing', 'nodata', 'absent', 'wildcard', 'referral', 'random'];

/** The first `perKind` questions of each kind in the query file (distinct names), so every kind of answer is looked at. */
export function pickSamples(queries: readonly Query[], perKind = 2): Query[] {
  const out: Query[] = [];
  for (const kind of SAMPLE_KINDS) {
    const names = new Set<string>();
    for (const q of queries) {
      if (names.size >= perKind) break;
      if (q.kind !== kind || names.has(q.name.toLowerCase())) continue;
      names.add(q.name.toLowerCase());
      out.push(q);
    }
  }
  return out;
}

/** One sample question and what the server's reply to it carried. */
export interface SignedSample {
  name: string;
  type: string;
  kind: QueryKind;
  /** The reply's rcode and size in octets (absent without a reply). */
  rcode?: string;
  bytes?: number;
  outcome: SignedVerdict | { kind: 'no-reply'; why: string };
}

/** What the samples say about one server: all signed; some unsigned (`unsigned answers`); or unknown, with replies missing. */
export type ServerSigning = 'signed' | 'unsigned' | 'unchecked';

/** One server's verdict from its samples: any unsigned reply makes it `unsigned`; else a missing reply (or none asked) `unchecked`. */
export function serverSigning(samples: readonly SignedSample[]): ServerSigning {
  if (samples.some((s) => s.outcome.kind === 'unsigned')) return 'unsigned';
  if (samples.length === 0 || samples.some((s) => s.outcome.kind === 'no-reply')) return 'unchecked';
  return 'signed';
}

/**
 * dig's command line for one sample: as the load's queries are sent (DO=1,
 * EDNS 1232, RD, no cookie), over UDP only (`+ignore`: a truncated reply
 * is kept, not retried over TCP, as dnsperf keeps it), one try.
 */
export function digArgs(port: number, q: Pick<Query, 'name' | 'type'>): string[] {
  return ['@127.0.0.1', '-p', String(port), '+dnssec', `+bufsize=${SIGNED_QUERY.udpSize}`, '+rec', '+nocookie', '+ignore', '+tries=1', '+time=2', q.name, q.type];
}

/** Why dig cannot run here, with what to do, or null when it can. */
export function digUnavailable(): string | null {
  return spawnSync('dig', ['-v'], { encoding: 'utf8' }).error ? 'dig not installed — apt-get install bind9-dnsutils' : null;
}

/** Asks the server on `port` each sample with dig (one at a time, each dig in its own process group) and judges each reply. */
export async function checkSigned(groups: ProcessGroups, port: number, samples: readonly Query[]): Promise<SignedSample[]> {
  const out: SignedSample[] = [];
  for (const q of samples) {
    const t = groups.spawn('dig', 'dig', digArgs(port, q));
    await t.exited;
    await t.closed;
    await groups.stop(t, 0);
    const parsed = parseDig(t.output());
    const base = { name: q.name, type: q.type, kind: q.kind };
    out.push(parsed.kind === 'reply' ? { ...base, rcode: parsed.reply.rcode, bytes: parsed.reply.size, outcome: judgeReply(parsed.reply) } : { ...base, outcome: parsed });
  }
  return out;
}
