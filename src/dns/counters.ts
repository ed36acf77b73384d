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

// Where each count lives in a Counters' Float64Array.
const QUERIES = 0;
const UDP = 1;
const TCP = 2;
const DROPPED = 3;
const TRUNCATED = 4;
const INTERNAL_ERRORS = 5;
const OVER_MAX = 6;
const RRL_LIMITED = 7;
const RRL_SLIPPED = 8;
const COOKIE_AT = { clientOnly: 9, valid: 10, bad: 11, malformed: 12 } as const;
/** Replies by rcode, 16 slots. */
const RCODES = 13;
/** Replies over TCP by rcode (UDP's are rcodes minus these), 16 slots. */
const TCP_RCODES = RCODES + 16;
/** Replies by opcode: 16 UDP slots, then 16 TCP. */
const OPCODES = TCP_RCODES + 16;
/** TCP replies to zone transfer questions by rcode: 16 AXFR slots, then 16 IXFR. */
const TRANSFERS = OPCODES + 32;
/** Numbers a Counters holds. */
const SLOTS = TRANSFERS + 32;

/**
 * Counts what a worker did; cheap enough to call per query. The counts live
 * in one Float64Array, which may be over a SharedArrayBuffer: the UDP
 * thread (src/net/udp-thread-loop.ts) counts into one the worker's main
 * thread reads (`new Counters(buffer)` there too), one writer per array.
 */
export class Counters {
  private readonly c: Float64Array;

  /** Counts into `shared` (made with `Counters.sharedBuffer()`) or, without it, into memory of its own. */
  constructor(shared?: SharedArrayBuffer) {
    this.c = shared === undefined ? new Float64Array(SLOTS) : new Float64Array(shared, 0, SLOTS);
  }

  /** Memory for counters another thread writes and this one reads (or the reverse). */
  static sharedBuffer(): SharedArrayBuffer {
    return new SharedArrayBuffer(SLOTS * 8);
  }

  /** Counts one received message and the reply (or drop) it got. */
  record(transport: 'udp' | 'tcp', reply: Uint8Array | null): void {
    const c = this.c;
    c[QUERIES]!++;
    if (transport === 'udp') c[UDP]!++;
    else c[TCP]!++;
    if (reply === null) {
      c[DROPPED]!++;
      return;
    }
    this.countReply(reply, 0);
    if (transport === 'tcp') {
      c[TCP_RCODES + (reply[3]! & 0x0f)]!++;
      c[OPCODES + 16 + ((reply[2]! >> 3) & 0x0f)]!++;
      // Off the UDP path: reading the question's type costs a walk over its name.
      const t = questionType(reply);
      if (t === TYPE_AXFR || t === TYPE_IXFR) c[TRANSFERS + (t === TYPE_IXFR ? 16 : 0) + (reply[3]! & 0x0f)]!++;
    } else {
      c[OPCODES + ((reply[2]! >> 3) & 0x0f)]!++;
    }
  }

  /** record() for a UDP reply whose header was written at `buf[at]` (the engine's send area). */
  recordUdpAt(buf: Uint8Array, at: number): void {
    const c = this.c;
    c[QUERIES]!++;
    c[UDP]!++;
    this.countReply(buf, at);
    c[OPCODES + ((buf[at + 2]! >> 3) & 0x0f)]!++;
  }

  /** The rcode and TC bit of the reply header at `buf[at]`. */
  private countReply(buf: Uint8Array, at: number): void {
    this.c[RCODES + (buf[at + 3]! & 0x0f)]!++;
    if ((buf[at + 2]! & 0x02) !== 0) this.c[TRUNCATED]!++;
  }

  /** Counts a UDP reply rate-limited (RRL): sent truncated (`slipped`) or dropped (its query is counted by record() as dropped). */
  limited(slipped: boolean): void {
    this.c[RRL_LIMITED]!++;
    if (slipped) this.c[RRL_SLIPPED]!++;
  }

  /** Counts a query's COOKIE option by its verdict. */
  cookie(verdict: keyof CounterSnapshot['cookies']): void {
    this.c[COOKIE_AT[verdict]]!++;
  }

  /** Counts a query whose handling threw. */
  internalError(): void {
    this.c[INTERNAL_ERRORS]!++;
  }

  /** Counts a cache miss not forwarded because forward-max upstream questions were in flight (its SERVFAIL is counted by record()). */
  forwardOverMax(): void {
    this.c[OVER_MAX]!++;
  }

  /**
   * A copy for IPC and reports; rcodes never seen are left out. With
   * `others` (counters another thread keeps, over a shared buffer),
   * the sums.
   */
  snapshot(...others: Counters[]): CounterSnapshot {
    const c = Float64Array.from(this.c);
    for (const o of others) for (let i = 0; i < SLOTS; i++) c[i]! += o.c[i]!;
    const slice = (from: number, n: number): number[] => Array.from(c.subarray(from, from + n));
    const rcodes = slice(RCODES, 16);
    const tcpRcodes = slice(TCP_RCODES, 16);
    return {
      queries: c[QUERIES]!,
      udp: c[UDP]!,
      tcp: c[TCP]!,
      dropped: c[DROPPED]!,
      truncated: c[TRUNCATED]!,
      internalErrors: c[INTERNAL_ERRORS]!,
      forwardOverMax: c[OVER_MAX]!,
      rcodes: named(rcodes, RCODE_NAMES, 'RCODE'),
      byTransport: {
        udp: { rcodes: named(rcodes.map((n, code) => n - tcpRcodes[code]!), RCODE_NAMES, 'RCODE'), opcodes: named(slice(OPCODES, 16), OPCODE_NAMES, 'OPCODE') },
        tcp: { rcodes: named(tcpRcodes, RCODE_NAMES, 'RCODE'), opcodes: named(slice(OPCODES + 16, 16), OPCODE_NAMES, 'OPCODE') },
      },
      transfers: transfersByType(slice(TRANSFERS, 32)),
      rrl: { limited: c[RRL_LIMITED]!, slipped: c[RRL_SLIPPED]! },
      cookies: { clientOnly: c[COOKIE_AT.clientOnly]!, valid: c[COOKIE_AT.valid]!, bad: c[COOKIE_AT.bad]!, malformed: c[COOKIE_AT.malformed]! },
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
