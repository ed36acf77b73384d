/** Checks of a whole zone after loading, as named-checkzone's integrity checks do them. */

import type { DiagnosticSink } from './diagnostics.js';
import { isAtOrBelow, nameKey, parentName, presentName } from './names.js';
import { T } from './rrtypes.js';
import { recordTypeCode, type ZoneBuilder, type ZoneRecord } from './zone.js';

/**
 * Reports what makes a zone unusable: no SOA or no NS at the apex (RFC 1035
 * §5.2, RFC 1034 §4.2.1), and apex NS targets inside the zone that have no
 * address or are a CNAME (RFC 2181 §10.3); BIND refuses such zones too.
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
  if (!clean) return;
  const look = new Lookup(b);
  for (const { record, at } of b.apexNs) {
    const target = record.data as string;
    const key = nameKey(target);
    if (!isAtOrBelow(key, b.originKey)) continue;
    if (look.hasType(key, T.CNAME)) {
      sink.error(at.file, at.line, at.col, `NS target ${presentName(target)} is a CNAME, which RFC 2181 §10.3 forbids`);
    } else if (!look.hasAddress(key)) {
      sink.error(at.file, at.line, at.col, `NS target ${presentName(target)} has no address records (A or AAAA) in the zone`);
    }
  }
  for (const [key, records] of b.nodes) {
    for (const r of records) {
      const type = r.type;
      if (type === 'NS' && key !== b.originKey) delegationTarget(look, sink, file, key, r);
      else if (type === 'MX') serviceTarget(look, sink, file, r, 'MX', (r.data as { exchange: string }).exchange);
      else if (type === 'SRV') serviceTarget(look, sink, file, r, 'SRV', (r.data as { target: string }).target);
    }
  }
}

function delegationTarget(look: Lookup, sink: DiagnosticSink, file: string, key: string, r: ZoneRecord): void {
  const target = r.data as string;
  const tkey = nameKey(target);
  if (!isAtOrBelow(tkey, look.b.originKey) || look.hasAddress(tkey)) return;
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
