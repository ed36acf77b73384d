/** Checks of a whole zone after loading, as named-checkzone's integrity checks do them. */

import type { DiagnosticSink } from './diagnostics.js';
import { nameHash } from '../image/format.js';
import { isAtOrBelow, nameOfOwnWire, nameKey, nameToWire, parentName, presentName } from '../names.js';
import { lowerWire } from './name-table.js';
import { packetType, T } from '../rdata/rrtypes.js';
import { NONE } from './record-store.js';
import type { ZoneBuilder } from './zone.js';

/**
 * Reports what makes a zone unusable: no SOA or no NS at the apex (RFC 1035
 * §5.2, RFC 1034 §4.2.1); apex NS targets inside the zone that have no
 * address, are a CNAME (RFC 2181 §10.3) or lie below a DNAME; CDS/CDNSKEY
 * without a matching DNSKEY algorithm; RRsets too big for a DNS message.
 * BIND refuses such zones too.
 * Warns, as BIND does, about delegations without glue and MX/SRV targets
 * inside the zone that have no address or are a CNAME. Checks of targets
 * run only when reading found no error: a record refused earlier could be
 * the address they look for, and BIND skips them then too.
 */
export function checkZone(b: ZoneBuilder, sink: DiagnosticSink, file: string): void {
  const apex = presentName(b.origin);
  const clean = sink.errors.length === 0;
  if (b.apexSoa() === undefined) sink.error(file, 0, 0, `no SOA record at the zone apex ${apex}`);
  if (b.apexNs.length === 0) sink.error(file, 0, 0, `no NS records at the zone apex ${apex}`);
  checkSizes(b, sink, file);
  if (!clean) return;
  const look = new Lookup(b);
  const s = b.store;
  for (const { record, at } of b.apexNs) {
    const target = nameAt(s.wire, s.at[record]!);
    const key = nameKey(target);
    if (!isAtOrBelow(key, b.originKey)) continue;
    const dname = look.dnameAbove(key);
    if (dname !== undefined) {
      sink.error(at.file, at.line, at.col, `NS target ${presentName(target)} is below the DNAME at ${presentName(dname)}, so it cannot be reached (RFC 6672 §2.3)`);
    } else if (look.hasType(key, T.CNAME)) {
      sink.error(at.file, at.line, at.col, `NS target ${presentName(target)} is a CNAME, which RFC 2181 §10.3 forbids`);
    } else if (!look.hasAddress(key)) {
      sink.error(at.file, at.line, at.col, `NS target ${presentName(target)} has no address records (A or AAAA) in the zone`);
    }
  }
  checkCds(b, sink, file);
  const nodes = b.nodes;
  const apexIndex = nodes.findName(b.originKey);
  // Only names with an NS, MX or SRV record have a target to look at. (No closure in this loop may
  // capture `n`: that would allocate a context for each of the zone's names, 38 MB for a million records.)
  for (let n = 0; n < nodes.size; n++) if (nodes.targets[n] !== 0) targetsAt(look, sink, file, n, n === apexIndex);
}

/** The target checks of the NS (away from the apex), MX and SRV records of name entry `n`. */
function targetsAt(look: Lookup, sink: DiagnosticSink, file: string, n: number, apex: boolean): void {
  const s = look.b.store;
  for (let r = look.b.nodes.head[n]!; r !== NONE; r = s.next[r]!) {
    const code = s.code[r]!;
    if (code === T.NS && !apex) delegationTarget(look, sink, file, n, r, nameAt(s.wire, s.at[r]!));
    else if (code === T.MX) serviceTarget(look, sink, file, n, r, 'MX', s.at[r]! + 2);
    else if (code === T.SRV) serviceTarget(look, sink, file, n, r, 'SRV', s.at[r]! + 6);
  }
}

/** The name string of the uncompressed wire name at `at` (RDATA the store wrote: well formed). */
function nameAt(wire: Uint8Array, at: number): string {
  return nameOfOwnWire(wire, at);
}

/**
 * The most RDATA (with each record's 2-octet length) BIND accepts in one
 * RRset, found by bisection against named-checkzone 9.18 ("ran out of
 * space"). An RRset must fit in one DNS message of 65535 octets anyway.
 */
const MAX_RRSET_RDATA = 65511;

/** RRsets too big for one message (and for BIND). */
function checkSizes(b: ZoneBuilder, sink: DiagnosticSink, file: string): void {
  const s = b.store;
  const nodes = b.nodes;
  for (let n = 0; n < nodes.size; n++) {
    // A name's RDATA all told bounds each of its RRsets'.
    if (nodes.octets[n]! <= MAX_RRSET_RDATA) continue;
    for (let r = nodes.head[n]!; r !== NONE; ) {
      const first = r;
      const setKey = s.setKey(r);
      let size = 0;
      for (; r !== NONE && s.setKey(r) === setKey; r = s.next[r]!) size += s.len[r]! + 2;
      if (size > MAX_RRSET_RDATA) {
        sink.error(file, 0, 0, `the ${packetType(s.code[first]!)} records at ${presentName(nodes.ownerOf(n, first))} hold ${size} octets of data; BIND refuses more than ${MAX_RRSET_RDATA} in one RRset, which must fit in one DNS message`);
      }
    }
  }
}

/**
 * RFC 7344 §4.1, RFC 8078 §4: CDS and CDNSKEY at the apex must use an
 * algorithm of the apex DNSKEY set (algorithm 0 is the delete request).
 * BIND refuses the zone otherwise.
 */
function checkCds(b: ZoneBuilder, sink: DiagnosticSink, file: string): void {
  const s = b.store;
  const apex = b.nodes.findName(b.originKey);
  if (apex < 0) return;
  const algorithmAt = (r: number, at: number): number => (s.len[r]! > at ? s.wire[s.at[r]! + at]! : 0);
  const algorithms = new Set<number>();
  // DNSKEY RDATA (RFC 4034 §2.1): flags (2), protocol (1), algorithm (1), …
  for (let r = b.nodes.head[apex]!; r !== NONE; r = s.next[r]!) if (s.code[r] === T.DNSKEY) algorithms.add(algorithmAt(r, 3));
  for (let r = b.nodes.head[apex]!; r !== NONE; r = s.next[r]!) {
    // CDS as DS (RFC 4034 §5.1): key tag (2), algorithm (1); CDNSKEY as DNSKEY.
    const code = s.code[r]!;
    const at = code === T.CDS ? 2 : code === T.CDNSKEY ? 3 : -1;
    if (at < 0) continue;
    const algorithm = algorithmAt(r, at);
    if (algorithm !== 0 && !algorithms.has(algorithm)) {
      sink.error(file, 0, 0, `${packetType(code)} at the apex names algorithm ${algorithm}, but no apex DNSKEY has it (RFC 7344 §4.1)`);
    }
  }
}

/** Warns about a delegation (record `r` of name entry `n`: its name's key and spelling made from the table only when needed) whose name server in the zone has no address or lies below a DNAME. */
function delegationTarget(look: Lookup, sink: DiagnosticSink, file: string, n: number, r: number, target: string): void {
  const key = (): string => look.b.nodes.keyAt(n);
  const owner = (): string => look.b.nodes.ownerOf(n, r);
  const tkey = nameKey(target);
  if (!isAtOrBelow(tkey, look.b.originKey)) return;
  const dname = look.dnameAbove(tkey);
  if (dname !== undefined) {
    sink.warning(file, 0, 0, `delegation ${presentName(owner())}: name server ${presentName(target)} is below the DNAME at ${presentName(dname)}`);
    return;
  }
  if (look.hasAddress(tkey)) return;
  const glue = isAtOrBelow(tkey, key()) ? 'glue ' : '';
  sink.warning(file, 0, 0, `delegation ${presentName(owner())}: name server ${presentName(target)} has no ${glue}address records (A or AAAA)`);
}

/**
 * Warns about an MX or SRV record (record `r` of name entry `n`, its target
 * the wire name at `s.wire[at]`) whose target in the zone is a CNAME or has
 * no address. The target is looked up by its wire octets: strings are made
 * only for a message, or for the wildcard search when the name is absent
 * (a zone of a million records has some 40,000 such targets).
 */
function serviceTarget(look: Lookup, sink: DiagnosticSink, file: string, n: number, r: number, what: string, at: number): void {
  const b = look.b;
  const wire = b.store.wire;
  const len = wireNameLength(wire, at);
  if (len === 1) return; // the root: RFC 2782 "." (no service), RFC 7505 null MX
  const lower = look.scratch;
  lowerWire(wire, at, len, lower, 0);
  if (!look.inZone(lower, len)) return;
  const t = b.nodes.findWire(lower, 0, len, nameHash(lower, 0, len));
  const target = (): string => nameAt(wire, at);
  const owner = (): string => b.nodes.ownerOf(n, r);
  if (t >= 0 && look.typeAt(t, T.CNAME) !== NONE) {
    sink.warning(file, 0, 0, `${what} target ${presentName(target())} of ${presentName(owner())} is a CNAME (RFC 2181 §10.3)`);
  } else if (t >= 0 ? !look.addressAt(t) : !look.hasAddress(nameKey(target()))) {
    sink.warning(file, 0, 0, `${what} target ${presentName(target())} of ${presentName(owner())} has no address records (A or AAAA)`);
  }
}

/** Octets of the uncompressed wire name at `wire[at]` (its labels and the root's zero). */
function wireNameLength(wire: Uint8Array, at: number): number {
  let p = at;
  while (wire[p] !== 0) p += wire[p]! + 1;
  return p + 1 - at;
}

/** Just enough lookup for the checks: exact names, then the wildcard below the nearest existing ancestor (RFC 4592 §3.3). */
class Lookup {
  /** Room for one lower-cased wire name. */
  readonly scratch = new Uint8Array(256);
  /** The apex's lower-cased wire name. */
  private readonly apex: Uint8Array;

  constructor(readonly b: ZoneBuilder) {
    const wire = nameToWire(b.originKey);
    this.apex = new Uint8Array(wire.length);
    lowerWire(wire, 0, wire.length, this.apex, 0);
  }

  /** Whether the lower-cased wire name `lower[0, len)` is at or below the apex (isAtOrBelow on wire octets: the apex's labels end it). */
  inZone(lower: Uint8Array, len: number): boolean {
    const apex = this.apex;
    for (let p = 0; len - p >= apex.length; p += lower[p]! + 1) {
      if (len - p === apex.length) {
        for (let k = 0; k < apex.length; k++) if (lower[p + k] !== apex[k]) return false;
        return true;
      }
    }
    return false;
  }

  /** Whether entry `n` has an A or AAAA record. */
  addressAt(n: number): boolean {
    return this.typeAt(n, T.A) !== NONE || this.typeAt(n, T.AAAA) !== NONE;
  }

  private node(key: string): number {
    return this.b.nodes.findName(key);
  }

  /** The first record of type `code` at entry `n`, or NONE. */
  typeAt(n: number, code: number): number {
    const s = this.b.store;
    for (let r = this.b.nodes.head[n]!; r !== NONE; r = s.next[r]!) if (s.code[r] === code) return r;
    return NONE;
  }

  hasType(key: string, code: number): boolean {
    const n = this.node(key);
    return n >= 0 && this.typeAt(n, code) !== NONE;
  }

  /** The owner of a DNAME at a proper ancestor of key, if any (RFC 6672 §2.3: names below it are redirected). */
  dnameAbove(key: string): string | undefined {
    let p = key;
    while (p !== this.b.originKey && p !== '.') {
      p = parentName(p);
      if (!isAtOrBelow(p, this.b.originKey)) return undefined;
      const n = this.node(p);
      if (n < 0) continue;
      const d = this.typeAt(n, T.DNAME);
      if (d !== NONE) return this.b.nodes.ownerOf(n, d);
    }
    return undefined;
  }

  hasAddress(key: string): boolean {
    let n = this.node(key);
    if (n < 0) n = this.wildcard(key);
    return n >= 0 && (this.typeAt(n, T.A) !== NONE || this.typeAt(n, T.AAAA) !== NONE);
  }

  private wildcard(key: string): number {
    let p = parentName(key);
    while (isAtOrBelow(p, this.b.originKey)) {
      const w = this.node(p === '.' ? '*' : '*.' + p);
      if (w >= 0) return w;
      if (this.node(p) >= 0 || p === '.') return -1;
      p = parentName(p);
    }
    return -1;
  }
}
