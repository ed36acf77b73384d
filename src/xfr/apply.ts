/** An incremental transfer in (RFC 1995) applied to the records a secondary serves: the zone's records after every version's deletions and additions, or why they do not apply. Pure. */

import { lowerName } from '../dns/ascii.js';
import { canonicalRdata } from '../zone/rdata/rdata.js';
import type { JournalVersion } from './journal.js';
import { forEachRecord, RecordArena, type WireRecordAt } from './records.js';
import { compareSerial } from './serial.js';

/** A zone's records as uncompressed wire records back to back, the apex SOA apart. */
export interface ZoneRecords {
  /** The SOA record (one uncompressed wire record). */
  soa: Uint8Array;
  records: Uint8Array;
  count: number;
}

/** The records after the change, or why the change cannot be applied (the caller transfers the whole zone instead). */
export type ApplyOutcome = { kind: 'ok'; zone: ZoneRecords; deleted: number; added: number } | { kind: 'error'; why: string };

/**
 * A record's identity (RFC 2181 §5: owner, type, class and RDATA; the TTL
 * is not part of it): the owner lower-cased (RFC 4343) and the RDATA in
 * canonical form (RFC 4034 §6.2, names lower-cased where the type's names
 * are), as a latin1 string.
 */
export function recordIdentity(region: Uint8Array, r: WireRecordAt): string {
  const ownerLength = r.nameEnd - r.ownerAt;
  const owner = Buffer.allocUnsafe(ownerLength);
  lowerName(region, r.ownerAt, ownerLength, owner, 0);
  const rdata = Buffer.from(region.buffer, region.byteOffset + r.dataAt + 2, r.end - r.dataAt - 2);
  const head = Buffer.from([r.type >> 8, r.type & 0xff, r.klass >> 8, r.klass & 0xff]);
  return owner.toString('latin1') + head.toString('latin1') + canonicalRdata(r.type, rdata).toString('latin1');
}

/**
 * Applies the versions, in order, to `base` (RFC 1995 §4: per version, the
 * deletions then the additions). The first version must start at the base's
 * serial and each the next one's end; a deletion of a record the zone does
 * not hold means the two sides disagree about the zone (Knot refuses such a
 * changeset too), so nothing is applied and the caller falls back to AXFR.
 * An addition of a record already there replaces it (its TTL may differ).
 */
/** One record added by an IXFR: where it is, and its identity. */
export interface AddedRecord {
  id: string;
  region: Uint8Array;
  r: WireRecordAt;
}

/**
 * What the versions do, net (RFC 1995 §4: per version, the deletions then
 * the additions): the identities of the base's records removed, and the
 * records added (a record added again replaces the earlier copy, keeping
 * its place; one added and later deleted is neither). The first version
 * must start at `baseSerial` and each the next one's end; a record deleted
 * twice without being added between is an error. Whether each removed
 * record is in the base is for the caller to check.
 */
export type NetChange =
  | { kind: 'ok'; removed: Set<string>; added: Map<string, AddedRecord>; deleted: number; addedCount: number; why: Map<string, string> }
  | { kind: 'error'; why: string };

/** The versions' net change to a zone at `baseSerial` (see {@link NetChange}). */
export function netChange(baseSerial: number, versions: readonly JournalVersion[], serving = 'we serve'): NetChange {
  if (versions.length === 0) return { kind: 'error', why: 'the incremental transfer holds no version' };
  if (compareSerial(versions[0]!.from, baseSerial) !== 0) return { kind: 'error', why: `the incremental transfer starts at serial ${versions[0]!.from}, but ${serving} serial ${baseSerial}` };
  const removed = new Set<string>();
  const added = new Map<string, AddedRecord>();
  // Why each removed record must be in the base (the first such reason is the error when one is not).
  const why = new Map<string, string>();
  let deleted = 0;
  let addedCount = 0;
  let serial = baseSerial;
  let problem: string | null = null;
  for (const [i, v] of versions.entries()) {
    if (compareSerial(v.from, serial) !== 0) return { kind: 'error', why: `version ${i + 1} starts at serial ${v.from}, not at ${serial} where the one before ended` };
    serial = v.to;
    forEachRecord(v.deleted, (r) => {
      const id = recordIdentity(v.deleted, r);
      deleted++;
      if (added.delete(id)) return;
      if (removed.has(id)) {
        problem ??= `version ${i + 1} (serial ${v.from} → ${v.to}) deletes a record an earlier version already deleted`;
        return;
      }
      removed.add(id);
      why.set(id, `version ${i + 1} (serial ${v.from} → ${v.to}) deletes a record this zone does not hold`);
    });
    if (problem !== null) return { kind: 'error', why: problem };
    forEachRecord(v.added, (r) => {
      addedCount++;
      const id = recordIdentity(v.added, r);
      added.set(id, { id, region: v.added, r });
    });
  }
  return { kind: 'ok', removed, added, deleted, addedCount, why };
}

export function applyVersions(base: ZoneRecords, baseSerial: number, versions: readonly JournalVersion[]): ApplyOutcome {
  const net = netChange(baseSerial, versions);
  if (net.kind === 'error') return net;
  const { removed, added } = net;
  const mustExist = net.why;
  const out = new RecordArena();
  let found = 0;
  forEachRecord(base.records, (r) => {
    const id = removed.size > 0 || added.size > 0 ? recordIdentity(base.records, r) : '';
    if (removed.has(id)) {
      found++;
      mustExist.delete(id);
      return;
    }
    // Added again with the same identity: the added copy (its TTL) wins, written below.
    if (added.has(id)) return;
    out.push(base.records, r.ownerAt, r.nameEnd - r.ownerAt, r.type, r.ttl, base.records, r.dataAt);
  });
  // Deletions of the apex SOA never reach here (a version's SOA records are apart), nor do deletions matched above.
  if (found < removed.size) {
    const why = [...mustExist.values()][0] ?? 'a deleted record is not in the zone';
    return { kind: 'error', why };
  }
  for (const { region, r: at } of added.values()) out.push(region, at.ownerAt, at.nameEnd - at.ownerAt, at.type, at.ttl, region, at.dataAt);
  const last = versions[versions.length - 1]!;
  return { kind: 'ok', zone: { soa: last.newSoa, records: out.take(), count: out.count }, deleted: net.deleted, added: net.addedCount };
}
