/** A client's address as numbers, read from a struct sockaddr (no allocation) or from text: what RRL prefixes, the RRL exempt list and server cookies work from. Pure. */

const AF_INET = 2;
const AF_INET6 = 10;

/**
 * One client address, filled in place so the hot path allocates nothing:
 * IPv4 as one 32-bit word, IPv6 as four, each unsigned and in network order
 * (the first octet is the word's top byte). An IPv4-mapped IPv6 address
 * (`::ffff:192.0.2.1`) is read as the IPv4 address it maps.
 */
export class ClientAddress {
  /** 4 or 6; 0 after a read that failed. */
  family: 0 | 4 | 6 = 0;
  /** The address: `words[0]` alone for IPv4, all four for IPv6. */
  readonly words = new Uint32Array(4);

  /** Reads the sockaddr_in or sockaddr_in6 at `buf[at]` (as recvmmsg fills it); false when it is neither. */
  fromSockaddr(buf: Uint8Array, at: number): boolean {
    const family = buf[at]! | (buf[at + 1]! << 8);
    const w = this.words;
    if (family === AF_INET) {
      w[0] = word(buf, at + 4);
      w[1] = w[2] = w[3] = 0;
      this.family = 4;
      return true;
    }
    if (family === AF_INET6) {
      for (let i = 0; i < 4; i++) w[i] = word(buf, at + 8 + i * 4);
      this.family = 6;
      this.unmap();
      return true;
    }
    this.family = 0;
    return false;
  }

  /** Reads an address as text (`192.0.2.1`, `2001:db8::1`, `fe80::1%eth0`, `::ffff:192.0.2.1`); false when it is not one. */
  fromText(text: string): boolean {
    this.family = 0;
    const pct = text.indexOf('%');
    const a = pct >= 0 ? text.slice(0, pct) : text;
    const w = this.words;
    if (!a.includes(':')) {
      const v4 = parseIpv4(a);
      if (v4 < 0) return false;
      w[0] = v4;
      w[1] = w[2] = w[3] = 0;
      this.family = 4;
      return true;
    }
    const groups = parseIpv6(a);
    if (groups === null) return false;
    for (let i = 0; i < 4; i++) w[i] = ((groups[i * 2]! << 16) | groups[i * 2 + 1]!) >>> 0;
    this.family = 6;
    this.unmap();
    return true;
  }

  /** Writes the address's octets (4 or 16) at `out[at]`; returns how many. */
  writeOctets(out: Uint8Array, at: number): number {
    const n = this.family === 4 ? 1 : 4;
    for (let i = 0; i < n; i++) {
      const v = this.words[i]!;
      out[at + i * 4] = v >>> 24;
      out[at + i * 4 + 1] = (v >>> 16) & 0xff;
      out[at + i * 4 + 2] = (v >>> 8) & 0xff;
      out[at + i * 4 + 3] = v & 0xff;
    }
    return n * 4;
  }

  /** `::ffff:a.b.c.d` (RFC 4291 §2.5.5.2) is the IPv4 client a.b.c.d. */
  private unmap(): void {
    const w = this.words;
    if (w[0] === 0 && w[1] === 0 && w[2] === 0xffff) {
      w[0] = w[3]!;
      w[1] = w[2] = w[3] = 0;
      this.family = 4;
    }
  }
}

/** Four octets at `buf[at]` as an unsigned big-endian word. */
function word(buf: Uint8Array, at: number): number {
  return ((buf[at]! << 24) | (buf[at + 1]! << 16) | (buf[at + 2]! << 8) | buf[at + 3]!) >>> 0;
}

/** Dotted-quad text as an unsigned 32-bit number, or -1 (four decimal octets, no leading zeros). Read a character at a time: the full path parses every sender's address. */
export function parseIpv4(text: string): number {
  let v = 0;
  let octets = 0;
  let n = -1;
  let digits = 0;
  for (let i = 0; i <= text.length; i++) {
    const c = i < text.length ? text.charCodeAt(i) : 0x2e;
    if (c === 0x2e) {
      if (n < 0 || ++octets > 4) return -1;
      v = v * 256 + n;
      n = -1;
      digits = 0;
    } else if (c >= 0x30 && c <= 0x39) {
      if (n === 0) return -1; // a leading zero
      n = (n < 0 ? 0 : n * 10) + (c - 0x30);
      if (++digits > 3 || n > 255) return -1;
    } else {
      return -1;
    }
  }
  return octets === 4 ? v : -1;
}

/** IPv6 text (RFC 4291 §2.2: `::` once, groups of 1–4 hex digits, an IPv4 tail) as eight 16-bit groups, or null. */
function parseIpv6(text: string): number[] | null {
  const halves = text.split('::');
  if (halves.length > 2) return null;
  const side = (s: string): number[] | null => {
    if (s === '') return [];
    const out: number[] = [];
    const parts = s.split(':');
    for (let i = 0; i < parts.length; i++) {
      const p = parts[i]!;
      if (i === parts.length - 1 && p.includes('.')) {
        const v4 = parseIpv4(p);
        if (v4 < 0) return null;
        out.push(v4 >>> 16, v4 & 0xffff);
      } else if (/^[0-9a-fA-F]{1,4}$/.test(p)) {
        out.push(parseInt(p, 16));
      } else {
        return null;
      }
    }
    return out;
  };
  const head = side(halves[0]!);
  const tail = halves.length === 2 ? side(halves[1]!) : [];
  if (head === null || tail === null) return null;
  if (halves.length === 1) return head.length === 8 ? head : null;
  const fill = 8 - head.length - tail.length;
  if (fill < 1) return null;
  return [...head, ...new Array<number>(fill).fill(0), ...tail];
}
