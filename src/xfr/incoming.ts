/**
 * Transfers in, the reading side (RFC 5936 AXFR, RFC 1995 IXFR): the
 * response messages of one transfer checked one by one, every record decoded
 * to uncompressed wire form (octets, case kept), and the whole validated and
 * assembled into the zone, the chain of changes, or "up to date"; and the
 * reply to an SOA query. Pure: the caller (transfer-in.ts) owns the sockets.
 */

import { skipName } from '../dns/query.js';
import { lowerOctet } from '../dns/ascii.js';
import { copyName, MAX_NAME } from '../auth/wire-name.js';
import { escapeLabel } from '../zone/names.js';
import { classMnemonic, isMetaType, typeMnemonic } from '../zone/rdata/rrtypes.js';
import type { JournalVersion } from './journal.js';
import { compareSerial } from './serial.js';

/** Types, classes and header fields read here. */
const SOA = 6;
const OPT = 41;
const IXFR = 251;
const AXFR = 252;
const IN = 1;
const HEADER = 12;
/**
 * Room for one decoded record: owner, fixed fields, RDATA of up to 65535
 * octets on the wire, plus what two decompressed names may add to it (the
 * most a layout has), so an over-long result is measured, not written past
 * the end.
 */
const SCRATCH = MAX_NAME + 10 + 0xffff + 2 * MAX_NAME;
/** RCODEs a caller acts on. */
export const RCODE = { NOERROR: 0, FORMERR: 1, SERVFAIL: 2, NXDOMAIN: 3, NOTIMP: 4, REFUSED: 5, NOTAUTH: 9, NOTZONE: 10 } as const;

/** What each RCODE is called, and what a person may do about it when a primary answers it to a transfer or SOA query. */
const RCODES: Record<number, [string, string]> = {
  1: ['FORMERR', 'the primary could not read the query; for IXFR, try AXFR (RFC 1995 §4)'],
  2: ['SERVFAIL', 'the primary has no usable copy of the zone (is it loaded there?)'],
  3: ['NXDOMAIN', 'the primary does not know the zone name'],
  4: ['NOTIMP', 'the primary does not do this kind of transfer; for IXFR, try AXFR (RFC 1995 §4)'],
  5: ['REFUSED', 'the primary does not allow us to transfer the zone (its ACL, or the key)'],
  9: ['NOTAUTH', 'the primary is not authoritative for the zone, or refused the TSIG key'],
  10: ['NOTZONE', 'the name is not in a zone of the primary'],
};

/**
 * The name of an RCODE with a hint (`REFUSED: the primary does not allow
 * us…`), `RCODE 12` for one without a name.
 */
export function describeRcode(rcode: number): string {
  const known = RCODES[rcode];
  return known === undefined ? `RCODE ${rcode}` : `${known[0]} (${known[1]})`;
}

/** The RCODE in a message's header (its low four bits; an extended one needs the OPT record), or -1 when it is shorter than a header. */
export function headerRcode(msg: Uint8Array): number {
  return msg.length < HEADER ? -1 : msg[3]! & 0x0f;
}

/** One transfer as it was asked for: what the responses must match. */
export interface TransferQuery {
  /** The zone's origin, lower-cased uncompressed wire name. */
  origin: Uint8Array;
  qtype: 'axfr' | 'ixfr';
  /** For IXFR: the serial we hold (the one in our query's SOA, RFC 1995 §3); the changes must start there. */
  serial?: number;
  /** The query's message ID (RFC 5936 §2.2.1: every response message carries it). */
  id: number;
}

/** How much a transfer may bring, so a hostile or broken primary cannot exhaust our memory. */
export interface TransferLimits {
  /** Records at most, SOAs included. */
  maxRecords: number;
  /** Octets of records at most, in uncompressed wire form (what we keep). */
  maxBytes: number;
}

/** The default limits: 5 million records, 512 MiB (twice the largest zones tested here). */
export const TRANSFER_LIMITS: TransferLimits = { maxRecords: 5_000_000, maxBytes: 512 * 1024 * 1024 };

/**
 * What a transfer brought. `axfr`: the whole zone (an AXFR, or an IXFR
 * answered in AXFR form, RFC 1995 §4), its SOA apart and the closing SOA
 * dropped; every record uncompressed wire form (owner, type, class, TTL,
 * RDLENGTH, RDATA) back to back. `ixfr`: the changes, oldest first, each as
 * the journal keeps them (RFC 1995 §4). `current`: an IXFR answered with
 * the primary's SOA alone (RFC 1995 §4: we are up to date), with that SOA.
 */
export type TransferResult =
  | { kind: 'axfr'; serial: number; soa: Uint8Array; records: Uint8Array; count: number }
  | { kind: 'ixfr'; versions: JournalVersion[] }
  | { kind: 'current'; serial: number; soa: Uint8Array };

/**
 * A transfer's failure: what went wrong and where. `rcode`: the primary
 * answered this RCODE (the caller falls back from IXFR to AXFR on NOTIMP
 * or FORMERR, RFC 1995 §4).
 */
export interface TransferError {
  kind: 'error';
  why: string;
  rcode?: number;
}

/** After one message: more to come, the transfer complete, or failed. */
export type TransferStep = { kind: 'more' } | { kind: 'done'; result: TransferResult } | TransferError;

/** A record just read: where its owner name and type are in the reader's scratch. */
interface Decoded {
  /** Octets of the record in scratch (uncompressed). */
  length: number;
  ownerLength: number;
  type: number;
}

/**
 * Reads the response messages of one transfer, in order (RFC 5936 §2.2,
 * RFC 1995 §4). Each message is checked (ID, QR, opcode, RCODE, TC, the
 * question), its answer records decoded to uncompressed wire form and put
 * where they belong: the zone (AXFR form), or a version's deletions or
 * additions (IXFR form, told apart by the second record, as RFC 1995 §4
 * does). Every owner must be at or below the origin, every class IN; the
 * versions must chain (RFC 1982 serials); the transfer ends with the SOA it
 * began with, and nothing may follow it. Holds no global state: one reader
 * per transfer.
 */
export class TransferReader {
  private readonly scratch = new Uint8Array(SCRATCH);
  private count = 0;
  private octets = 0;
  private message = 0;
  private ended = false;
  /** Why the transfer failed, once it has. */
  private failed: string | null = null;
  /** Where the transfer is. */
  private state: 'first' | 'second' | 'zone' | 'deleted' | 'added' = 'first';
  private serial = 0;
  private soa: Uint8Array = new Uint8Array(0);
  private readonly zone = new Region();
  private readonly versions: JournalVersion[] = [];
  /** The version being read (IXFR form). */
  private from = 0;
  private to = 0;
  private oldSoa: Uint8Array = new Uint8Array(0);
  private newSoa: Uint8Array = new Uint8Array(0);
  private deleted = new Region();
  private added = new Region();

  constructor(
    private readonly query: TransferQuery,
    private readonly limits: TransferLimits = TRANSFER_LIMITS,
  ) {}

  /** Messages read so far. */
  get messages(): number {
    return this.message;
  }

  /** Records read so far. */
  get records(): number {
    return this.count;
  }

  /**
   * Where the transfer stands, for a caller whose stream ended early:
   * `after 3 messages (1200 records), before the closing SOA`.
   */
  describeProgress(): string {
    if (this.message === 0) return 'before the first message';
    const where = `after ${this.message} message${this.message === 1 ? '' : 's'} (${this.count} record${this.count === 1 ? '' : 's'})`;
    if (this.failed !== null) return `${where}, failed`;
    return this.ended ? `${where}, after the closing SOA` : `${where}, before the closing SOA`;
  }

  /** Reads the next message of the transfer. */
  push(msg: Uint8Array): TransferStep {
    const n = ++this.message;
    if (this.failed !== null) return { kind: 'error', why: `message ${n}: the transfer already failed: ${this.failed}` };
    if (this.ended) return this.fail(`message ${n}: a message after the transfer ended (the closing SOA was in message ${n - 1})`);
    const head = checkHeader(msg, this.query.id, `message ${n}`);
    if (head !== null) return this.fail(head.why, head.rcode);
    if ((msg[2]! & 0x02) !== 0) return this.fail(`message ${n}: TC set; a transfer over TCP is never truncated (RFC 5936 §2.2.1)`);
    const u16 = (at: number): number => (msg[at]! << 8) | msg[at + 1]!;
    const qdcount = u16(4);
    const ancount = u16(6);
    const others = u16(8) + u16(10);
    // RFC 5936 §2.2.1: the first message carries the question; later ones may (the same one).
    if (qdcount > 1) return this.fail(`message ${n}: ${qdcount} questions, a transfer response has at most one`);
    if (qdcount === 0 && n === 1) return this.fail('message 1: no question section; the first message of a transfer must repeat the question (RFC 5936 §2.2.1)');
    let at = HEADER;
    if (qdcount === 1) {
      const q = checkQuestion(msg, at, this.query.origin, this.query.qtype === 'axfr' ? AXFR : IXFR);
      if (typeof q === 'string') return this.fail(`message ${n}: ${q}`);
      at = q;
    }
    if (n === 1 && ancount === 0) return this.fail(`message 1: NOERROR but no records${this.query.qtype === 'ixfr' ? ' (the primary may not do IXFR; try AXFR)' : ''}`);
    for (let i = 1; i <= ancount; i++) {
      const where = `message ${n}, record ${i}`;
      if (this.ended) return this.fail(`${where}: a record after the closing SOA (RFC 5936 §2.2)`);
      const rec = decodeRecord(msg, at, this.scratch);
      if (typeof rec.error === 'string') return this.fail(`${where}: ${rec.error}`);
      at = rec.end;
      const d = rec.decoded;
      const bad = this.checkRecord(d);
      if (bad !== null) return this.fail(`${where}: ${bad}`);
      if (++this.count > this.limits.maxRecords) return this.fail(`${where}: more than ${this.limits.maxRecords} records, the limit for one transfer (raise it if the zone is really this big)`);
      this.octets += d.length;
      if (this.octets > this.limits.maxBytes) return this.fail(`${where}: more than ${this.limits.maxBytes} octets of records, the limit for one transfer (raise it if the zone is really this big)`);
      const step = this.take(d);
      if (step !== null) return this.fail(`${where}: ${step}`);
    }
    // The rest of the message must parse (its OPT may carry an extended RCODE; TSIG was the caller's).
    const tail = checkRest(msg, at, others);
    if (tail !== null) return this.fail(`message ${n}: ${tail}`);
    if (this.ended) return { kind: 'done', result: this.result() };
    if (this.state === 'second' && this.query.qtype === 'ixfr' && n === 1 && ancount === 1) {
      // RFC 1995 §4: the primary's SOA alone. Not newer than ours: up to date. Newer: wait for what follows.
      if (this.query.serial === undefined || compareSerial(this.serial, this.query.serial) <= 0) {
        this.ended = true;
        return { kind: 'done', result: { kind: 'current', serial: this.serial, soa: this.soa } };
      }
    }
    return { kind: 'more' };
  }

  /** The owner, class and type rules every record of a zone obeys; null when it does. */
  private checkRecord(d: Decoded): string | null {
    const s = this.scratch;
    const klass = (s[d.ownerLength + 2]! << 8) | s[d.ownerLength + 3]!;
    const owner = (): string => wireToText(s, 0);
    if (!atOrBelow(s, d.ownerLength, this.query.origin)) return `${owner()} ${typeMnemonic(d.type)} is outside the zone ${wireToText(this.query.origin, 0)}; out-of-zone data is refused`;
    if (klass !== IN) return `${owner()} ${typeMnemonic(d.type)} is of class ${classMnemonic(klass)}; only IN zones are transferred`;
    if (isMetaType(d.type)) return `${owner()} has type ${typeMnemonic(d.type)}, which cannot be zone data`;
    if (d.type === SOA && d.ownerLength !== this.query.origin.length) return `an SOA record at ${owner()}, below the origin ${wireToText(this.query.origin, 0)}`;
    return null;
  }

  /** Puts the record in scratch where it belongs; a reason when it breaks the transfer's shape. */
  private take(d: Decoded): string | null {
    const record = (): Uint8Array => this.scratch.slice(0, d.length);
    const isSoa = d.type === SOA;
    const serial = isSoa ? soaSerialAt(this.scratch, d.ownerLength) : 0;
    switch (this.state) {
      case 'first':
        if (!isSoa) return `the first record is ${wireToText(this.scratch, 0)} ${typeMnemonic(d.type)}, not the zone's SOA (RFC 5936 §2.2)`;
        this.soa = record();
        this.serial = serial;
        this.state = 'second';
        return null;
      case 'second':
        if (!isSoa) {
          // RFC 1995 §4: a second record that is not an SOA means the whole zone follows (AXFR form).
          this.state = 'zone';
          this.zone.append(this.scratch, d.length);
          return null;
        }
        if (serial === this.serial || this.query.qtype === 'axfr') return this.close(serial);
        // IXFR form: this SOA opens the first version, from the serial we hold.
        if (this.query.serial !== undefined && serial !== this.query.serial >>> 0) {
          return `the changes start at serial ${serial}, but we hold serial ${this.query.serial >>> 0} (RFC 1995 §4)`;
        }
        this.openVersion(serial, record());
        return null;
      case 'zone':
        if (isSoa) return this.close(serial);
        this.zone.append(this.scratch, d.length);
        return null;
      case 'deleted':
        if (!isSoa) {
          this.deleted.append(this.scratch, d.length);
          return null;
        }
        if (compareSerial(serial, this.from) <= 0) return `a change from serial ${this.from} to ${serial}, which is not newer (RFC 1982)`;
        this.to = serial;
        this.newSoa = record();
        this.state = 'added';
        return null;
      case 'added':
        if (!isSoa) {
          this.added.append(this.scratch, d.length);
          return null;
        }
        this.closeVersion();
        if (serial === this.serial && this.to === this.serial) return this.close(serial);
        if (serial !== this.to) return `the changes do not chain: one ends at serial ${this.to}, the next starts at ${serial}`;
        this.openVersion(serial, record());
        return null;
    }
  }

  /** The closing SOA: it must carry the first one's serial (RFC 5936 §2.2). */
  private close(serial: number): string | null {
    if (serial !== this.serial) return `the closing SOA has serial ${serial}, the first had ${this.serial} (the zone changed during the transfer?)`;
    this.ended = true;
    return null;
  }

  private openVersion(from: number, oldSoa: Uint8Array): void {
    this.from = from;
    this.oldSoa = oldSoa;
    this.deleted = new Region();
    this.added = new Region();
    this.state = 'deleted';
  }

  private closeVersion(): void {
    this.versions.push({
      from: this.from,
      to: this.to,
      oldSoa: this.oldSoa,
      newSoa: this.newSoa,
      deleted: this.deleted.take(),
      deletedCount: this.deleted.count,
      added: this.added.take(),
      addedCount: this.added.count,
    });
  }

  private result(): TransferResult {
    if (this.versions.length > 0) return { kind: 'ixfr', versions: this.versions };
    return { kind: 'axfr', serial: this.serial, soa: this.soa, records: this.zone.take(), count: this.zone.count };
  }

  private fail(why: string, rcode?: number): TransferError {
    this.failed = why;
    return rcode === undefined ? { kind: 'error', why } : { kind: 'error', why, rcode };
  }
}

/**
 * The reply to an SOA query (the refresh check, RFC 1034 §4.3.5): `ok`
 * with the serial and the SOA as one uncompressed wire record; `truncated`
 * (TC: ask again over TCP); `other` (not a reply to this query: another
 * ID, not a response, another question: ignore it and keep waiting, RFC
 * 5452 §9.1); `error` (the primary answered, but not with the SOA).
 */
export type SoaReply =
  | { kind: 'ok'; serial: number; soa: Uint8Array }
  | { kind: 'truncated' }
  | { kind: 'other'; why: string }
  | TransferError;

/** Reads the reply to our SOA query for `origin` (lower-cased wire name) with ID `id`. */
export function parseSoaReply(msg: Uint8Array, query: { origin: Uint8Array; id: number }): SoaReply {
  if (msg.length < HEADER) return { kind: 'other', why: `a reply of ${msg.length} octets, shorter than a DNS header` };
  const u16 = (at: number): number => (msg[at]! << 8) | msg[at + 1]!;
  if (u16(0) !== query.id) return { kind: 'other', why: `ID ${u16(0)}, the query's was ${query.id}` };
  if ((msg[2]! & 0x80) === 0) return { kind: 'other', why: 'not a response (QR clear)' };
  const rcode = msg[3]! & 0x0f;
  let q = HEADER;
  if (u16(4) === 1) {
    const end = checkQuestion(msg, HEADER, query.origin, SOA);
    if (typeof end === 'string') return { kind: 'other', why: end };
    q = end;
  } else if (u16(4) !== 0 || rcode === 0) {
    // An error may come without the question (NSD's TSIG errors do); anything else must repeat ours.
    return { kind: 'other', why: `${u16(4)} questions, not our one` };
  }
  const opcode = (msg[2]! >> 3) & 0x0f;
  if (opcode !== 0) return { kind: 'error', why: `the reply has opcode ${opcode}, not QUERY` };
  if ((msg[2]! & 0x02) !== 0) return { kind: 'truncated' };
  if (rcode !== 0) return { kind: 'error', why: `the primary answered ${describeRcode(rcode)}`, rcode };
  if ((msg[2]! & 0x04) === 0) return { kind: 'error', why: 'the reply is not authoritative (AA clear): the primary does not serve the zone' };
  const scratch = new Uint8Array(SCRATCH);
  let at = q;
  let found: SoaReply | null = null;
  for (let i = 1; i <= u16(6); i++) {
    const rec = decodeRecord(msg, at, scratch);
    if (typeof rec.error === 'string') return { kind: 'error', why: `answer record ${i}: ${rec.error}` };
    at = rec.end;
    const d = rec.decoded;
    const klass = (scratch[d.ownerLength + 2]! << 8) | scratch[d.ownerLength + 3]!;
    if (found === null && d.type === SOA && klass === IN && d.ownerLength === query.origin.length && atOrBelow(scratch, d.ownerLength, query.origin)) {
      found = { kind: 'ok', serial: soaSerialAt(scratch, d.ownerLength), soa: scratch.slice(0, d.length) };
    }
  }
  const tail = checkRest(msg, at, u16(8) + u16(10));
  if (tail !== null) return { kind: 'error', why: tail };
  return found ?? { kind: 'error', why: `the answer holds no SOA record for ${wireToText(query.origin, 0)}` };
}

/** The serial of an SOA record in uncompressed wire form (owner, type, class, TTL, RDLENGTH, RDATA). */
export function soaSerial(record: Uint8Array): number {
  let at = 0;
  while (record[at] !== 0) at += record[at]! + 1;
  return soaSerialAt(record, at + 1);
}

/** The serial of the uncompressed SOA record whose owner takes `ownerLength` octets of `rec`. */
function soaSerialAt(rec: Uint8Array, ownerLength: number): number {
  let at = ownerLength + 10;
  for (let names = 0; names < 2; names++) {
    while (rec[at] !== 0) at += rec[at]! + 1;
    at++;
  }
  return ((rec[at]! << 24) | (rec[at + 1]! << 16) | (rec[at + 2]! << 8) | rec[at + 3]!) >>> 0;
}

/** Header checks shared by every message of a transfer: length, ID, QR, opcode, RCODE; null when they pass. */
function checkHeader(msg: Uint8Array, id: number, where: string): TransferError | null {
  if (msg.length < HEADER) return { kind: 'error', why: `${where}: ${msg.length} octets, shorter than a DNS header` };
  const got = (msg[0]! << 8) | msg[1]!;
  if (got !== id) return { kind: 'error', why: `${where}: ID ${got}, the query's was ${id} (RFC 5936 §2.2.1)` };
  if ((msg[2]! & 0x80) === 0) return { kind: 'error', why: `${where}: not a response (QR clear)` };
  const opcode = (msg[2]! >> 3) & 0x0f;
  if (opcode !== 0) return { kind: 'error', why: `${where}: opcode ${opcode}, not QUERY` };
  const rcode = msg[3]! & 0x0f;
  if (rcode !== 0) return { kind: 'error', why: `${where}: the primary answered ${describeRcode(rcode)}`, rcode };
  return null;
}

/**
 * Checks the question at `msg[at]` is `origin` (any case, RFC 4343) of
 * type `qtype`, class IN; returns where it ends, or what is wrong.
 */
function checkQuestion(msg: Uint8Array, at: number, origin: Uint8Array, qtype: number): number | string {
  const name = new Uint8Array(MAX_NAME);
  const n = copyName(msg, at, name, 0);
  const end = n < 0 ? -1 : skipName(msg, at);
  if (n < 0 || end < 0 || end + 4 > msg.length) return 'the question does not parse';
  const type = (msg[end]! << 8) | msg[end + 1]!;
  const klass = (msg[end + 2]! << 8) | msg[end + 3]!;
  if (n !== origin.length || !atOrBelow(name, n, origin) || type !== qtype || klass !== IN) {
    return `the question is ${wireToText(name, 0)} ${classMnemonic(klass)} ${typeMnemonic(type)}, not ${wireToText(origin, 0)} IN ${typeMnemonic(qtype)}`;
  }
  return end + 4;
}

/**
 * Checks the authority and additional records after `at` parse and end
 * the message, and that an OPT record (RFC 6891 §6.1.3) carries no
 * extended RCODE; null when so.
 */
function checkRest(msg: Uint8Array, at: number, count: number): string | null {
  for (let i = 0; i < count; i++) {
    const end = skipName(msg, at);
    if (end < 0 || end + 10 > msg.length) return 'the authority or additional section is cut short';
    const type = (msg[end]! << 8) | msg[end + 1]!;
    const next = end + 10 + ((msg[end + 8]! << 8) | msg[end + 9]!);
    if (next > msg.length) return 'the authority or additional section is cut short';
    if (type === OPT && msg[end + 4] !== 0) {
      const rcode = (msg[end + 4]! << 4) | (msg[3]! & 0x0f);
      return `the primary answered extended RCODE ${rcode}${rcode === 16 ? ' (BADVERS: it does not do our EDNS version)' : ''}`;
    }
    at = next;
  }
  return at === msg.length ? null : `${msg.length - at} octets after the last record`;
}

/**
 * RDATA layouts whose names are decompressed on receipt: a number is that
 * many fixed octets, 'n' a domain name (compression pointers followed),
 * 's' a <character-string>, 'r' the rest as it is. Every other type's RDATA
 * is copied as it is (RFC 3597 §4: names in later types are never
 * compressed). The RFC 1035 types (NS MD MF CNAME SOA MB MG MR PTR MINFO
 * MX) may be compressed; RFC 3597 §4 says to decompress on receipt RP AFSDB
 * RT SIG PX NXT NAPTR SRV too, which earlier RFCs let senders compress.
 * DNAME: RFC 6672 §2.5 forbids sending its target compressed; a pointer
 * there can only be a compressed name (left as it is, it would point into
 * a message we no longer have), so it is followed, as NSD does (Knot
 * refuses the record).
 */
const LAYOUTS: ReadonlyMap<number, readonly (number | 'n' | 's' | 'r')[]> = new Map<number, readonly (number | 'n' | 's' | 'r')[]>([
  [2, ['n']], // NS
  [3, ['n']], // MD
  [4, ['n']], // MF
  [5, ['n']], // CNAME
  [6, ['n', 'n', 20]], // SOA: MNAME, RNAME, serial, refresh, retry, expire, minimum
  [7, ['n']], // MB
  [8, ['n']], // MG
  [9, ['n']], // MR
  [12, ['n']], // PTR
  [14, ['n', 'n']], // MINFO
  [15, [2, 'n']], // MX
  [17, ['n', 'n']], // RP (RFC 1183)
  [18, [2, 'n']], // AFSDB (RFC 1183)
  [21, [2, 'n']], // RT (RFC 1183)
  [24, [18, 'n', 'r']], // SIG (RFC 2535): fixed fields, signer, signature
  [26, [2, 'n', 'n']], // PX (RFC 2163)
  [30, ['n', 'r']], // NXT (RFC 2535): next name, type bitmap
  [33, [6, 'n']], // SRV (RFC 2782; RFC 2052 compressed it)
  [35, [4, 's', 's', 's', 'n']], // NAPTR (RFC 3403): order, preference, flags, services, regexp, replacement
  [39, ['n']], // DNAME (RFC 6672)
]);

/** A record decoded into scratch, or why it could not be. */
type DecodeOutcome = { error: string } | { error?: undefined; decoded: Decoded; end: number };

/**
 * Decodes the record at `msg[at]` into `out` in uncompressed wire form:
 * the owner and the names of {@link LAYOUTS} with their pointers followed
 * (RFC 1035 §4.1.4), every label octet as it came.
 */
function decodeRecord(msg: Uint8Array, at: number, out: Uint8Array): DecodeOutcome {
  const ownerLength = copyName(msg, at, out, 0);
  const nameEnd = ownerLength < 0 ? -1 : skipName(msg, at);
  if (ownerLength < 0 || nameEnd < 0) return { error: at >= msg.length ? 'the message ends before this record (cut short?)' : 'the owner name does not parse (a bad label or compression pointer, or cut short)' };
  if (nameEnd + 10 > msg.length) return { error: 'the record runs past the end of the message (cut short?)' };
  const type = (msg[nameEnd]! << 8) | msg[nameEnd + 1]!;
  const rdlength = (msg[nameEnd + 8]! << 8) | msg[nameEnd + 9]!;
  const rdStart = nameEnd + 10;
  const rdEnd = rdStart + rdlength;
  if (rdEnd > msg.length) return { error: `the RDATA (${rdlength} octets) runs past the end of the message (cut short?)` };
  out.set(msg.subarray(nameEnd, nameEnd + 8), ownerLength);
  const w0 = ownerLength + 10;
  const layout = LAYOUTS.get(type);
  let w = w0;
  if (layout === undefined) {
    out.set(msg.subarray(rdStart, rdEnd), w);
    w += rdlength;
  } else {
    let p = rdStart;
    const what = (): string => `${wireToText(out, 0)} ${typeMnemonic(type)}`;
    for (const field of layout) {
      if (field === 'n') {
        const n = copyName(msg, p, out, w);
        const end = n < 0 ? -1 : skipName(msg, p);
        if (n < 0 || end < 0 || end > rdEnd) return { error: `the RDATA of ${what()} holds a name that does not parse` };
        w += n;
        p = end;
      } else if (field === 's') {
        if (p >= rdEnd || p + 1 + msg[p]! > rdEnd) return { error: `the RDATA of ${what()} is cut short` };
        const len = 1 + msg[p]!;
        out.set(msg.subarray(p, p + len), w);
        w += len;
        p += len;
      } else if (field === 'r') {
        out.set(msg.subarray(p, rdEnd), w);
        w += rdEnd - p;
        p = rdEnd;
      } else {
        if (p + field > rdEnd) return { error: `the RDATA of ${what()} is cut short` };
        out.set(msg.subarray(p, p + field), w);
        w += field;
        p += field;
      }
    }
    if (p !== rdEnd) return { error: `the RDATA of ${what()} has ${rdEnd - p} octets past its last field` };
    if (w - w0 > 0xffff) return { error: `the RDATA of ${what()} is longer than 65535 octets once decompressed` };
  }
  const len = w - w0;
  out[ownerLength + 8] = len >> 8;
  out[ownerLength + 9] = len & 0xff;
  return { decoded: { length: w, ownerLength, type }, end: rdEnd };
}


/** Whether the uncompressed name `name[0, len)` is `origin` or below it, ASCII case ignored (RFC 4343). */
function atOrBelow(name: Uint8Array, len: number, origin: Uint8Array): boolean {
  if (len < origin.length) return false;
  // Walk labels until what is left is as long as the origin: a label boundary, or not below it.
  let at = 0;
  while (len - at > origin.length) at += name[at]! + 1;
  if (len - at !== origin.length) return false;
  for (let i = 0; i < origin.length; i++) if (lowerOctet(name[at + i]!) !== lowerOctet(origin[i]!)) return false;
  return true;
}

/** An uncompressed wire name in presentation form, every octet escaped as BIND prints it (`a\.b.example.`, `\200.example.`). */
export function wireToText(wire: Uint8Array, at: number): string {
  const labels: string[] = [];
  for (let i = at; wire[i] !== 0 && i < wire.length; i += wire[i]! + 1) labels.push(escapeLabel(wire.subarray(i + 1, i + 1 + wire[i]!)));
  return labels.length === 0 ? '.' : `${labels.join('.')}.`;
}

/** Records appended back to back in chunks (no doubling copies), joined once at the end. */
class Region {
  private static readonly CHUNK = 1 << 20;
  private readonly chunks: Uint8Array[] = [];
  private current = new Uint8Array(0);
  private used = 0;
  private total = 0;
  count = 0;

  /** Appends the first `len` octets of `src` (one record). */
  append(src: Uint8Array, len: number): void {
    if (this.used + len > this.current.length) {
      if (this.used > 0) this.chunks.push(this.current.subarray(0, this.used));
      // Small regions (an IXFR's few changes) stay small; big ones grow to 1 MiB chunks.
      this.current = new Uint8Array(Math.max(len, Math.min(Region.CHUNK, Math.max(4096, this.total))));
      this.used = 0;
    }
    this.current.set(src.subarray(0, len), this.used);
    this.used += len;
    this.total += len;
    this.count++;
  }

  /** Every record, in one buffer of their size. */
  take(): Uint8Array {
    const out = new Uint8Array(this.total);
    let w = 0;
    for (const c of [...this.chunks, this.current.subarray(0, this.used)]) {
      out.set(c, w);
      w += c.length;
    }
    return out;
  }
}
