/** RDATA as a whole: reading it (presentation or RFC 3597 generic form), its wire and canonical forms, printing it. */

import { ipv4Bytes, ipv6Bytes } from './address.js';
import { encodeHex, chunk56, decodeHex } from './encoding.js';
import { nameKey, nameToWire, wireLength, writeNameWire } from '../names.js';
import { packetRdata } from './packet.js';
import { RdataError, RdataText, WireReader, WireWriter, type RdataSink } from './rdata-io.js';
import { NotRepresentable, SPECS, type RdataSpec } from './rdata-types.js';
import { packetType, packetTypeCode, T, typeMnemonic } from './rrtypes.js';

/**
 * Reads the RDATA of a record of type `code` from the remaining tokens and
 * returns the `data` of a dns-packet answer: an object or string for types
 * dns-packet encodes structurally, otherwise a Buffer of wire RDATA.
 * Throws RdataError (with the token at fault) on bad input.
 */
export function readRdata(code: number, t: RdataText): unknown {
  if (t.more() && t.entry.texts[t.i] === '\\#' && !t.entry.quoted[t.i]) {
    t.i++;
    return readGeneric(code, t);
  }
  const spec = SPECS.get(code);
  if (spec === undefined) {
    if (code === T.NULL) throw new RdataError('NULL records can only be written in RFC 3597 form: \\# length hex', t.i < t.entry.count ? t.i : -1);
    throw new RdataError(`${typeMnemonic(code)} records can only be written here in RFC 3597 form: \\# length hex`, t.i < t.entry.count ? t.i : -1);
  }
  if (spec.fast) {
    const data = spec.fast(t);
    t.end();
    return data;
  }
  const values = new Array<unknown>(spec.fields.length);
  const starts = new Array<number>(spec.fields.length);
  for (let k = 0; k < spec.fields.length; k++) {
    starts[k] = t.i < t.entry.count ? t.i : -1;
    values[k] = spec.fields[k]!.parse(t);
  }
  t.end();
  return finish(spec, values, starts);
}

/**
 * Reads the RDATA of a record of type `code` from the remaining tokens, as
 * readRdata does (the same checks, the same RdataError for the same input),
 * and writes its wire form (the octets recordRdata gives for readRdata's
 * data) at the end of `sink`; returns its length. The commonest types go
 * from text to octets with no data object in between (an AAAA address is
 * parsed once, not also printed). On an error the sink may hold part of the
 * RDATA: the caller sets `used` back.
 */
export function readRdataWire(code: number, t: RdataText, sink: RdataSink): number {
  if (!(t.more() && t.entry.texts[t.i] === '\\#' && !t.entry.quoted[t.i])) {
    switch (code) {
      case T.A: {
        const s = FAST.a.parse(t) as string;
        // `reserve` first: it may replace `bytes` with a bigger array.
        const at = sink.reserve(4);
        ipv4Bytes(s, sink.bytes, at);
        t.end();
        return 4;
      }
      case T.AAAA: {
        const s = t.take('IPv6 address');
        const at = sink.reserve(16);
        if (!ipv6Bytes(s, sink.bytes, at)) t.fail(`bad IPv6 address "${s}"`);
        t.end();
        return 16;
      }
      case T.NS:
      case T.CNAME:
      case T.PTR:
      case T.DNAME: {
        const name = (code === T.NS ? FAST.ns : code === T.CNAME ? FAST.cname : code === T.PTR ? FAST.ptr : FAST.dname).parse(t) as string;
        t.end();
        const n = wireLength(name);
        const at = sink.reserve(n);
        writeNameWire(name, sink.bytes, at);
        return n;
      }
      case T.MX: {
        const preference = FAST.mx[0]!.parse(t) as number;
        const exchange = FAST.mx[1]!.parse(t) as string;
        t.end();
        const n = 2 + wireLength(exchange);
        const at = sink.reserve(n);
        const b = sink.bytes;
        b[at] = preference >> 8;
        b[at + 1] = preference & 0xff;
        writeNameWire(exchange, b, at + 2);
        return n;
      }
      case T.SRV: {
        const priority = FAST.srv[0]!.parse(t) as number;
        const weight = FAST.srv[1]!.parse(t) as number;
        const port = FAST.srv[2]!.parse(t) as number;
        const target = FAST.srv[3]!.parse(t) as string;
        t.end();
        const n = 6 + wireLength(target);
        const at = sink.reserve(n);
        const b = sink.bytes;
        b[at] = priority >> 8;
        b[at + 1] = priority & 0xff;
        b[at + 2] = weight >> 8;
        b[at + 3] = weight & 0xff;
        b[at + 4] = port >> 8;
        b[at + 5] = port & 0xff;
        writeNameWire(target, b, at + 6);
        return n;
      }
    }
  }
  const data = readRdata(code, t);
  const wire = Buffer.isBuffer(data) ? data : recordRdata({ type: packetType(code), data });
  const at = sink.reserve(wire.length);
  sink.bytes.set(wire, at);
  return wire.length;
}

/** The fields of the types readRdataWire reads itself, from SPECS (so their checks and messages are the same ones). */
const FAST = {
  a: SPECS.get(T.A)!.fields[0]!,
  ns: SPECS.get(T.NS)!.fields[0]!,
  cname: SPECS.get(T.CNAME)!.fields[0]!,
  ptr: SPECS.get(T.PTR)!.fields[0]!,
  dname: SPECS.get(T.DNAME)!.fields[0]!,
  mx: SPECS.get(T.MX)!.fields,
  srv: SPECS.get(T.SRV)!.fields,
};

/** Applies the semantic checks and builds the data; `starts[k]` is the token field k began at (-1: none). */
function finish(spec: RdataSpec, values: unknown[], starts: readonly number[]): unknown {
  if (spec.check) {
    const problem = spec.check(values);
    if (problem !== null) throw new RdataError(problem.message, starts[problem.field] ?? -1);
  }
  if (spec.toPacket) {
    try {
      return spec.toPacket(values);
    } catch (e) {
      if (e instanceof NotRepresentable) throw new RdataError(e.message, starts[e.field] ?? -1);
      throw e;
    }
  }
  const w = new WireWriter();
  for (let k = 0; k < spec.fields.length; k++) spec.fields[k]!.write(w, values[k]);
  return w.done();
}

/** RFC 3597 §5: `\# length hex…`; known types are checked against their wire layout. */
function readGeneric(code: number, t: RdataText): unknown {
  const lenText = t.take('RDATA length after \\#');
  if (!/^[0-9]+$/.test(lenText) || Number(lenText) > 0xffff) t.fail(`bad RDATA length "${lenText}" after \\#`);
  const len = Number(lenText);
  const lenToken = t.i - 1;
  let wire: Buffer;
  if (len === 0) {
    t.end();
    wire = Buffer.alloc(0);
  } else {
    const hex = t.takeRest('hex RDATA');
    const decoded = decodeHex(hex);
    if (decoded === null) t.fail(`bad hex "${hex}" in RFC 3597 RDATA`);
    if (decoded.length !== len) throw new RdataError(`\\# says ${len} octets but the hex holds ${decoded.length}`, lenToken);
    wire = decoded;
  }
  const spec = SPECS.get(code);
  if (spec === undefined) return wire;
  return fromWire(code, spec, wire, lenToken);
}

/** Reads wire RDATA of a type with a known layout; the result is what readRdata would give. */
function fromWire(code: number, spec: RdataSpec, wire: Buffer, token: number): unknown {
  const r = new WireReader(wire);
  const values = new Array<unknown>(spec.fields.length);
  try {
    for (let k = 0; k < spec.fields.length; k++) values[k] = spec.fields[k]!.read(r);
  } catch (e) {
    if (e instanceof RdataError) throw new RdataError(`bad ${typeMnemonic(code)} data in RFC 3597 form: ${e.message}`, token);
    throw e;
  }
  if (r.left() > 0) throw new RdataError(`bad ${typeMnemonic(code)} data in RFC 3597 form: ${r.left()} octets left over`, token);
  const data = finish(spec, values, new Array<number>(spec.fields.length).fill(token));
  // The old answer path writes records with dns-packet: refuse what it would write differently,
  // unless a name is at fault (names with escapes it writes imperfectly; the wire path does not).
  if (spec.toPacket && !escapedName(spec, values) && !packetRdata({ name: '.', type: packetType(code), class: 'IN', ttl: 0, data }).equals(wire)) {
    throw new RdataError(`this ${typeMnemonic(code)} data cannot be represented by dns-packet exactly`, token);
  }
  return data;
}

/** True when one of the name fields holds a name with an escape (see names.ts). */
function escapedName(spec: RdataSpec, values: unknown[]): boolean {
  return spec.fields.some((f, k) => f.isName === true && (values[k] as string).includes('\\'));
}

/**
 * The exact wire RDATA of a record the parser made (RFC 1035 §3.3, names
 * uncompressed): the octets the zone file gave, for every type and every
 * name, escapes included. Types held as wire octets return them as they
 * are; the others are written field by field from their data.
 */
export function recordRdata(record: { type: string; data: unknown }): Buffer {
  const d = record.data;
  if (Buffer.isBuffer(d)) return d;
  const code = packetTypeCode(record.type);
  switch (code) {
    case T.A: {
      const b = Buffer.allocUnsafe(4);
      ipv4Bytes(d as string, b, 0);
      return b;
    }
    case T.NS:
    case T.CNAME:
    case T.PTR:
    case T.DNAME:
      return nameToWire(d as string);
  }
  const spec = SPECS.get(code);
  if (spec?.fromPacket === undefined) throw new Error(`no wire layout for ${record.type} data`);
  const values = spec.fromPacket(d);
  const w = new WireWriter();
  for (let k = 0; k < spec.fields.length; k++) spec.fields[k]!.write(w, values[k]);
  return w.done();
}

/**
 * Octets of a record's wire RDATA (what recordRdata gives), worked out from
 * its data without writing it, for the commonest types; -1 for the others
 * (ask recordRdata).
 */
export function rdataWireLength(record: { type: string; data: unknown }): number {
  const d = record.data;
  if (Buffer.isBuffer(d)) return -1;
  switch (record.type) {
    case 'A':
      return 4;
    case 'AAAA':
      return 16;
    case 'NS':
    case 'CNAME':
    case 'PTR':
    case 'DNAME':
      return wireLength(d as string);
    case 'MX':
      return 2 + wireLength((d as { exchange: string }).exchange);
    case 'SRV':
      return 6 + wireLength((d as { target: string }).target);
    case 'TXT': {
      if (!Array.isArray(d)) return -1;
      let n = 0;
      for (const b of d as Buffer[]) n += b.length + 1;
      return n;
    }
  }
  return -1;
}

/**
 * Writes a record's wire RDATA (the octets recordRdata gives) into `out` at
 * `at`, which has rdataWireLength(record) octets of room, without an
 * intermediate buffer: how the compiler lays out a million records. Only for
 * the types rdataWireLength knows (it returns -1 for the others).
 */
export function writeRdata(record: { type: string; data: unknown }, out: Uint8Array, at: number): void {
  const d = record.data;
  switch (record.type) {
    case 'A':
      ipv4Bytes(d as string, out, at);
      return;
    case 'AAAA':
      if (!ipv6Bytes(d as string, out, at)) throw new Error(`bad IPv6 address ${String(d)} in AAAA data`);
      return;
    case 'NS':
    case 'CNAME':
    case 'PTR':
    case 'DNAME':
      writeNameWire(d as string, out, at);
      return;
    case 'MX': {
      const mx = d as { preference: number; exchange: string };
      out[at] = mx.preference >> 8;
      out[at + 1] = mx.preference & 0xff;
      writeNameWire(mx.exchange, out, at + 2);
      return;
    }
    case 'SRV': {
      const srv = d as { priority: number; weight: number; port: number; target: string };
      out[at] = srv.priority >> 8;
      out[at + 1] = srv.priority & 0xff;
      out[at + 2] = srv.weight >> 8;
      out[at + 3] = srv.weight & 0xff;
      out[at + 4] = srv.port >> 8;
      out[at + 5] = srv.port & 0xff;
      writeNameWire(srv.target, out, at + 6);
      return;
    }
    case 'TXT':
      for (const b of d as Buffer[]) {
        out[at++] = b.length;
        out.set(b, at);
        at += b.length;
      }
      return;
  }
  throw new Error(`writeRdata: no in-place writer for ${record.type}`);
}

/**
 * The `data` of a record of type `code` from its wire RDATA: what readRdata
 * gave when the record was read (the parser's data and this agree for every
 * type: test/unit/zone/record-store.test.ts). Types dns-packet encodes
 * structurally get their object or string, the others a Buffer of the
 * octets (a copy).
 */
export function dataFromWire(code: number, wire: Uint8Array): unknown {
  const spec = SPECS.get(code);
  if (spec === undefined || spec.toPacket === undefined) return Buffer.from(wire);
  const r = new WireReader(Buffer.from(wire.buffer, wire.byteOffset, wire.byteLength));
  const values = new Array<unknown>(spec.fields.length);
  for (let k = 0; k < spec.fields.length; k++) values[k] = spec.fields[k]!.read(r);
  return spec.toPacket(values);
}

/** ASCII letters as lower case, for canonical comparisons (RFC 4034 §6.2, RFC 4343). */
function lower(b: number): number {
  return b >= 0x41 && b <= 0x5a ? b + 0x20 : b;
}

/** Whether `a[aAt, aAt+n)` and `b[bAt, bAt+n)` are the same octets, ASCII letters folded when `fold`. */
function sameOctets(a: Uint8Array, aAt: number, b: Uint8Array, bAt: number, n: number, fold: boolean): boolean {
  if (fold) {
    for (let k = 0; k < n; k++) if (lower(a[aAt + k]!) !== lower(b[bAt + k]!)) return false;
  } else {
    for (let k = 0; k < n; k++) if (a[aAt + k] !== b[bAt + k]) return false;
  }
  return true;
}

/**
 * Whether two RDATA of type `code` are equal in canonical form (RFC 4034
 * §6.2: the names of the types that require it lower-cased): what makes two
 * records duplicates (RFC 2181 §5), as rdataKey compares them. The common
 * types compare in place; the others through canonicalRdata.
 */
export function sameCanonicalRdata(code: number, a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  const n = a.length;
  switch (code) {
    case T.A:
    case T.AAAA:
    case T.TXT:
      return sameOctets(a, 0, b, 0, n, false);
    case T.NS:
    case T.CNAME:
    case T.PTR:
    case T.DNAME:
      // A whole name: label lengths (0–63) are never letters, so folding every octet folds the labels only.
      return sameOctets(a, 0, b, 0, n, true);
    case T.MX:
      return n >= 2 && sameOctets(a, 0, b, 0, 2, false) && sameOctets(a, 2, b, 2, n - 2, true);
    case T.SRV:
      return n >= 6 && sameOctets(a, 0, b, 0, 6, false) && sameOctets(a, 6, b, 6, n - 6, true);
  }
  return canonicalRdataKey(code, a) === canonicalRdataKey(code, b);
}

/** The canonical RDATA (canonicalRdata) as a string of octets: equal for two RDATA exactly when sameCanonicalRdata says so. */
export function canonicalRdataKey(code: number, wire: Uint8Array): string {
  const b = Buffer.from(wire.buffer, wire.byteOffset, wire.byteLength);
  return canonicalRdata(code, b).toString('latin1');
}

/** RDATA in BIND's presentation form; RFC 3597 form for types without a known layout. */
export function printRdata(code: number, wire: Buffer): string {
  const spec = SPECS.get(code);
  if (spec === undefined) return genericText(wire);
  const r = new WireReader(wire);
  const parts: string[] = [];
  for (const f of spec.fields) {
    const s = f.print(f.read(r));
    if (s !== '') parts.push(s);
  }
  return parts.join(' ');
}

/** RFC 3597 §5 text for any RDATA. */
export function genericText(wire: Uint8Array): string {
  return wire.length === 0 ? '\\# 0' : `\\# ${wire.length} ${chunk56(encodeHex(wire))}`;
}

/** Canonical RDATA (RFC 4034 §6.2): names lower-cased for the types that require it. */
export function canonicalRdata(code: number, wire: Buffer): Buffer {
  const spec = SPECS.get(code);
  if (spec === undefined || !spec.downcase) return wire;
  const r = new WireReader(wire);
  const w = new WireWriter();
  for (const f of spec.fields) {
    const v = f.read(r);
    f.write(w, f.isName ? nameKey(v as string) : v);
  }
  return w.done();
}

/**
 * A string equal for two records of one type exactly when their canonical
 * RDATA is equal: what makes two records duplicates (RFC 2181 §5).
 */
export function rdataKey(code: number, record: { name: string; type: string; data: unknown }): string {
  const d = record.data;
  switch (code) {
    case T.A:
    case T.AAAA:
      return d as string;
    case T.NS:
    case T.CNAME:
    case T.PTR:
      return nameKey(d as string);
    case T.MX: {
      const mx = d as { preference: number; exchange: string };
      return `${mx.preference}|${nameKey(mx.exchange)}`;
    }
    case T.TXT: {
      let k = '';
      for (const b of d as Buffer[]) k += String.fromCharCode(b.length) + b.toString('latin1');
      return k;
    }
  }
  return canonicalRdata(code, recordRdata(record)).toString('latin1');
}
