/** Per-worker counters: queries, transports, rcodes and opcodes (per transport too), truncation, drops, internal errors, questions over forward-max, rate-limited replies, cookie verdicts. */

/** A plain copy of the counters, as sent over IPC. */
export interface CounterSnapshot {
  queries: number;
  udp: number;
  tcp: number;
  dropped: number;
  truncated: number;
  /** Queries whose handling threw: answered SERVFAIL, logged, counted here. */
  internalErrors: number;
  /** Cache misses answered SERVFAIL at once because forward-max upstream questions were in flight. */
  forwardOverMax: number;
  rcodes: Record<string, number>;
  /** Replies by transport: their rcodes and opcodes (the query's, echoed); never-seen ones left out. */
  byTransport: Record<'udp' | 'tcp', { rcodes: Record<string, number>; opcodes: Record<string, number> }>;
  /** Zone transfers asked over TCP (AXFR, IXFR), by the rcode of the reply (of its first message): NOERROR given, REFUSED, NOTAUTH…; types never asked left out. */
  transfers: Partial<Record<'AXFR' | 'IXFR', Record<string, number>>>;
  /** Response rate limiting (src/abuse/rrl.ts): UDP replies limited, and of those, sent truncated (the rest were dropped, and count in `dropped`). */
  rrl: { limited: number; slipped: number };
  /** Queries with a COOKIE option (RFC 7873), by verdict: client cookie only, our valid server cookie (exempt from RRL), a bad one (BADCOOKIE over UDP), a malformed option (FORMERR). */
  cookies: { clientOnly: number; valid: number; bad: number; malformed: number };
}

const RCODE_NAMES = ['NOERROR', 'FORMERR', 'SERVFAIL', 'NXDOMAIN', 'NOTIMP', 'REFUSED', 'YXDOMAIN', 'YXRRSET', 'NXRRSET', 'NOTAUTH', 'NOTZONE'];
/** QTYPEs of zone transfers (RFC 1995, RFC 5936). */
const TYPE_IXFR = 251;
const TYPE_AXFR = 252;
/** RFC 1035 §4.1.1, RFC 1996 (NOTIFY), RFC 2136 (UPDATE), RFC 8490 (DSO). */
const OPCODE_NAMES = ['QUERY', 'IQUERY', 'STATUS', 'OPCODE3', 'NOTIFY', 'UPDATE', 'DSO'];

/** Counts what a worker did; cheap enough to call per query. */
export class Counters {
  private queries = 0;
  private udp = 0;
  private tcp = 0;
  private dropped = 0;
  private truncated = 0;
  private internalErrors = 0;
  private overMax = 0;
  private readonly rcodes = new Array<number>(16).fill(0);
  /** Replies over TCP by rcode (UDP's are rcodes minus these). */
  private readonly tcpRcodes = new Array<number>(16).fill(0);
  /** Replies by opcode: [0, 16) UDP, [16, 32) TCP. */
  private readonly opcodes = new Array<number>(32).fill(0);
  /** TCP replies to zone transfer questions by rcode: [0, 16) AXFR, [16, 32) IXFR. */
  private readonly transfers = new Array<number>(32).fill(0);
  private rrlLimited = 0;
  private rrlSlipped = 0;
  private readonly cookieVerdicts = { clientOnly: 0, valid: 0, bad: 0, malformed: 0 };

  /** Counts one received message and the reply (or drop) it got. */
  record(transport: 'udp' | 'tcp', reply: Uint8Array | null): void {
    this.queries++;
    if (transport === 'udp') this.udp++;
    else this.tcp++;
    if (reply === null) {
      this.dropped++;
      return;
    }
    this.countReply(reply, 0);
    if (transport === 'tcp') {
      this.tcpRcodes[reply[3]! & 0x0f]!++;
      this.opcodes[16 + ((reply[2]! >> 3) & 0x0f)]!++;
      // Off the UDP path: reading the question's type costs a walk over its name.
      const t = questionType(reply);
      if (t === TYPE_AXFR || t === TYPE_IXFR) this.transfers[(t === TYPE_IXFR ? 16 : 0) + (reply[3]! & 0x0f)]!++;
    } else {
      this.opcodes[(reply[2]! >> 3) & 0x0f]!++;
    }
  }

  /** record() for a UDP reply whose header was written at `buf[at]` (the engine's send area). */
  recordUdpAt(buf: Uint8Array, at: number): void {
    this.queries++;
    this.udp++;
    this.countReply(buf, at);
    this.opcodes[(buf[at + 2]! >> 3) & 0x0f]!++;
  }

  /** The rcode and TC bit of the reply header at `buf[at]`. */
  private countReply(buf: Uint8Array, at: number): void {
    this.rcodes[buf[at + 3]! & 0x0f]!++;
    if ((buf[at + 2]! & 0x02) !== 0) this.truncated++;
  }

  /** Counts a UDP reply rate-limited (RRL): sent truncated (`slipped`) or dropped (its query is counted by record() as dropped). */
  limited(slipped: boolean): void {
    this.rrlLimited++;
    if (slipped) this.rrlSlipped++;
  }

  /** Counts a query's COOKIE option by its verdict. */
  cookie(verdict: keyof CounterSnapshot['cookies']): void {
    this.cookieVerdicts[verdict]++;
  }

  /** Counts a query whose handling threw. */
  internalError(): void {
    this.internalErrors++;
  }

  /** Counts a cache miss not forwarded because forward-max upstream questions were in flight (its SERVFAIL is counted by record()). */
  forwardOverMax(): void {
    this.overMax++;
  }

  /** A copy for IPC and reports; rcodes never seen are left out. */
  snapshot(): CounterSnapshot {
    const rcodes: Record<string, number> = {};
    this.rcodes.forEach((n, code) => {
      if (n > 0) rcodes[RCODE_NAMES[code] ?? `RCODE${code}`] = n;
    });
    return {
      queries: this.queries,
      udp: this.udp,
      tcp: this.tcp,
      dropped: this.dropped,
      truncated: this.truncated,
      internalErrors: this.internalErrors,
      forwardOverMax: this.overMax,
      rcodes,
      byTransport: {
        udp: { rcodes: named(this.rcodes.map((n, code) => n - this.tcpRcodes[code]!), RCODE_NAMES, 'RCODE'), opcodes: named(this.opcodes.slice(0, 16), OPCODE_NAMES, 'OPCODE') },
        tcp: { rcodes: named(this.tcpRcodes, RCODE_NAMES, 'RCODE'), opcodes: named(this.opcodes.slice(16), OPCODE_NAMES, 'OPCODE') },
      },
      transfers: transfersByType(this.transfers),
      rrl: { limited: this.rrlLimited, slipped: this.rrlSlipped },
      cookies: { ...this.cookieVerdicts },
    };
  }
}

/** Counts by name (`NOERROR`, `QUERY`; `RCODE9` for one without), those at 0 left out. */
function named(counts: readonly number[], names: readonly string[], prefix: string): Record<string, number> {
  const out: Record<string, number> = {};
  counts.forEach((n, code) => {
    if (n > 0) out[names[code] ?? `${prefix}${code}`] = n;
  });
  return out;
}

/** Transfer counts by type, then rcode; a type never asked is left out. */
function transfersByType(counts: readonly number[]): CounterSnapshot['transfers'] {
  const out: CounterSnapshot['transfers'] = {};
  const axfr = named(counts.slice(0, 16), RCODE_NAMES, 'RCODE');
  const ixfr = named(counts.slice(16), RCODE_NAMES, 'RCODE');
  if (Object.keys(axfr).length > 0) out.AXFR = axfr;
  if (Object.keys(ixfr).length > 0) out.IXFR = ixfr;
  return out;
}

/** The type of a message's first question (RFC 1035 §4.1.2), or -1 when it has none or its name cannot be walked. */
function questionType(m: Uint8Array): number {
  if (m.length < 12 || ((m[4]! << 8) | m[5]!) === 0) return -1;
  let at = 12;
  while (at < m.length) {
    const len = m[at]!;
    if (len === 0) {
      at++;
      break;
    }
    // A compressed name ends with its pointer (RFC 1035 §4.1.4).
    if (len >= 0xc0) {
      at += 2;
      break;
    }
    if (len > 63) return -1;
    at += 1 + len;
  }
  return at + 2 <= m.length ? (m[at]! << 8) | m[at + 1]! : -1;
}
