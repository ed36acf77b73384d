/** A transferred zone written as a zone file (RFC 1035 §5): what a secondary keeps in its state directory and builds its image from. Pure. */

import { presentLabels } from '../zone/names.js';
import { printRdata, genericText } from '../zone/rdata/rdata.js';
import { typeMnemonic } from '../zone/rdata/rrtypes.js';
import { forEachRecord } from './records.js';
import type { ZoneRecords } from './apply.js';

/** The name at `bytes[at]` (uncompressed wire form) in presentation form, absolute. */
export function wireNameText(bytes: Uint8Array, at: number): string {
  const labels: Uint8Array[] = [];
  while (bytes[at] !== 0) {
    const len = bytes[at]!;
    labels.push(bytes.subarray(at + 1, at + 1 + len));
    at += len + 1;
  }
  return presentLabels(labels);
}

/**
 * The zone as master-file text: a comment saying where it came from, then
 * the SOA and every record on a line of its own, with absolute names, the
 * TTL and the class written out (no $ORIGIN or $TTL to get wrong), names in
 * the case they were transferred in. RDATA is printed as BIND prints it;
 * RDATA a known type's layout cannot read (a primary that sent something
 * odd) is written in RFC 3597 §5 generic form, so the parser, not this
 * writer, decides whether it is acceptable, and says where.
 */
export function zoneText(zone: ZoneRecords, header: readonly string[]): Buffer {
  const lines: string[] = header.map((h) => `; ${h}`);
  const line = (region: Uint8Array) =>
    forEachRecord(region, (r) => {
      const rdata = Buffer.from(region.buffer, region.byteOffset + r.dataAt + 2, r.end - r.dataAt - 2);
      let text: string;
      try {
        text = printRdata(r.type, rdata);
      } catch {
        text = genericText(rdata);
      }
      lines.push(`${wireNameText(region, r.ownerAt)}\t${r.ttl}\tIN\t${typeMnemonic(r.type)}\t${text}`);
    });
  line(zone.soa);
  line(zone.records);
  lines.push('');
  return Buffer.from(lines.join('\n'), 'utf8');
}
