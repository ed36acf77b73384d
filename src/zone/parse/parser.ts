/** Reads RFC 1035 §5 master files, with $INCLUDE through an injected reader, into a checked zone. */

import { posix as path } from 'node:path';
import { Batches } from './batches.js';
import { checkZone } from './checks.js';
import { DEFAULT_MAX_ERRORS, DiagnosticSink, TooManyErrors } from './diagnostics.js';
import { expandTemplate, parseRange, rangeCount, TemplateError } from './generate.js';
import { fastType, ipv6At, isClassIn, LineTokens, nameWireAt, plainTtl, plainUint, rdataRoom, sameText, scanLine, txtAt } from './fast-line.js';
import { Entry, Lexer } from './lexer.js';
import { isAtOrBelow, nameOfOwnWire, nameKey, NameError, nameToWire, type Origin, originOf, parseName, parseZoneName, presentName } from '../names.js';
import { readRdataWire } from '../rdata/rdata.js';
import { type NameReader, RdataError, RdataText } from '../rdata/rdata-io.js';
import { classFromText, classMnemonic, isMetaType, T, typeFromText, typeMnemonic } from '../rdata/rrtypes.js';
import { looksNumeric, MAX_TTL, parseTtl } from './ttl.js';
import { ZoneBuilder, type ZoneLoadResult } from './zone.js';
import { ipv4At } from '../rdata/address.js';

/*
 * What this reader takes from BIND 9 (named-checkzone -i local, checked by
 * test/integration/zone-named-checkzone.test.ts), beyond RFC 1035 §5:
 * TTL units and the TTL defaults (see MasterReader); TTLs above 2^31-1 read
 * as 0 with a warning; in one batch of lines (batches.ts) a differing TTL
 * takes the RRset's, across batches the later TTL wins; duplicates collapse; data
 * outside the zone is ignored with a warning; an SOA away from the apex, a
 * second SOA/CNAME/DNAME, CNAME beside other data, no SOA or NS at the apex,
 * an apex NS target in the zone without address or being a CNAME, and an
 * NSEC3 owner that is not a base32hex hash are errors; $GENERATE as BIND
 * reads it (the RDATA template is one token; see generate.ts). Names may hold
 * any octet (RFC 4343 §2.1), the zone may be the root (RFC 8806).
 *
 * Deliberate differences:
 * - $INCLUDE paths are relative to the including file, not to the working
 *   directory; loops are reported at the first repeat (BIND runs out of
 *   nesting depth instead).
 * - Data dns-packet cannot write back as the same octets is refused: DNSKEY
 *   protocols other than 3, SSHFP fingerprint types other than 1 and 2, and
 *   HINFO/NAPTR/CAA text that is not UTF-8. (Names are not limited so: they
 *   are kept as name strings, see names.ts, and written by recordRdata.)
 * - Types without a presentation reader here (WKS, APL, IPSECKEY, HIP, A6,
 *   NSAP, GPOS, AMTRELAY, …) load only in RFC 3597 form, and their RDATA is
 *   not checked against the type's layout as BIND does.
 * - NAPTR regexps are checked for their form but not compiled as POSIX EREs.
 * - BIND checks a DS owned by a glue name as if the delegation point owned
 *   it; here a DS is refused only at the apex itself.
 * - An unclosed "(" is reported where it opens, not at the end of the file.
 * - A $GENERATE offset outside -2^31..2^31-1 is refused (BIND wraps it).
 * - check-names (host name syntax) and DNSSEC consistency warnings are not
 *   given; an unknown $ directive is one error (BIND reports it twice).
 */

/**
 * Returns a file's content: bytes, or text (taken as Unicode and read as
 * UTF-8). Throws if the file cannot be read; the message is reported.
 */
export type ReadFile = (file: string) => string | Uint8Array;

/** What parseZone needs. */
export interface ParseZoneOptions {
  /** The zone's name, with or without the final dot: `example.com.`. */
  readonly origin: string;
  /** The zone file's path as the user wrote it; diagnostics name it so. */
  readonly file: string;
  /** Reads the zone file and every $INCLUDE. */
  readonly readFile: ReadFile;
  /** Errors to report before giving up (default 100). */
  readonly maxErrors?: number;
  /**
   * Read the commonest one-line records straight from the text
   * (fast-line.ts; default true). False reads every line through the lexer
   * and the general RDATA reader: the two must load the same zone, which
   * the tests check.
   */
  readonly fastLines?: boolean;
}

/** Deepest $INCLUDE nesting accepted (loops are caught before this). */
const MAX_INCLUDE_DEPTH = 20;
/** Most records one $GENERATE may produce. */
const MAX_GENERATE = 1 << 24;

/**
 * Loads a zone from master files. Pure: every file is read through
 * `readFile`. Returns the zone with its warnings, or every error found (up
 * to the limit) — a broken entry is reported and reading goes on at the next
 * one (RFC 1035 §5; BIND's rules where the RFC is silent, see the notes in
 * this module).
 */
export function parseZone(opts: ParseZoneOptions): ZoneLoadResult {
  const sink = new DiagnosticSink(opts.maxErrors ?? DEFAULT_MAX_ERRORS);
  const origin = parseZoneName(opts.origin);
  if (typeof origin !== 'string') {
    sink.error(opts.file, 0, 0, `bad zone name "${opts.origin}": ${origin.message}`);
    return { ok: false, errors: sink.errors, warnings: sink.warnings };
  }
  const builder = new ZoneBuilder(origin, sink);
  const reader = new MasterReader(opts.readFile, sink, builder, opts.fastLines ?? true);
  try {
    const text = reader.read(opts.file, opts.file, 0, 0);
    if (text !== null) {
      builder.expect(text.length);
      reader.file(opts.file, text, originOf(origin), [opts.file]);
      checkZone(builder, sink, opts.file);
    }
  } catch (e) {
    if (!(e instanceof TooManyErrors)) throw e;
  }
  sink.finish(opts.file);
  const soa = builder.apexSoa();
  if (sink.errors.length > 0 || soa === undefined) return { ok: false, errors: sink.errors, warnings: sink.warnings };
  return {
    ok: true,
    zone: { origin, class: 'IN', soa, nodes: builder.nodes, size: builder.size },
    warnings: sink.warnings,
  };
}

/** Loads a zone from text held in memory (tests, tools); $INCLUDE is refused. */
export function parseZoneText(origin: string, text: string, file = 'zone'): ZoneLoadResult {
  return parseZone({
    origin,
    file,
    readFile: (f) => {
      if (f === file) return text;
      throw new Error('no such file');
    },
  });
}

/** A big-endian u32 at `at`. */
function readU32(b: Uint8Array, at: number): number {
  return ((b[at]! << 24) | (b[at + 1]! << 16) | (b[at + 2]! << 8) | b[at + 3]!) >>> 0;
}

/** Decodes file content to a string of octets (one character per octet). */
function octets(content: string | Uint8Array): string {
  if (typeof content !== 'string') return Buffer.from(content.buffer, content.byteOffset, content.byteLength).toString('latin1');
  for (let i = 0; i < content.length; i++) {
    if (content.charCodeAt(i) >= 0x80) return Buffer.from(content, 'utf8').toString('latin1');
  }
  return content;
}

/** Whether `text[a, b)` has an ASCII capital letter. */
function hasCapital(text: string, a: number, b: number): boolean {
  for (let i = a; i < b; i++) {
    const c = text.charCodeAt(i);
    if (c >= 0x41 && c <= 0x5a) return true;
  }
  return false;
}

/** How many RDATA names (NS, MX and CNAME targets repeat) are cached per origin before the cache starts over. */
const NAME_CACHE_LIMIT = 20000;

/**
 * The reading state across one zone's files. TTL rules follow BIND (RFC 2308
 * §4 with RFC 1035 §5.1 as fallback): a record without TTL takes $TTL; before
 * any $TTL, the last explicit TTL ("RFC 1035 semantics", with one warning);
 * before any TTL at all, an SOA takes its MINIMUM field (with a warning) and
 * that becomes the default; any other record is an error.
 */
class MasterReader {
  private defaultTtl = -1;
  private lastTtl = -1;
  private warned1035 = false;
  private owner: string | null = null;
  private ownerText = '';
  private ownerOrigin = '';
  private readonly batches = new Batches();
  private lastOwner = '';
  private lastOwnerFlat = '';
  private lastKey = '';
  /** Whether lastKey is at or below the origin (asked once per owner, not once per record). */
  private lastInZone = false;
  private names = new Map<string, string>();
  private namesOrigin: Origin | null = null;
  private readName: NameReader = () => new NameError('no origin');
  private readonly rdataText = new RdataText(new Entry(), 0, this.readName);
  /** The target of the NS record resourceRecord read last (for the batches: glue under it). */
  private lastNsTarget = '';

  /** The tokens of the line fastRecord reads; null when every line goes through the lexer. */
  private readonly fast: LineTokens | null;
  /** The wire form of the origin fastRecord completes relative names with, and that origin. */
  private fastOriginWire: Uint8Array = new Uint8Array(1);
  private fastOrigin: Origin | null = null;
  /** Whether that origin's name has capitals, and whether it is at or below the zone's apex. */
  private fastOriginUpper = false;
  private fastOriginInZone = false;
  /**
   * The owner fastRecord parsed last when it was relative to the origin
   * (or `@`) with no capitals in it or the origin: then it is its own
   * lookup key (nameKey) and in the zone exactly when the origin is, with
   * no look at its characters. Null otherwise.
   */
  private fastPlainOwner: string | null = null;
  /** Whether fastPlainOwner is at or below the zone's apex (its origin was, when it was parsed). */
  private fastPlainInZone = false;

  constructor(
    private readonly readFile: ReadFile,
    private readonly sink: DiagnosticSink,
    private readonly builder: ZoneBuilder,
    fastLines: boolean,
  ) {
    this.fast = fastLines ? new LineTokens() : null;
  }

  /** Reads a file's octets; reports a failure at the place that asked for it. */
  read(file: string, from: string, line: number, col: number): string | null {
    try {
      return octets(this.readFile(file));
    } catch (e) {
      const why = e instanceof Error ? e.message : String(e);
      const what = line === 0 ? 'cannot read zone file' : `cannot read $INCLUDE file "${file}"`;
      this.sink.error(from, line, col, `${what}: ${why}`);
      return null;
    }
  }

  /** Reads one file's entries; `chain` is the $INCLUDE path that led here. */
  file(file: string, text: string, startOrigin: Origin, chain: string[]): void {
    let origin = startOrigin;
    const lexer = new Lexer(text, (l, c, m) => this.sink.error(file, l, c, m));
    const e = new Entry();
    const fast = this.fast;
    for (;;) {
      if (fast !== null && this.fastRecord(file, text, lexer, fast, origin)) continue;
      if (!lexer.next(e)) break;
      if (e.broken) continue;
      const first = e.texts[0]!;
      if (!e.blankStart && !e.quoted[0] && first.charCodeAt(0) === 0x24 /* $ */) {
        origin = this.directive(file, e, origin, chain);
      } else {
        this.record(file, e, origin);
      }
    }
  }

  private err(file: string, e: Entry, k: number, message: string): void {
    if (k < 0 || k >= e.count) this.sink.error(file, e.endLine(), e.endCol(), message);
    else this.sink.error(file, e.lines[k]!, e.cols[k]!, message);
  }

  // ---------- records ----------

  /**
   * Reads the line at the lexer's position as a record when it is one of
   * the plain one-line shapes fast-line.ts knows, exactly as record() and
   * resourceRecord() would (same owner, batch, TTL, RDATA octets, position),
   * and moves the lexer past it. Returns false, having changed nothing the
   * general path would not set the same way, for any other line: a
   * directive, parentheses, escapes, another type, or anything the general
   * path would report (a bad field, a missing TTL, out-of-zone data), which
   * the lexer then reads and reports.
   */
  private fastRecord(file: string, text: string, lexer: Lexer, t: LineTokens, origin: Origin): boolean {
    const pos = lexer.position;
    if (pos >= text.length || !scanLine(text, pos, t)) return false;
    if (t.count === 0) {
      // Blanks or a comment alone: the lexer would skip the line just so.
      lexer.skipLine(t.next, t.newline);
      return true;
    }
    if (t.count < 2) return false;
    if (this.fastOrigin !== origin) {
      this.fastOrigin = origin;
      this.fastOriginWire = nameToWire(origin.name);
      const key = nameKey(origin.name);
      this.fastOriginUpper = key !== origin.name;
      this.fastOriginInZone = isAtOrBelow(key, this.builder.originKey);
    }
    let k = 0;
    let owner: string;
    if (t.blankStart) {
      if (this.owner === null) return false;
      owner = this.owner;
    } else {
      const a = t.starts[0]!;
      const b = t.ends[0]!;
      if ((t.quoted & 1) !== 0 || text.charCodeAt(a) === 0x24 /* $ */) return false;
      if (this.owner !== null && origin.name === this.ownerOrigin && sameText(text, a, b, this.ownerText)) {
        owner = this.owner;
      } else {
        const ownerText = text.substring(a, b);
        const r = parseName(ownerText, origin);
        if (typeof r !== 'string') return false;
        // What record() sets for this line: the general path would set the same, should it read the line after all.
        owner = r;
        this.owner = r;
        this.ownerText = ownerText;
        this.ownerOrigin = origin.name;
        // A relative owner (RFC 1035 §5.1) is the token's labels then the origin's.
        const lowerCase = !this.fastOriginUpper && !hasCapital(text, a, b);
        this.fastPlainOwner = lowerCase && text.charCodeAt(b - 1) !== 0x2e ? r : null;
        this.fastPlainInZone = this.fastOriginInZone;
        // Its wire form, straight from the token (no escapes here), for the builder to file it by.
        const n = nameWireAt(text, a, b, this.fastOriginWire, this.builder.presetWire, 0);
        if (n > 0) this.builder.presetOwner(r, n, lowerCase);
      }
      k = 1;
    }
    // [TTL] [class] in either order (RFC 1035 §5.1): plain seconds and IN only; anything else is the general path's.
    let ttl = -1;
    let cls = false;
    for (let n = 0; n < 2 && k < t.count; n++) {
      const a = t.starts[k]!;
      const c = text.charCodeAt(a);
      if (ttl < 0 && c >= 0x30 && c <= 0x39) {
        ttl = plainTtl(text, a, t.ends[k]!);
        if (ttl < 0 || ttl > MAX_TTL) return false;
        k++;
      } else if (!cls && isClassIn(text, a, t.ends[k]!)) {
        cls = true;
        k++;
      } else {
        break;
      }
    }
    if (k >= t.count - 1 || (t.quoted & ((1 << (k + 1)) - 1)) !== 0) return false;
    const code = fastType(text, t.starts[k]!, t.ends[k]!);
    if (code < 0) return false;
    k++;
    // The TTL: an explicit one, else $TTL; the rest (RFC 1035 semantics, the SOA MINIMUM, none) warns or fails.
    const finalTtl = ttl >= 0 ? ttl : this.defaultTtl;
    if (finalTtl < 0) return false;
    if (code !== T.TXT && t.quoted !== 0) return false;

    let key: string;
    let flat: string;
    let inZone: boolean;
    if (owner === this.lastOwner) {
      key = this.lastKey;
      flat = this.lastOwnerFlat;
      inZone = this.lastInZone;
    } else if (owner === this.fastPlainOwner) {
      key = owner;
      flat = owner;
      inZone = this.fastPlainInZone;
    } else {
      key = nameKey(owner);
      flat = key === owner ? key : owner;
      inZone = isAtOrBelow(key, this.builder.originKey);
    }
    if (!inZone) return false;

    const store = this.builder.store;
    const originWire = this.fastOriginWire;
    const at = store.reserve(rdataRoom(t, k, originWire.length));
    const out = store.bytes;
    const left = t.count - k;
    let len = -1;
    switch (code) {
      case T.A:
        if (left === 1 && ipv4At(text, t.starts[k]!, t.ends[k]!, out, at)) len = 4;
        break;
      case T.AAAA:
        if (left === 1 && ipv6At(text, t.starts[k]!, t.ends[k]!, out, at)) len = 16;
        break;
      case T.NS:
      case T.CNAME:
      case T.PTR:
        if (left === 1) len = nameWireAt(text, t.starts[k]!, t.ends[k]!, originWire, out, at);
        break;
      case T.MX: {
        const pref = left === 2 ? plainUint(text, t.starts[k]!, t.ends[k]!, 0xffff) : -1;
        if (pref < 0) break;
        out[at] = pref >> 8;
        out[at + 1] = pref & 0xff;
        const n = nameWireAt(text, t.starts[k + 1]!, t.ends[k + 1]!, originWire, out, at + 2);
        if (n > 0) len = 2 + n;
        break;
      }
      case T.SRV: {
        if (left !== 4) break;
        let o = at;
        for (let f = 0; f < 3; f++) {
          const v = plainUint(text, t.starts[k + f]!, t.ends[k + f]!, 0xffff);
          if (v < 0) {
            o = -1;
            break;
          }
          out[o++] = v >> 8;
          out[o++] = v & 0xff;
        }
        if (o < 0) break;
        const n = nameWireAt(text, t.starts[k + 3]!, t.ends[k + 3]!, originWire, out, o);
        if (n > 0) len = 6 + n;
        break;
      }
      case T.TXT:
        len = txtAt(text, t, k, out, at);
        break;
    }
    if (len < 0) {
      store.used = at;
      return false;
    }
    store.used = at + len;

    // From here on the line is read: the state record() and resourceRecord() keep.
    if (owner !== this.lastOwner) {
      this.lastOwner = owner;
      this.lastKey = key;
      this.lastOwnerFlat = flat;
      this.lastInZone = inZone;
    }
    if (ttl >= 0) this.lastTtl = ttl;
    const batch = t.blankStart ? this.batches.active() : this.batches.explicit(owner);
    const line = lexer.currentLine;
    const col = t.starts[0]! - pos + 1;
    if (code === T.NS) this.lastNsTarget = nameOfOwnWire(store.bytes, at);
    lexer.skipLine(t.next, t.newline);
    this.builder.add(flat, key, code, finalTtl, at, len, batch, file, line, col);
    if (code === T.NS) this.batches.ns(this.lastNsTarget);
    return true;
  }

  private record(file: string, e: Entry, origin: Origin): void {
    let k = 0;
    let owner: string;
    if (e.blankStart) {
      if (this.owner === null) {
        this.err(file, e, 0, 'no owner name: the first record must name its owner (a line starting with a blank repeats the previous owner)');
        return;
      }
      owner = this.owner;
    } else {
      const text = e.texts[0]!;
      if (text === this.ownerText && origin.name === this.ownerOrigin && this.owner !== null) {
        owner = this.owner;
      } else {
        const r = parseName(text, origin);
        if (typeof r !== 'string') {
          this.err(file, e, 0, r.message);
          return;
        }
        owner = r;
        this.ownerText = text;
        this.ownerOrigin = origin.name;
      }
      this.owner = owner;
      k = 1;
    }
    const batch = e.blankStart ? this.batches.active() : this.batches.explicit(owner);
    if (this.resourceRecord(file, e, k, owner, origin, batch) === T.NS) this.batches.ns(this.lastNsTarget);
  }

  /**
   * Reads `[TTL] [class] type RDATA` (TTL and class in either order,
   * RFC 1035 §5.1) from token k on, and adds the record: its RDATA is
   * written straight into the builder's RecordStore as wire octets (no
   * record object is made). Returns the type, or -1 when the line is
   * refused before the builder sees it; for NS, `lastNsTarget` is its target.
   */
  private resourceRecord(file: string, e: Entry, k: number, owner: string, origin: Origin, batch: number): number {
    let ttl = -1;
    let cls = -1;
    let ttlTok = -1;
    for (let n = 0; n < 2 && k < e.count; n++) {
      const tok = e.texts[k]!;
      if (ttl < 0 && looksNumeric(tok)) {
        const v = parseTtl(tok);
        if (v < 0) {
          this.err(file, e, k, `bad TTL "${tok}": use seconds, or units like 1h30m (s, m, h, d, w)`);
          return -1;
        }
        ttl = v;
        ttlTok = k++;
        continue;
      }
      if (cls < 0) {
        const c = classFromText(tok);
        if (c >= 0) {
          cls = c;
          if (c !== 1) {
            this.err(file, e, k, `class ${classMnemonic(c)} does not match the zone's class IN`);
            return -1;
          }
          k++;
          continue;
        }
      }
      break;
    }
    if (k >= e.count) {
      this.err(file, e, -1, 'missing RR type');
      return -1;
    }
    const typeText = e.texts[k]!;
    const code = typeFromText(typeText);
    if (code < 0) {
      this.err(file, e, k, `unknown RR type "${typeText}"`);
      return -1;
    }
    if (isMetaType(code)) {
      this.err(file, e, k, `type ${typeMnemonic(code)} cannot appear in zone data (RFC 6895 §3.1)`);
      return -1;
    }
    const typeTok = k++;
    const rt = this.rdataText;
    rt.entry = e;
    rt.i = k;
    rt.readName = this.nameReader(origin);
    // The RDATA goes to the end of the store's arena; a line refused from here on takes it back.
    const store = this.builder.store;
    const at = store.used;
    let len: number;
    try {
      len = readRdataWire(code, rt, store);
    } catch (x) {
      store.used = at;
      if (!(x instanceof RdataError)) throw x;
      this.err(file, e, x.token, x.message);
      return -1;
    }
    let key: string;
    if (owner === this.lastOwner) {
      key = this.lastKey;
      owner = this.lastOwnerFlat;
    } else {
      this.lastOwner = owner;
      key = nameKey(owner);
      // A relative owner is a concatenation; when it has no capitals its key is the same
      // text, already flat: keep that one string for both (saves a string per name).
      if (key === owner) owner = key;
      this.lastKey = key;
      this.lastOwnerFlat = owner;
      this.lastInZone = isAtOrBelow(key, this.builder.originKey);
    }
    if (!this.lastInZone) {
      store.used = at;
      this.sink.warning(file, e.lines[0]!, e.cols[0]!, `ignoring out-of-zone data (${presentName(owner)})`);
      return -1;
    }
    // SOA RDATA (RFC 1035 §3.3.13) ends with MINIMUM, which a zone without any TTL takes.
    const minimum = code === T.SOA && len >= 4 ? readU32(store.bytes, at + len - 4) : 0;
    const finalTtl = this.ttlFor(file, e, ttl, ttlTok >= 0 ? ttlTok : typeTok, code, minimum);
    if (finalTtl < 0) {
      store.used = at;
      return -1;
    }
    if (code === T.NS) this.lastNsTarget = nameOfOwnWire(store.bytes, at);
    this.builder.add(owner, key, code, finalTtl, at, len, batch, file, e.lines[0]!, e.cols[0]!);
    return code;
  }

  /** The TTL a record gets (see the class comment); -1 after reporting an error. */
  private ttlFor(file: string, e: Entry, explicit: number, tok: number, code: number, soaMinimum: number): number {
    if (explicit >= 0) {
      // A later record without a TTL takes the TTL this one got: above 2^31-1 that is 0, for both (as BIND does).
      this.lastTtl = this.clamp(file, e, tok, explicit);
      return this.lastTtl;
    }
    if (this.defaultTtl >= 0) return this.defaultTtl;
    if (this.lastTtl >= 0) {
      if (!this.warned1035) {
        this.warned1035 = true;
        this.sink.warning(file, e.lines[tok] ?? e.endLine(), e.cols[tok] ?? 1, `no $TTL: records without a TTL take the previous record's TTL (${this.lastTtl}), as in RFC 1035; add a $TTL line`);
      }
      return this.lastTtl;
    }
    if (code === T.SOA) {
      const min = soaMinimum;
      this.sink.warning(file, e.lines[tok] ?? e.endLine(), e.cols[tok] ?? 1, `no TTL specified; using the SOA MINIMUM (${min}) instead, as BIND does; add a $TTL line`);
      this.defaultTtl = this.clamp(file, e, tok, min);
      return this.defaultTtl;
    }
    this.err(file, e, tok, 'no TTL: this record has none and no $TTL or earlier TTL applies (RFC 2308 §4)');
    return -1;
  }

  /** RFC 2181 §8: a TTL with the top bit set is taken as zero (BIND warns likewise). */
  private clamp(file: string, e: Entry, tok: number, v: number): number {
    if (v <= MAX_TTL) return v;
    this.sink.warning(file, e.lines[tok] ?? e.endLine(), e.cols[tok] ?? 1, `TTL ${v} is above ${MAX_TTL}; using 0 (RFC 2181 §8)`);
    return 0;
  }

  /** The name reader for RDATA under an origin; made once per origin, not per record. */
  private nameReader(origin: Origin): NameReader {
    if (origin === this.namesOrigin && this.names.size <= NAME_CACHE_LIMIT) return this.readName;
    const cache = new Map<string, string>();
    this.names = cache;
    this.namesOrigin = origin;
    this.readName = (text) => {
      const hit = cache.get(text);
      if (hit !== undefined) return hit;
      const r = parseName(text, origin);
      if (typeof r === 'string') cache.set(text, r);
      return r;
    };
    return this.readName;
  }

  // ---------- directives ----------

  /** Handles a $ line; returns the origin in force after it. */
  private directive(file: string, e: Entry, origin: Origin, chain: string[]): Origin {
    const name = e.texts[0]!.toUpperCase();
    switch (name) {
      case '$ORIGIN': {
        if (!this.args(file, e, 1, 1, '$ORIGIN needs one domain name')) return origin;
        const r = parseName(e.texts[1]!, origin);
        if (typeof r !== 'string') {
          this.err(file, e, 1, r.message);
          return origin;
        }
        return originOf(r);
      }
      case '$TTL': {
        if (!this.args(file, e, 1, 1, '$TTL needs one TTL')) return origin;
        const v = parseTtl(e.texts[1]!);
        if (v < 0) this.err(file, e, 1, `bad TTL "${e.texts[1]}": use seconds, or units like 1h30m (s, m, h, d, w)`);
        else this.defaultTtl = this.clamp(file, e, 1, v);
        return origin;
      }
      case '$INCLUDE':
        this.include(file, e, origin, chain);
        return origin;
      case '$GENERATE':
        this.generate(file, e, origin);
        return origin;
      default:
        this.err(file, e, 0, `unknown directive "${e.texts[0]}" (known: $ORIGIN, $TTL, $INCLUDE, $GENERATE)`);
        return origin;
    }
  }

  private args(file: string, e: Entry, min: number, max: number, usage: string): boolean {
    if (e.count - 1 < min) {
      this.err(file, e, -1, usage);
      return false;
    }
    if (e.count - 1 > max) {
      this.err(file, e, max + 1, `extra text "${e.texts[max + 1]}": ${usage}`);
      return false;
    }
    return true;
  }

  /**
   * RFC 1035 §5.1 $INCLUDE: the path is taken relative to the including
   * file (BIND takes it relative to its working directory); the origin
   * argument and any $ORIGIN inside apply to the included file only, and
   * afterwards the previous owner is current again, as in BIND.
   */
  private include(file: string, e: Entry, origin: Origin, chain: string[]): void {
    if (!this.args(file, e, 1, 2, '$INCLUDE needs a file name and optionally an origin')) return;
    const target = e.texts[1]!;
    const resolved = path.isAbsolute(target) ? path.normalize(target) : path.join(path.dirname(file), target);
    let incOrigin = origin;
    if (e.count === 3) {
      const r = parseName(e.texts[2]!, origin);
      if (typeof r !== 'string') {
        this.err(file, e, 2, r.message);
        return;
      }
      incOrigin = originOf(r);
    }
    if (chain.includes(resolved)) {
      this.err(file, e, 1, `$INCLUDE loop: ${[...chain, resolved].join(' includes ')}`);
      return;
    }
    if (chain.length >= MAX_INCLUDE_DEPTH) {
      this.err(file, e, 1, `$INCLUDE nested more than ${MAX_INCLUDE_DEPTH} deep`);
      return;
    }
    const text = this.read(resolved, file, e.lines[1]!, e.cols[1]!);
    if (text === null) return;
    const owner = this.owner;
    const ownerText = this.ownerText;
    const ownerOrigin = this.ownerOrigin;
    this.batches.close();
    this.file(resolved, text, incOrigin, [...chain, resolved]);
    this.batches.close();
    this.owner = owner;
    this.ownerText = ownerText;
    this.ownerOrigin = ownerOrigin;
  }

  /**
   * BIND's `$GENERATE start-stop[/step] lhs [ttl] [class] type rhs`: one
   * record per value, owner and RDATA from the templates (see generate.ts).
   * The RDATA template is one token; quote it to hold blanks. Each record is
   * a batch of its own. A failing value is reported once and ends the
   * directive.
   */
  private generate(file: string, e: Entry, origin: Origin): void {
    if (e.count < 5) {
      this.err(file, e, -1, '$GENERATE needs: range owner [TTL] [class] type rdata');
      return;
    }
    const range = parseRange(e.texts[1]!);
    if (range === null) {
      this.err(file, e, 1, `bad $GENERATE range "${e.texts[1]}": use start-stop or start-stop/step, start <= stop < 2^31`);
      return;
    }
    if (rangeCount(range) > MAX_GENERATE) {
      this.err(file, e, 1, `$GENERATE range "${e.texts[1]}" makes more than ${MAX_GENERATE} records`);
      return;
    }
    // Everything between the owner template and the RDATA template is [TTL] [class] type.
    const rhsTok = e.count - 1;
    const middle = new Entry();
    for (let k = 3; k < rhsTok; k++) {
      middle.texts[middle.count] = e.texts[k]!;
      middle.quoted[middle.count] = e.quoted[k]!;
      middle.lines[middle.count] = e.lines[k]!;
      middle.cols[middle.count] = e.cols[k]!;
      middle.count++;
    }
    // The type must end the middle: `MX 10 mx$` would leave "10" between type and template.
    for (let k = 0; k < middle.count - 1; k++) {
      const tok = middle.texts[k]!;
      if (!(looksNumeric(tok) || classFromText(tok) >= 0)) {
        this.err(file, e, 3 + k + 1, `extra text "${e.texts[3 + k + 1]}" in $GENERATE: the RDATA template is one token; quote it to hold blanks`);
        return;
      }
    }
    const gen = new Entry();
    for (let v = range.start; v <= range.stop; v += range.step) {
      const lhs = expandTemplate(e.texts[2]!, v);
      if (lhs instanceof TemplateError) {
        this.err(file, e, 2, lhs.message);
        return;
      }
      const owner = parseName(lhs, origin);
      if (owner instanceof NameError) {
        this.err(file, e, 2, `$GENERATE owner "${lhs}": ${owner.message}`);
        return;
      }
      const rhs = expandTemplate(e.texts[rhsTok]!, v);
      if (rhs instanceof TemplateError) {
        this.err(file, e, rhsTok, rhs.message);
        return;
      }
      // Build the entry: [TTL] [class] type from the line, RDATA tokens lexed from the expansion.
      gen.count = 0;
      for (let k = 0; k < middle.count; k++) {
        gen.texts[k] = middle.texts[k]!;
        gen.quoted[k] = middle.quoted[k]!;
        gen.lines[k] = middle.lines[k]!;
        gen.cols[k] = middle.cols[k]!;
      }
      gen.count = middle.count;
      const tail = new Entry();
      let lexError = '';
      const lx = new Lexer(rhs, (_l, _c, m) => (lexError = lexError || m));
      if (lx.next(tail)) {
        for (let k = 0; k < tail.count; k++) {
          gen.texts[gen.count] = tail.texts[k]!;
          gen.quoted[gen.count] = tail.quoted[k]!;
          gen.lines[gen.count] = e.lines[rhsTok]!;
          gen.cols[gen.count] = e.cols[rhsTok]!;
          gen.count++;
        }
      }
      if (lexError !== '') {
        this.err(file, e, rhsTok, `$GENERATE RDATA "${rhs}": ${lexError}`);
        return;
      }
      const before = this.sink.errors.length;
      this.resourceRecord(file, gen, 0, owner, origin, this.batches.single());
      if (this.sink.errors.length > before) return;
    }
  }
}
