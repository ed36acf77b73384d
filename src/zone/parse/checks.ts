/** Checks of a whole zone after loading, as named-checkzone's integrity checks do them. */

import type { DiagnosticSink } from './diagnostics.js';
import { isAtOrBelow, nameKey, parentName, presentName } from '../names.js';
import { rdataWireLength, recordRdata } from '../rdata/rdata.js';
import { T } from '../rdata/rrtypes.js';
import { recordTypeCode, rrsets, type ZoneBuilder, type ZoneRecord } from './zone.js';

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
  for (const { record, at } of b.apexNs) {
    const target = record.data as string;
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
  for (const [key, records] of b.nodes) {
    for (const r of records) {
      const type = r.type;
      if (type === 'NS' && key !== b.originKey) delegationTarget(look, sink, file, key, r);
      else if (type === 'MX') serviceTarget(look, sink, file, r, 'MX', (r.data as { exchange: string }).exchange);
      else if (type === 'SRV') serviceTarget(look, sink, file, r, 'SRV', (r.data as { target: string }).target);
    }
  }
}

/**
 * The most RDATA (with each record's 2-octet length) BIND accepts in one
 * RRset, found by bisection against named-checkzone 9.18 ("ran out of
 * space"). An RRset must fit in one DNS message of 65535 octets anyway.
 */
const MAX_RRSET_RDATA = 65511;

/** Octets of a record's RDATA on the wire. */
function rdataLength(r: ZoneRecord): number {
  const n = rdataWireLength(r);
  return n >= 0 ? n : recordRdata(r).length;
}

/** Records of these types are at most this long, so small RRsets of them need no sum. */
const BOUNDED: Record<string, number> = { A: 4, AAAA: 16, NS: 255, CNAME: 255, PTR: 255, DNAME: 255, MX: 257, SRV: 261 };

/** RRsets too big for one message (and for BIND). */
function checkSizes(b: ZoneBuilder, sink: DiagnosticSink, file: string): void {
  for (const records of b.nodes.values()) {
    if (records.length === 1 && BOUNDED[records[0]!.type] !== undefined) continue;
    for (const set of rrsets(records)) {
      const bound = BOUNDED[set[0]!.type];
      if (bound !== undefined && set.length * (bound + 2) <= MAX_RRSET_RDATA) continue;
      let size = 0;
      for (const r of set) size += rdataLength(r) + 2;
      if (size > MAX_RRSET_RDATA) {
        sink.error(file, 0, 0, `the ${set[0]!.type} records at ${presentName(set[0]!.name)} hold ${size} octets of data; BIND refuses more than ${MAX_RRSET_RDATA} in one RRset, which must fit in one DNS message`);
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
  const apex = b.nodes.get(b.originKey) ?? [];
  const algorithms = new Set(apex.filter((r) => r.type === 'DNSKEY').map((r) => (r.data as { algorithm: number }).algorithm));
  for (const r of apex) {
    const at = r.type === 'CDS' ? 2 : r.type === 'CDNSKEY' ? 3 : -1;
    if (at < 0) continue;
    const wire = r.data as Buffer;
    const algorithm = wire.length > at ? wire[at]! : 0;
    if (algorithm !== 0 && !algorithms.has(algorithm)) {
      sink.error(file, 0, 0, `${r.type} at the apex names algorithm ${algorithm}, but no apex DNSKEY has it (RFC 7344 §4.1)`);
    }
  }
}

function delegationTarget(look: Lookup, sink: DiagnosticSink, file: string, key: string, r: ZoneRecord): void {
  const target = r.data as string;
  const tkey = nameKey(target);
  if (!isAtOrBelow(tkey, look.b.originKey)) return;
  const dname = look.dnameAbove(tkey);
  if (dname !== undefined) {
    sink.warning(file, 0, 0, `delegation ${presentName(r.name)}: name server ${presentName(target)} is below the DNAME at ${presentName(dname)}`);
    return;
  }
  if (look.hasAddress(tkey)) return;
  const glue = isAtOrBelow(tkey, key) ? 'glue ' : '';
  sink.warning(file, 0, 0, `delegation ${presentName(r.name)}: name server ${presentName(target)} has no ${glue}address records (A or AAAA)`);
}

function serviceTarget(look: Lookup, sink: DiagnosticSink, file: string, r: ZoneRecord, what: string, target: string): void {
  if (target === '.') return;
  const tkey = nameKey(target);
  if (!isAtOrBelow(tkey, look.b.originKey)) return;
  if (look.hasType(tkey, T.CNAME)) {
    sink.warning(file, 0, 0, `${what} target ${presentName(target)} of ${presentName(r.name)} is a CNAME (RFC 2181 §10.3)`);
  } else if (!look.hasAddress(tkey)) {
    sink.warning(file, 0, 0, `${what} target ${presentName(target)} of ${presentName(r.name)} has no address records (A or AAAA)`);
  }
}

/** Just enough lookup for the checks: exact names, then the wildcard below the nearest existing ancestor (RFC 4592 §3.3). */
class Lookup {
  constructor(readonly b: ZoneBuilder) {}

  hasType(key: string, code: number): boolean {
    const node = this.b.nodes.get(key);
    return node !== undefined && node.some((r) => recordTypeCode(r) === code);
  }

  /** The owner of a DNAME at a proper ancestor of key, if any (RFC 6672 §2.3: names below it are redirected). */
  dnameAbove(key: string): string | undefined {
    let p = key;
    while (p !== this.b.originKey && p !== '.') {
      p = parentName(p);
      if (!isAtOrBelow(p, this.b.originKey)) return undefined;
      const d = this.b.nodes.get(p)?.find((r) => r.type === 'DNAME');
      if (d !== undefined) return d.name;
    }
    return undefined;
  }

  hasAddress(key: string): boolean {
    const node = this.b.nodes.get(key) ?? this.wildcard(key);
    return node !== undefined && node.some((r) => r.type === 'A' || r.type === 'AAAA');
  }

  private wildcard(key: string): ZoneRecord[] | undefined {
    let p = parentName(key);
    while (isAtOrBelow(p, this.b.originKey)) {
      const w = this.b.nodes.get(p === '.' ? '*' : '*.' + p);
      if (w !== undefined) return w;
      if (this.b.nodes.has(p) || p === '.') return undefined;
      p = parentName(p);
    }
    return undefined;
  }
}
