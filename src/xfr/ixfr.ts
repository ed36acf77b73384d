/** IXFR out (RFC 1995): the client's serial read from its query, what to send (the SOA alone, the journal's versions, or the whole zone), and the incremental records as a cursor. Pure. */

import { skipName } from '../dns/query.js';
import type { ZoneImage } from '../zone/image/image.js';
import type { MessageWriter } from './packer.js';
import type { RecordCursor } from './axfr.js';
import { chainFrom, soaRecord, type Journal, type JournalVersion } from './journal.js';
import { compareSerial } from './serial.js';

/** SOA's type. */
const SOA = 6;

/**
 * The serial of the SOA an IXFR query carries in its authority section
 * (RFC 1995 §3), or -1 when there is none: the query is then FORMERR, as
 * NSD answers it. Names may be compressed; the SOA's owner is not checked
 * against the question (NSD does not either).
 */
export function ixfrQuerySerial(query: Uint8Array): number {
  const u16 = (at: number): number => (query[at]! << 8) | query[at + 1]!;
  if (query.length < 12 || u16(4) !== 1) return -1;
  let at = skipName(query, 12);
  if (at < 0 || at + 4 > query.length) return -1;
  at += 4;
  for (let i = u16(6); i > 0; i--) {
    at = skipName(query, at);
    if (at < 0 || at + 10 > query.length) return -1;
    at += 10 + u16(at + 8);
  }
  for (let i = u16(8); i > 0; i--) {
    at = skipName(query, at);
    if (at < 0 || at + 10 > query.length) return -1;
    const type = u16(at);
    const rdEnd = at + 10 + u16(at + 8);
    if (rdEnd > query.length) return -1;
    if (type === SOA) {
      let r = skipName(query, at + 10);
      if (r >= 0) r = skipName(query, r);
      if (r < 0 || r + 20 > rdEnd) return -1;
      return ((query[r]! << 24) | (query[r + 1]! << 16) | (query[r + 2]! << 8) | query[r + 3]!) >>> 0;
    }
    at = rdEnd;
  }
  return -1;
}

/**
 * What an IXFR for serial `from` gets (RFC 1995 §4): `current` (the client
 * is as new as we are, or newer: our SOA alone), `incremental` (the
 * journal's versions from its serial on), or `full` (the journal cannot
 * serve it: the whole zone, as an AXFR but for the question's type).
 */
export type IxfrPlan = { kind: 'current' } | { kind: 'incremental'; versions: JournalVersion[] } | { kind: 'full' };

/** Plans the reply to an IXFR from serial `from` for the zone of `image`, with its journal (null: none). */
export function planIxfr(image: ZoneImage, from: number, journal: Journal | null): IxfrPlan {
  if (compareSerial(from, image.serial) >= 0) return { kind: 'current' };
  const versions = chainFrom(journal, from, image);
  return versions === null ? { kind: 'full' } : { kind: 'incremental', versions };
}

/**
 * Uncompressed wire records sent in order from a list of regions (each
 * holding records back to back): the journal's, and SOA records.
 */
export class WireCursor implements RecordCursor {
  private region = 0;
  private at = 0;

  constructor(private readonly regions: readonly Uint8Array[]) {}

  fill(w: MessageWriter): boolean {
    while (this.region < this.regions.length) {
      const r = this.regions[this.region]!;
      if (this.at >= r.length) {
        this.region++;
        this.at = 0;
        continue;
      }
      const nameEnd = plainNameEnd(r, this.at);
      const type = (r[nameEnd]! << 8) | r[nameEnd + 1]!;
      const klass = (r[nameEnd + 2]! << 8) | r[nameEnd + 3]!;
      const ttl = ((r[nameEnd + 4]! << 24) | (r[nameEnd + 5]! << 16) | (r[nameEnd + 6]! << 8) | r[nameEnd + 7]!) >>> 0;
      if (!w.add(r, this.at, type, klass, ttl, r, nameEnd + 8)) return false;
      this.at = nameEnd + 10 + ((r[nameEnd + 8]! << 8) | r[nameEnd + 9]!);
    }
    return true;
  }
}

/**
 * The records of an incremental reply (RFC 1995 §4): our SOA (`current`),
 * then per version the old SOA, the deleted records, the new SOA and the
 * added ones, and our SOA again last.
 */
export function incrementalCursor(versions: readonly JournalVersion[], current: Uint8Array): WireCursor {
  return new WireCursor([current, ...versions.flatMap((v) => [v.oldSoa, v.deleted, v.newSoa, v.added]), current]);
}

/** The one-record reply: our SOA (a client that is current, or an IXFR over UDP that did not fit). */
export function soaCursor(image: ZoneImage): WireCursor {
  return new WireCursor([soaRecord(image)]);
}


/** Where the uncompressed name at `r[at]` ends (one past its zero octet). */
function plainNameEnd(r: Uint8Array, at: number): number {
  while (r[at] !== 0) at += r[at]! + 1;
  return at + 1;
}
