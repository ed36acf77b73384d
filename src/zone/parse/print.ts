/** The canonical text of a zone: one RR a line, laid out as `named-checkzone -D` prints it. */

import { canonicalSortKey, presentName } from '../names.js';
import { canonicalRdata, printRdata, recordRdata } from '../rdata/rdata.js';
import { quote } from '../rdata/rdata-fields.js';
import { T, typeMnemonic } from '../rdata/rrtypes.js';
import { coveredType, recordTypeCode, rrsetKey, rrsets, type Zone, type ZoneRecord } from './zone.js';

/*
 * Order and layout follow BIND 9's masterdump "full" style, so the output can
 * be compared line by line with `named-checkzone -D -o - ORIGIN FILE`:
 * names in canonical order (RFC 4034 §6.1); at a name the SOA first, then
 * NS, then types by number, each RRSIG right after the type it covers; records of an
 * RRset in canonical RDATA order (RFC 4034 §6.3). Columns: owner, TTL, class
 * and type each start at column 46 or one blank after the previous field,
 * RDATA at column 64, padded with tabs of 8 then spaces. BIND's comment lines
 * (`; resign=…` after RRSIGs) are not printed.
 */

const FIELD_COLUMN = 46;
const RDATA_COLUMN = 64;
const TAB = 8;

/** Pads from column `from` to `to` (at least one blank) the way BIND's dump does. */
function pad(from: number, to: number): [string, number] {
  if (to < from + 1) to = from + 1;
  const tabs = Math.floor(to / TAB) - Math.floor(from / TAB);
  const text = tabs > 0 ? '\t'.repeat(tabs) + ' '.repeat(to % TAB) : ' '.repeat(to - from);
  return [text, to];
}

/** One record in BIND's dump layout, without the newline. */
export function printRecord(r: ZoneRecord): string {
  const code = recordTypeCode(r);
  return formatLine(presentName(r.name), r.ttl, typeMnemonic(code), rdataText(code, r));
}

function formatLine(owner: string, ttl: number, type: string, rdata: string): string {
  let line = owner;
  let col = owner.length;
  let p = pad(col, FIELD_COLUMN);
  const ttlText = String(ttl);
  line += p[0] + ttlText;
  col = p[1] + ttlText.length;
  p = pad(col, FIELD_COLUMN);
  line += p[0] + 'IN';
  col = p[1] + 2;
  p = pad(col, FIELD_COLUMN);
  line += p[0] + type;
  col = p[1] + type.length;
  p = pad(col, RDATA_COLUMN);
  return line + p[0] + rdata;
}

/** Where an RRset goes among those of its name: SOA, NS, then by type, RRSIG after its type. */
function setOrder(setKey: number): number {
  const covered = coveredType(setKey);
  const code = setKey % 0x10000;
  const base = covered >= 0 ? covered : code;
  const rank = base === T.SOA ? 0 : base === T.NS ? 1 : base + 2;
  return rank * 4 + (covered < 0 ? 0 : code === T.RRSIG ? 1 : 2);
}

/**
 * The zone in canonical text, one record a line, each line ending in a
 * newline. NSEC3 records (and their RRSIGs) come last, sorted among
 * themselves, because BIND keeps them in a separate tree (RFC 5155 §7.1:
 * hashed names are not part of the ordinary namespace).
 */
export function printZone(zone: Zone): string {
  const nodes: { key: string; records: ZoneRecord[] }[] = [];
  for (const [name, records] of zone.nodes) nodes.push({ key: canonicalSortKey(name), records });
  nodes.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  const main: string[] = [];
  const nsec3: string[] = [];
  for (const { records } of nodes) {
    if (records.length === 1) {
      const code = recordTypeCode(records[0]!);
      printSet(records, code === T.NSEC3 ? nsec3 : main);
      continue;
    }
    const sets = rrsets(records).map((set) => ({ set, setKey: rrsetKey(recordTypeCode(set[0]!), set[0]!.data) }));
    sets.sort((a, b) => setOrder(a.setKey) - setOrder(b.setKey));
    for (const { set, setKey } of sets) {
      const out = setKey === T.NSEC3 || coveredType(setKey) === T.NSEC3 ? nsec3 : main;
      printSet(set, out);
    }
  }
  if (main.length + nsec3.length === 0) return '';
  return main.join('\n') + '\n' + (nsec3.length > 0 ? nsec3.join('\n') + '\n' : '');
}

function printSet(set: ZoneRecord[], out: string[]): void {
  const code = recordTypeCode(set[0]!);
  const owner = presentName(set[0]!.name);
  const type = typeMnemonic(code);
  if (set.length === 1) {
    out.push(formatLine(owner, set[0]!.ttl, type, rdataText(code, set[0]!)));
    return;
  }
  const rows = set.map((r) => ({ r, canon: canonicalRdata(code, recordRdata(r)) }));
  rows.sort((a, b) => Buffer.compare(a.canon, b.canon));
  for (const { r } of rows) out.push(formatLine(owner, r.ttl, type, rdataText(code, r)));
}

/** RDATA text straight from the data of the commonest types; through wire form for the rest. */
function rdataText(code: number, r: ZoneRecord): string {
  const d = r.data;
  switch (code) {
    case T.A:
      return d as string;
    case T.NS:
    case T.CNAME:
    case T.PTR:
    case T.DNAME:
      return presentName(d as string);
    case T.MX: {
      const mx = d as { preference: number; exchange: string };
      return `${mx.preference} ${presentName(mx.exchange)}`;
    }
    case T.TXT:
      return (d as Buffer[]).map(quote).join(' ');
  }
  return printRdata(code, recordRdata(r));
}
