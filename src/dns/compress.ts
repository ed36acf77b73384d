/**
 * Name compression (RFC 1035 §4.1.4) applied to an encoded message:
 * dns-packet writes every name in full, which makes replies about 1.7× the
 * size NSD sends, so they truncate sooner and cost more to send. Pure.
 */

import { HEADER_LENGTH } from './header.js';

/**
 * Types whose RDATA names may be compressed: only those of RFC 1035 (RFC 3597
 * §4). Each entry lists the RDATA layout: 'n' a domain name, a number that
 * many fixed octets. Every other type's RDATA is copied as it is (RFC 2782
 * forbids compressing SRV targets, RFC 4034 §3.1.7 RRSIG signer names).
 */
const COMPRESSIBLE: ReadonlyMap<number, readonly ('n' | number)[]> = new Map([
  [2, ['n']], // NS
  [3, ['n']], // MD
  [4, ['n']], // MF
  [5, ['n']], // CNAME
  [6, ['n', 'n', 20]], // SOA: MNAME, RNAME, five 32-bit numbers
  [7, ['n']], // MB
  [8, ['n']], // MG
  [9, ['n']], // MR
  [12, ['n']], // PTR
  [14, ['n', 'n']], // MINFO
  [15, [2, 'n']], // MX
]);

/** Pointers carry 14 bits of offset. */
const MAX_POINTER = 0x3fff;

/**
 * The message with every owner name, question name and RFC 1035 RDATA name
 * compressed against the names before it. Suffixes match without regard to
 * ASCII case (RFC 4343), so, as with NSD, an owner name equal to the question
 * is written as a pointer to it and reads back in the asker's case. A message
 * that does not parse, or that already holds pointers, is returned as it is.
 */
export function compressNames(msg: Uint8Array): Buffer {
  const src = Buffer.isBuffer(msg) ? msg : Buffer.from(msg.buffer, msg.byteOffset, msg.byteLength);
  if (src.length < HEADER_LENGTH) return src;
  const out = Buffer.allocUnsafe(src.length);
  src.copy(out, 0, 0, HEADER_LENGTH);
  const seen = new Map<string, number>();
  let r = HEADER_LENGTH;
  let w = HEADER_LENGTH;

  /** Copies the name at `r` to `w`, compressed; false when it does not parse. */
  const name = (): boolean => {
    const starts: number[] = [];
    let p = r;
    for (;;) {
      if (p >= src.length) return false;
      const l = src[p]!;
      if (l === 0) break;
      if (l > 63 || p + 1 + l > src.length) return false;
      starts.push(p);
      p += l + 1;
    }
    const end = p + 1;
    let pointer = -1;
    let keep = starts.length;
    const keys = starts.map((s) => src.toString('latin1', s, end).replace(/[A-Z]/g, (c) => c.toLowerCase()));
    for (let i = 0; i < keys.length; i++) {
      const at = seen.get(keys[i]!);
      if (at !== undefined) {
        pointer = at;
        keep = i;
        break;
      }
    }
    for (let i = 0; i < keep; i++) {
      if (w <= MAX_POINTER && !seen.has(keys[i]!)) seen.set(keys[i]!, w);
      const s = starts[i]!;
      const l = src[s]! + 1;
      src.copy(out, w, s, s + l);
      w += l;
    }
    if (pointer >= 0) {
      out[w++] = 0xc0 | (pointer >> 8);
      out[w++] = pointer & 0xff;
    } else {
      out[w++] = 0;
    }
    r = end;
    return true;
  };
  /** Copies `n` octets as they are. */
  const fixed = (n: number): boolean => {
    if (r + n > src.length) return false;
    src.copy(out, w, r, r + n);
    r += n;
    w += n;
    return true;
  };

  const count = (at: number): number => (src[at]! << 8) | src[at + 1]!;
  for (let q = count(4); q > 0; q--) if (!name() || !fixed(4)) return src;
  for (let n = count(6) + count(8) + count(10); n > 0; n--) {
    if (!name() || r + 10 > src.length) return src;
    const type = count(r);
    const rdlength = count(r + 8);
    const rdEnd = r + 10 + rdlength;
    if (rdEnd > src.length) return src;
    const layout = COMPRESSIBLE.get(type);
    if (layout === undefined) {
      if (!fixed(10 + rdlength)) return src;
      continue;
    }
    fixed(8);
    const lengthAt = w;
    r += 2;
    w += 2;
    const rdStart = w;
    for (const part of layout) if (!(part === 'n' ? name() : fixed(part))) return src;
    if (r !== rdEnd) return src;
    out.writeUInt16BE(w - rdStart, lengthAt);
  }
  if (r !== src.length) return src;
  return Buffer.from(out.subarray(0, w));
}
