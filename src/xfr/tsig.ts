/** TSIG (RFC 8945): keys, the TSIG record's wire form, signing and verifying messages and message streams, and the error replies of §5.2. Pure (node:crypto HMAC). */

import { skipName } from '../dns/query.js';
import { nodeCrypto } from '../lazy-crypto.js';
import { lowerName } from '../dns/ascii.js';
import { HEADER_LENGTH } from '../dns/header.js';
import { copyName, MAX_NAME } from '../auth/wire-name.js';
import { NameError, nameToWire, parseZoneName } from '../zone/names.js';

/** The HMAC algorithms we sign and verify with (RFC 8945 §6, the REQUIRED and RECOMMENDED ones but HMAC-MD5). */
export const TSIG_ALGORITHMS = ['hmac-sha1', 'hmac-sha224', 'hmac-sha256', 'hmac-sha384', 'hmac-sha512'] as const;
/** One of {@link TSIG_ALGORITHMS}. */
export type TsigAlgorithm = (typeof TSIG_ALGORITHMS)[number];

/** node:crypto's hash name and the HMAC's output length (octets) per algorithm. */
const HASHES: Record<TsigAlgorithm, { hash: string; size: number }> = {
  'hmac-sha1': { hash: 'sha1', size: 20 },
  'hmac-sha224': { hash: 'sha224', size: 28 },
  'hmac-sha256': { hash: 'sha256', size: 32 },
  'hmac-sha384': { hash: 'sha384', size: 48 },
  'hmac-sha512': { hash: 'sha512', size: 64 },
};

/** TSIG's RR type (RFC 8945 §4.2). */
export const TYPE_TSIG = 250;
/** TSIG records are of class ANY, TTL 0 (RFC 8945 §4.2). */
const CLASS_ANY = 255;
/** RCODE NOTAUTH (RFC 8945 §5.2: every TSIG error is answered with it). */
export const RCODE_NOTAUTH = 9;
/** RCODE FORMERR. */
const RCODE_FORMERR = 1;
/** The TSIG Error field's values (RFC 8945 §3). */
export const TSIG_ERROR = { NOERROR: 0, BADSIG: 16, BADKEY: 17, BADTIME: 18, BADTRUNC: 22 } as const;
/** What each TSIG error is called, for logs. */
export const TSIG_ERROR_NAMES: Record<number, string> = { 0: 'NOERROR', 16: 'BADSIG', 17: 'BADKEY', 18: 'BADTIME', 22: 'BADTRUNC' };
/** The fudge we sign with: 300 seconds, as RFC 8945 §10 recommends. */
export const FUDGE = 300;
/**
 * Our truncation policy (RFC 8945 §5.2.4): a MAC shorter than 16 octets
 * (128 bits, RFC 4868's truncations) is BADTRUNC even where §5.2.2.1 would
 * allow it (HMAC-SHA1 to 96 bits, "may not provide a security level
 * appropriate" today); the full length of shorter hashes is always enough.
 */
const LOCAL_MIN_MAC = 16;

/** A key as TSIG uses it. */
export interface TsigKey {
  /** The key's name, lower case, presentation form with the trailing dot (`xfr-key.`). */
  readonly name: string;
  /** The name in canonical wire form (RFC 4034 §6.2: lower case, uncompressed): what the MAC covers. */
  readonly wire: Buffer;
  readonly algorithm: TsigAlgorithm;
  /** The algorithm's name in canonical wire form (`hmac-sha256.`). */
  readonly algorithmWire: Buffer;
  readonly secret: Buffer;
}

/** A key's settings as the config file gives them (src/config.ts validates them). */
export interface TsigKeySpec {
  name: string;
  algorithm: TsigAlgorithm;
  /** The shared secret, base64. */
  secret: string;
}

/** The key of these settings; the name is lower-cased and given its trailing dot. */
export function tsigKey(spec: TsigKeySpec): TsigKey {
  const name = absoluteLower(spec.name);
  return { name, wire: textToWire(name), algorithm: spec.algorithm, algorithmWire: textToWire(`${spec.algorithm}.`), secret: Buffer.from(spec.secret, 'base64') };
}

/** The keys a server knows, found by their name as a TSIG record carries it. */
export class TsigKeyring {
  private readonly byWire = new Map<string, TsigKey>();

  constructor(keys: Iterable<TsigKey>) {
    for (const k of keys) this.byWire.set(k.wire.toString('latin1'), k);
  }

  /** The key whose lower-cased wire name this is. */
  find(wire: Uint8Array): TsigKey | undefined {
    return this.byWire.get(Buffer.from(wire.buffer, wire.byteOffset, wire.byteLength).toString('latin1'));
  }

  /** The key named `name` (presentation form, any case, with or without the trailing dot). */
  named(name: string): TsigKey | undefined {
    return this.find(textToWire(absoluteLower(name)));
  }

  /** Number of keys. */
  get size(): number {
    return this.byWire.size;
  }
}

/** A TSIG record as read from the end of a message (RFC 8945 §4.2). */
export interface TsigRecord {
  /** Where the record (its owner name) starts in the message: the message without it ends here. */
  readonly start: number;
  /** The key name, lower-cased, uncompressed wire form. */
  readonly keyWire: Buffer;
  /** The algorithm name, lower-cased, uncompressed wire form. */
  readonly algorithmWire: Buffer;
  /** Seconds since 1970 (a 48-bit number). */
  readonly timeSigned: number;
  readonly fudge: number;
  readonly mac: Buffer;
  readonly originalId: number;
  readonly error: number;
  readonly other: Buffer;
}

/** A message's TSIG: none, one where RFC 8945 §5.2 wants it, or a reason to answer FORMERR. */
export type TsigFind = { kind: 'none' } | { kind: 'found'; record: TsigRecord } | { kind: 'formerr'; why: string };

/**
 * Finds the TSIG record of a message. RFC 8945 §5.2: it must be the last
 * record of the additional section and the only one; anywhere else, more
 * than one, or one that cannot be read (class not ANY, TTL not 0, RDATA
 * that does not parse) is FORMERR. A message whose sections do not parse
 * has no TSIG to speak of (`none`; the caller's own checks find it).
 */
export function findTsig(msg: Uint8Array): TsigFind {
  if (msg.length < HEADER_LENGTH) return { kind: 'none' };
  const count = (at: number): number => (msg[at]! << 8) | msg[at + 1]!;
  let at = HEADER_LENGTH;
  for (let q = count(4); q > 0; q--) {
    at = skipName(msg, at);
    if (at < 0 || at + 4 > msg.length) return { kind: 'none' };
    at += 4;
  }
  const total = count(6) + count(8) + count(10);
  const additionalFrom = count(6) + count(8);
  let tsigAt = -1;
  let tsigIndex = -1;
  for (let i = 0; i < total; i++) {
    const start = at;
    at = skipName(msg, at);
    if (at < 0 || at + 10 > msg.length) return { kind: 'none' };
    const type = count(at);
    const rdlength = count(at + 8);
    if (type === TYPE_TSIG) {
      if (tsigAt >= 0) return { kind: 'formerr', why: 'more than one TSIG record' };
      tsigAt = start;
      tsigIndex = i;
    }
    at += 10 + rdlength;
    if (at > msg.length) return { kind: 'none' };
  }
  if (tsigAt < 0) return { kind: 'none' };
  if (tsigIndex !== total - 1 || tsigIndex < additionalFrom) return { kind: 'formerr', why: 'a TSIG record that is not the last of the additional section' };
  if (at !== msg.length) return { kind: 'formerr', why: 'octets after the TSIG record' };
  const record = readTsig(msg, tsigAt);
  return record === null ? { kind: 'formerr', why: 'a TSIG record that does not parse' } : { kind: 'found', record };
}

/** Reads the TSIG record at `msg[start]` (already found to end the message), or null when it does not parse. */
function readTsig(msg: Uint8Array, start: number): TsigRecord | null {
  const keyWire = lowerCopy(msg, start);
  if (keyWire === null) return null;
  let at = skipName(msg, start);
  const u16 = (o: number): number => (msg[o]! << 8) | msg[o + 1]!;
  if (u16(at + 2) !== CLASS_ANY) return null;
  if (u16(at + 4) !== 0 || u16(at + 6) !== 0) return null;
  const rdEnd = at + 10 + u16(at + 8);
  at += 10;
  // RFC 8945 §4.2: the algorithm name is not compressed (RFC 3597 §4), so no pointer may appear here.
  const algEnd = plainNameEnd(msg, at, rdEnd);
  if (algEnd < 0) return null;
  const algorithmWire = Buffer.allocUnsafe(algEnd - at);
  lowerName(msg, at, algEnd - at, algorithmWire, 0);
  at = algEnd;
  if (at + 10 > rdEnd) return null;
  const timeSigned = timeSignedOf(msg, at);
  const fudge = u16(at + 6);
  const macSize = u16(at + 8);
  at += 10;
  if (at + macSize + 6 > rdEnd) return null;
  const mac = Buffer.from(msg.subarray(at, at + macSize));
  at += macSize;
  const originalId = u16(at);
  const error = u16(at + 2);
  const otherLen = u16(at + 4);
  at += 6;
  if (at + otherLen !== rdEnd) return null;
  const other = Buffer.from(msg.subarray(at, rdEnd));
  return { start, keyWire, algorithmWire, timeSigned, fudge, mac, originalId, error, other };
}

/** The 48-bit Time Signed at `msg[at]`. */
function timeSignedOf(msg: Uint8Array, at: number): number {
  const high = (msg[at]! << 8) | msg[at + 1]!;
  const low = ((msg[at + 2]! << 24) | (msg[at + 3]! << 16) | (msg[at + 4]! << 8) | msg[at + 5]!) >>> 0;
  return high * 2 ** 32 + low;
}

/**
 * What checking a signed request found (RFC 8945 §5.2, in its order: key,
 * MAC, time, truncation). `ok`: answer it, signing the reply with `key`
 * (the request MAC is `record.mac`). `error`: answer NOTAUTH with this TSIG
 * error, unsigned for BADKEY and BADSIG, signed for BADTIME and BADTRUNC
 * (§5.3.2): {@link tsigErrorReply} builds it. `formerr`: a MAC size §5.2.2.1
 * forbids.
 */
export type TsigCheck =
  | { kind: 'ok'; key: TsigKey; record: TsigRecord }
  | { kind: 'error'; error: number; key: TsigKey | null; record: TsigRecord; why: string }
  | { kind: 'formerr'; why: string };

/** Checks the TSIG of a request against the keys we know, at `now` (seconds since 1970). */
export function verifyRequest(msg: Uint8Array, record: TsigRecord, keys: TsigKeyring, now: number): TsigCheck {
  const key = keys.find(record.keyWire);
  // §5.2.1: a key we do not know, or one we know under another algorithm: BADKEY, unsigned.
  if (key === undefined) return { kind: 'error', error: TSIG_ERROR.BADKEY, key: null, record, why: `unknown key ${wireText(record.keyWire)} (is it in "keys", under the same name?)` };
  if (!key.algorithmWire.equals(record.algorithmWire)) {
    return { kind: 'error', error: TSIG_ERROR.BADKEY, key: null, record, why: `key ${key.name} is ${key.algorithm}, the request says ${wireText(record.algorithmWire)}` };
  }
  const size = HASHES[key.algorithm].size;
  const macSize = record.mac.length;
  // §5.2.2.1: longer than the hash, or shorter than max(10, half the hash): FORMERR.
  if (macSize > size) return { kind: 'formerr', why: `a MAC of ${macSize} octets, longer than ${key.algorithm}'s ${size}` };
  if (macSize < Math.max(10, size / 2)) return { kind: 'formerr', why: `a MAC of ${macSize} octets, below the ${Math.max(10, size / 2)} RFC 8945 §5.2.2.1 allows for ${key.algorithm}` };
  // §5.2.2: the MAC over the message as it was before the TSIG was added, with the original ID.
  const expected = hmac(key, [unsignedPart(msg, record), variables(key, record.timeSigned, record.fudge, record.error, record.other)]);
  if (!nodeCrypto().timingSafeEqual(expected.subarray(0, macSize), record.mac)) return { kind: 'error', error: TSIG_ERROR.BADSIG, key: null, record, why: `the MAC does not verify with key ${key.name} (do both sides have the same secret?)` };
  // §5.2.3: after the MAC, so a forged message never learns our time.
  if (Math.abs(now - record.timeSigned) > record.fudge) {
    return { kind: 'error', error: TSIG_ERROR.BADTIME, key, record, why: `signed at ${record.timeSigned}, ${Math.round(now - record.timeSigned)} s from our time, outside its fudge of ${record.fudge} s (are the clocks in step?)` };
  }
  // §5.2.4: our local minimum.
  if (macSize < Math.min(size, LOCAL_MIN_MAC)) return { kind: 'error', error: TSIG_ERROR.BADTRUNC, key, record, why: `a MAC truncated to ${macSize} octets, below our minimum of ${Math.min(size, LOCAL_MIN_MAC)}` };
  return { kind: 'ok', key, record };
}

/**
 * The error reply to a request whose TSIG failed (RFC 8945 §5.2): the
 * question echoed, RCODE NOTAUTH, and a TSIG record with the error. BADKEY
 * and BADSIG go unsigned (MAC size 0, §5.3.2); BADTIME and BADTRUNC are
 * signed with the request's key over the request MAC, the reply and the
 * variables, BADTIME with the request's Time Signed and fudge and our time
 * in Other Data (§5.2.3). `questionEnd`: the offset past the question, or -1.
 */
export function tsigErrorReply(query: Uint8Array, questionEnd: number, check: Extract<TsigCheck, { kind: 'error' }>, now: number): Buffer {
  const r = check.record;
  const base = bareReply(query, questionEnd, RCODE_NOTAUTH);
  if (check.key === null) {
    return appendTsig(base, r.keyWire, r.algorithmWire, { timeSigned: Math.floor(now), fudge: r.fudge, mac: EMPTY, originalId: r.originalId, error: check.error, other: EMPTY });
  }
  const badTime = check.error === TSIG_ERROR.BADTIME;
  return signResponse(base, check.key, r.mac, {
    timeSigned: badTime ? r.timeSigned : Math.floor(now),
    fudge: r.fudge,
    originalId: r.originalId,
    error: check.error,
    other: badTime ? time48(Math.floor(now)) : EMPTY,
  });
}

/** The FORMERR reply to a message with a misplaced or unreadable TSIG (RFC 8945 §5.2), unsigned. */
export function tsigFormerr(query: Uint8Array, questionEnd: number): Buffer {
  return bareReply(query, questionEnd, RCODE_FORMERR);
}

/** How a TSIG record is filled in when a message is signed. */
export interface SignFields {
  timeSigned: number;
  fudge: number;
  originalId: number;
  error: number;
  other: Uint8Array;
}

/**
 * Signs a response to a verified request (RFC 8945 §4.3.1): the MAC covers
 * the request's MAC (as received, truncated or not), the response as it is,
 * and the TSIG variables; the TSIG record is appended and ARCOUNT raised.
 */
export function signResponse(response: Uint8Array, key: TsigKey, requestMac: Uint8Array, fields: SignFields): Buffer {
  const mac = hmac(key, [macPrefix(requestMac), withId(response, fields.originalId), variables(key, fields.timeSigned, fields.fudge, fields.error, fields.other)]);
  return appendTsig(response, key.wire, key.algorithmWire, { ...fields, mac });
}

/**
 * Signs the messages of one multi-message response (a zone transfer over
 * TCP, RFC 8945 §5.3.1), every one of them: the first as a response to the
 * request, each later one over the MAC before it, the message, and the
 * timers only (Time Signed, Fudge).
 */
export class TsigStreamSigner {
  private prior: Buffer | null = null;

  constructor(
    private readonly key: TsigKey,
    private readonly requestMac: Uint8Array,
    private readonly originalId: number,
    private readonly now: () => number,
  ) {}

  /** Octets the TSIG record adds to each message. */
  get overhead(): number {
    return tsigLength(this.key);
  }

  /** The message with its TSIG record. */
  sign(message: Uint8Array): Buffer {
    const timeSigned = Math.floor(this.now());
    let mac: Buffer;
    const covered = withId(message, this.originalId);
    if (this.prior === null) {
      mac = hmac(this.key, [macPrefix(this.requestMac), covered, variables(this.key, timeSigned, FUDGE, 0, EMPTY)]);
    } else {
      mac = hmac(this.key, [macPrefix(this.prior), covered, timers(timeSigned, FUDGE)]);
    }
    this.prior = mac;
    return appendTsig(message, this.key.wire, this.key.algorithmWire, { timeSigned, fudge: FUDGE, mac, originalId: this.originalId, error: 0, other: EMPTY });
  }
}

/** Octets a TSIG record with this key and a full MAC takes (no Other Data). */
export function tsigLength(key: TsigKey): number {
  return key.wire.length + 10 + key.algorithmWire.length + 16 + HASHES[key.algorithm].size;
}

/**
 * Signs a request (RFC 8945 §4.3.1: the message and the variables): a
 * NOTIFY we send, or a secondary's SOA or transfer query. Returns the
 * signed message and its MAC, which the response's MAC covers.
 */
export function signRequest(msg: Uint8Array, key: TsigKey, now: number, fudge = FUDGE): { bytes: Buffer; mac: Buffer } {
  const timeSigned = Math.floor(now);
  const mac = hmac(key, [msg, variables(key, timeSigned, fudge, 0, EMPTY)]);
  const originalId = (msg[0]! << 8) | msg[1]!;
  return { bytes: appendTsig(msg, key.wire, key.algorithmWire, { timeSigned, fudge, mac, originalId, error: 0, other: EMPTY }), mac };
}

/**
 * What checking the TSIG of a response to a request we signed found
 * (RFC 8945 §5.4): `ok` with its MAC (the next message of a stream chains
 * on it), `unsigned` (no TSIG at all), or `error`: the server said a TSIG
 * error, or the response does not verify.
 */
export type ResponseCheck = { kind: 'ok'; mac: Buffer } | { kind: 'unsigned' } | { kind: 'error'; why: string; tsigError: number };

/**
 * Verifies a response to a request we signed with `key` whose MAC was
 * `requestMac` (§5.4.1); `prior` (a stream's later message): the MAC of
 * the last signed message, and `unsigned`, the unsigned messages since,
 * which that MAC's successor covers (§5.3.1).
 */
export function verifyResponse(msg: Uint8Array, key: TsigKey, requestMac: Uint8Array, now: number, stream?: { prior: Uint8Array; unsigned: readonly Uint8Array[] }): ResponseCheck {
  const found = findTsig(msg);
  if (found.kind === 'none') return { kind: 'unsigned' };
  if (found.kind === 'formerr') return { kind: 'error', why: found.why, tsigError: 0 };
  const r = found.record;
  if (!r.keyWire.equals(key.wire) || !r.algorithmWire.equals(key.algorithmWire)) return { kind: 'error', why: `signed with key ${wireText(r.keyWire)} (${wireText(r.algorithmWire)}), not ${key.name}`, tsigError: r.error };
  if (r.error !== 0 && r.mac.length === 0) return { kind: 'error', why: `the server answered TSIG error ${TSIG_ERROR_NAMES[r.error] ?? r.error}`, tsigError: r.error };
  const size = HASHES[key.algorithm].size;
  if (r.mac.length > size || r.mac.length < Math.max(10, size / 2)) return { kind: 'error', why: `a MAC of ${r.mac.length} octets`, tsigError: r.error };
  const body = unsignedPart(msg, r);
  const parts =
    stream === undefined
      ? [macPrefix(requestMac), body, variables(key, r.timeSigned, r.fudge, r.error, r.other)]
      : [macPrefix(stream.prior), ...stream.unsigned, body, timers(r.timeSigned, r.fudge)];
  const expected = hmac(key, parts);
  if (!nodeCrypto().timingSafeEqual(expected.subarray(0, r.mac.length), r.mac)) return { kind: 'error', why: `the response's MAC does not verify with key ${key.name}`, tsigError: r.error };
  if (r.error !== 0) return { kind: 'error', why: `the server answered TSIG error ${TSIG_ERROR_NAMES[r.error] ?? r.error}`, tsigError: r.error };
  if (Math.abs(now - r.timeSigned) > r.fudge) return { kind: 'error', why: `the response was signed ${Math.round(now - r.timeSigned)} s from our time, outside its fudge of ${r.fudge} s`, tsigError: 0 };
  return { kind: 'ok', mac: r.mac };
}

/**
 * Verifies the messages of a multi-message response (a transfer in) to a
 * request we signed (RFC 8945 §5.3.1): the first and last must be signed,
 * and at most 99 in a row may come without a TSIG (NSD allows 103); each
 * signed one covers the unsigned ones before it.
 */
export class TsigStreamVerifier {
  private prior: Buffer;
  private first = true;
  private unsigned: Buffer[] = [];

  constructor(
    private readonly key: TsigKey,
    requestMac: Uint8Array,
    private readonly now: () => number,
  ) {
    this.prior = Buffer.from(requestMac);
  }

  /** Checks the next message; `ok` when it verified, `pending` when it may be covered by a later one. */
  next(msg: Uint8Array): { kind: 'ok' } | { kind: 'pending' } | { kind: 'error'; why: string } {
    const first = this.first;
    this.first = false;
    const r = first ? verifyResponse(msg, this.key, this.prior, this.now()) : verifyResponse(msg, this.key, this.prior, this.now(), { prior: this.prior, unsigned: this.unsigned });
    if (r.kind === 'error') return r;
    if (r.kind === 'unsigned') {
      if (first) return { kind: 'error', why: 'the first message of the response is not signed' };
      if (this.unsigned.length >= 99) return { kind: 'error', why: 'more than 99 messages in a row without a TSIG (RFC 8945 §5.3.1)' };
      this.unsigned.push(Buffer.from(msg));
      return { kind: 'pending' };
    }
    this.prior = r.mac;
    this.unsigned = [];
    return { kind: 'ok' };
  }

  /** Whether the last message seen was signed (the response may end there). */
  get settled(): boolean {
    return this.unsigned.length === 0 && !this.first;
  }
}

/** The message without its TSIG record, ARCOUNT lowered and the ID the original one (RFC 8945 §4.3.2). */
export function unsignedPart(msg: Uint8Array, record: TsigRecord): Buffer {
  const out = Buffer.from(msg.subarray(0, record.start));
  out.writeUInt16BE(record.originalId, 0);
  out.writeUInt16BE(out.readUInt16BE(10) - 1, 10);
  return out;
}

/** The message as a MAC covers it: with the original ID when its own differs (RFC 8945 §4.3.2). */
function withId(msg: Uint8Array, originalId: number): Uint8Array {
  if (((msg[0]! << 8) | msg[1]!) === originalId) return msg;
  const copy = Buffer.from(msg);
  copy.writeUInt16BE(originalId, 0);
  return copy;
}

/** The HMAC of the parts, with the key's algorithm and secret. */
function hmac(key: TsigKey, parts: readonly Uint8Array[]): Buffer {
  const h = nodeCrypto().createHmac(HASHES[key.algorithm].hash, key.secret);
  for (const p of parts) h.update(p);
  return h.digest();
}

/** MAC Size and MAC, as a digest covers a prior MAC (RFC 8945 §4.3.1). */
function macPrefix(mac: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(2 + mac.length);
  out.writeUInt16BE(mac.length, 0);
  out.set(mac, 2);
  return out;
}

/** The TSIG variables a MAC covers (RFC 8945 §4.3.3): key name, class, TTL, algorithm, time, fudge, error, other. */
function variables(key: TsigKey, timeSigned: number, fudge: number, error: number, other: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(key.wire.length + 6 + key.algorithmWire.length + 12 + other.length);
  out.set(key.wire, 0);
  let at = key.wire.length;
  out.writeUInt16BE(CLASS_ANY, at);
  out.writeUInt32BE(0, at + 2);
  at += 6;
  out.set(key.algorithmWire, at);
  at += key.algorithmWire.length;
  out.set(time48(timeSigned), at);
  out.writeUInt16BE(fudge, at + 6);
  out.writeUInt16BE(error, at + 8);
  out.writeUInt16BE(other.length, at + 10);
  out.set(other, at + 12);
  return out;
}

/** TSIG timers (RFC 8945 §4.3.3): Time Signed and Fudge, what a stream's later MACs cover. */
function timers(timeSigned: number, fudge: number): Buffer {
  const out = Buffer.allocUnsafe(8);
  out.set(time48(timeSigned), 0);
  out.writeUInt16BE(fudge, 6);
  return out;
}

/** A time as the 48-bit unsigned number TSIG carries. */
function time48(seconds: number): Buffer {
  const out = Buffer.allocUnsafe(6);
  out.writeUInt16BE(Math.floor(seconds / 2 ** 32) & 0xffff, 0);
  out.writeUInt32BE(seconds % 2 ** 32 >>> 0, 2);
  return out;
}

/** The message with a TSIG record (owner and algorithm uncompressed) appended and ARCOUNT raised. */
function appendTsig(msg: Uint8Array, keyWire: Uint8Array, algorithmWire: Uint8Array, f: SignFields & { mac: Uint8Array }): Buffer {
  const rdlength = algorithmWire.length + 16 + f.mac.length + f.other.length;
  const out = Buffer.allocUnsafe(msg.length + keyWire.length + 10 + rdlength);
  out.set(msg, 0);
  let at = msg.length;
  out.set(keyWire, at);
  at += keyWire.length;
  out.writeUInt16BE(TYPE_TSIG, at);
  out.writeUInt16BE(CLASS_ANY, at + 2);
  out.writeUInt32BE(0, at + 4);
  out.writeUInt16BE(rdlength, at + 8);
  at += 10;
  out.set(algorithmWire, at);
  at += algorithmWire.length;
  out.set(time48(f.timeSigned), at);
  out.writeUInt16BE(f.fudge, at + 6);
  out.writeUInt16BE(f.mac.length, at + 8);
  at += 10;
  out.set(f.mac, at);
  at += f.mac.length;
  out.writeUInt16BE(f.originalId, at);
  out.writeUInt16BE(f.error, at + 2);
  out.writeUInt16BE(f.other.length, at + 4);
  out.set(f.other, at + 6);
  out.writeUInt16BE(out.readUInt16BE(10) + 1, 10);
  return out;
}

/** A reply of the query's header and question (QR set, RD and opcode kept, AA clear) with this RCODE and nothing else. */
function bareReply(query: Uint8Array, questionEnd: number, rcode: number): Buffer {
  const withQuestion = questionEnd > HEADER_LENGTH;
  const out = Buffer.alloc(withQuestion ? questionEnd : HEADER_LENGTH);
  out[0] = query[0]!;
  out[1] = query[1]!;
  out[2] = 0x80 | (query[2]! & 0x79);
  out[3] = (query[3]! & 0x10) | (rcode & 0xf);
  if (withQuestion) {
    out[5] = 1;
    out.set(query.subarray(HEADER_LENGTH, questionEnd), HEADER_LENGTH);
  }
  return out;
}

/** No octets. */
const EMPTY = Buffer.alloc(0);


/** Where the uncompressed name at `msg[at]` ends (before `end`), or -1 (a pointer, past the end, too long). */
function plainNameEnd(msg: Uint8Array, at: number, end: number): number {
  const from = at;
  for (;;) {
    if (at >= end) return -1;
    const l = msg[at]!;
    if (l === 0) return at + 1 - from <= MAX_NAME ? at + 1 : -1;
    if (l > 63) return -1;
    at += l + 1;
  }
}

/** The (possibly compressed) name at `msg[at]`, uncompressed and lower-cased, or null. */
function lowerCopy(msg: Uint8Array, at: number): Buffer | null {
  const scratch = Buffer.allocUnsafe(MAX_NAME);
  const n = copyName(msg, at, scratch, 0);
  if (n < 0) return null;
  const out = Buffer.allocUnsafe(n);
  lowerName(scratch, 0, n, out, 0);
  return out;
}

/** `name.` lower-cased, with the trailing dot. */
function absoluteLower(name: string): string {
  const lower = name.toLowerCase();
  return lower.endsWith('.') ? lower : `${lower}.`;
}

/** The canonical (lower-cased) wire form of a presentation name (key and algorithm names; escapes as in zone files). */
function textToWire(name: string): Buffer {
  const internal = parseZoneName(name);
  if (internal instanceof NameError) throw new Error(`bad TSIG name "${name}": ${internal.message}`);
  const wire = nameToWire(internal);
  const out = Buffer.allocUnsafe(wire.length);
  lowerName(wire, 0, wire.length, out, 0);
  return out;
}

/** A wire name as text, for messages (`xfr-key.`). */
export function wireText(wire: Uint8Array): string {
  const labels: string[] = [];
  for (let i = 0; i < wire.length && wire[i] !== 0; i += wire[i]! + 1) labels.push(Buffer.from(wire.subarray(i + 1, i + 1 + wire[i]!)).toString('latin1'));
  return `${labels.join('.')}.`;
}
