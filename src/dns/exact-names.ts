/**
 * dns-packet with exact names: while a function given to
 * {@link withExactNames} runs, dns-packet reads every domain name as a name
 * string (src/zone/names.ts: `\.` for a dot inside a label, `\DDD` for an
 * octet that is not printable ASCII) and writes name strings back to the
 * octets they stand for. Its own codec reads labels as UTF-8 text, so octets
 * that are not UTF-8 become U+FFFD (three octets when written back) and a dot
 * inside a label becomes a label boundary (fuzz finding Q2): a forwarded
 * reply passed through it did not hold the names the upstream sent. Plain
 * names (printable ASCII, no dot or backslash inside a label) are the same
 * text either way. No I/O; the swap of dns-packet's codec lasts only for
 * the synchronous call (nothing else runs meanwhile) and is undone, also
 * when the call throws.
 */

import dnsPacket from './dns-packet.js';
import { labelsToName, nameToWire, wireLength } from '../zone/names.js';

/** dns-packet's name codec (its typings do not declare it): every record codec calls these through `dnsPacket.name`. */
interface NameCodec {
  encode: { (name: string, buf?: Buffer, offset?: number, opts?: { mail?: boolean }): Buffer; bytes: number };
  decode: { (buf: Buffer, offset?: number, opts?: { mail?: boolean }): string; bytes: number };
  encodingLength(name: string): number;
}

/** dns-packet's name codec and its own functions, taken at the first swap (dns-packet loads at its first use: src/dns/dns-packet.ts). */
let names: { codec: NameCodec; own: Pick<NameCodec, 'encode' | 'decode' | 'encodingLength'> } | null = null;

function nameCodec(): NonNullable<typeof names> {
  if (names === null) {
    const codec = (dnsPacket as unknown as { name: NameCodec }).name;
    names = { codec, own: { encode: codec.encode, decode: codec.decode, encodingLength: codec.encodingLength } };
  }
  return names;
}

/** A name as dns-packet's callers give it (a final dot or none, `.` or '' the root, any text) as a name string without the final dot. */
function nameString(text: string): string {
  let s = text;
  // Text beyond Latin-1 stands for its UTF-8 octets (as dns-packet writes it).
  for (let i = 0; i < s.length; i++) {
    if (s.charCodeAt(i) > 0xff) {
      s = Buffer.from(s, 'utf8').toString('latin1');
      break;
    }
  }
  if (s === '' || s === '.') return '.';
  if (!s.endsWith('.')) return s;
  // A final dot escaped by an odd run of backslashes is inside the last label.
  let slashes = 0;
  while (s.charCodeAt(s.length - 2 - slashes) === 0x5c) slashes++;
  return slashes % 2 === 0 ? s.slice(0, -1) : s;
}

const exactEncode = Object.assign(
  (name: string, buf?: Buffer, offset?: number): Buffer => {
    const wire = nameToWire(nameString(name));
    const out = buf ?? Buffer.alloc(wire.length);
    // As dns-packet: any offset that is not a number above 0 (undefined, NaN) is 0.
    wire.copy(out, offset || 0);
    exactEncode.bytes = wire.length;
    return out;
  },
  { bytes: 0 },
);

/**
 * Reads the name at `buf[offset]` as dns-packet does (compression pointers
 * only to earlier octets, RFC 1035 §4.1.4; at most 255 octets; the same
 * errors thrown; an offset that is not a number above 0 read as 0, which
 * its record decoders rely on when they run past the end and pass NaN),
 * but keeps every octet of every label.
 */
const exactDecode = Object.assign(
  (buf: Buffer, offset?: number): string => {
    const labels: Buffer[] = [];
    const start = offset || 0;
    let at = start;
    let limit = start; // a pointer must point before where it was met
    let consumed = -1;
    let length = 1;
    for (;;) {
      // Written so that an offset that is not an integer in the buffer (NaN) throws rather than loops.
      if (!(at >= 0 && at < buf.length)) throw new Error('Cannot decode name (buffer overflow)');
      const l = buf[at]!;
      if (l === 0) {
        if (consumed < 0) consumed = at + 1 - start;
        break;
      }
      if ((l & 0xc0) === 0xc0) {
        if (at + 1 >= buf.length) throw new Error('Cannot decode name (buffer overflow)');
        const to = ((l & 0x3f) << 8) | buf[at + 1]!;
        if (to >= limit) throw new Error('Cannot decode name (bad pointer)');
        if (consumed < 0) consumed = at + 2 - start;
        at = limit = to;
        continue;
      }
      if ((l & 0xc0) !== 0) throw new Error('Cannot decode name (bad label)');
      if (at + 1 + l > buf.length) throw new Error('Cannot decode name (buffer overflow)');
      length += l + 1;
      if (length > 255) throw new Error('Cannot decode name (name too long)');
      labels.push(buf.subarray(at + 1, at + 1 + l));
      at += l + 1;
    }
    exactDecode.bytes = consumed;
    return labelsToName(labels);
  },
  { bytes: 0 },
);

function exactLength(name: string): number {
  return wireLength(nameString(name));
}

/** How many withExactNames calls are running (one inside another keeps the swap). */
let depth = 0;

/**
 * Runs `fn` with dns-packet reading and writing names as name strings
 * (see above), and returns what it returns; dns-packet's own codec is back
 * when this returns or throws. For the forwarding path: decoding an
 * upstream's reply and encoding the client's (SOA RNAME and RP mailboxes
 * too: a dot in their first label is `\.` in both spellings).
 */
export function withExactNames<T>(fn: () => T): T {
  const { codec, own } = nameCodec();
  if (depth++ === 0) {
    codec.encode = exactEncode;
    codec.decode = exactDecode;
    codec.encodingLength = exactLength;
  }
  try {
    return fn();
  } finally {
    if (--depth === 0) {
      codec.encode = own.encode;
      codec.decode = own.decode;
      codec.encodingLength = own.encodingLength;
    }
  }
}
