/** Per-worker counters: queries, transports, rcodes, truncation, drops, internal errors, questions over forward-max. */

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
}

const RCODE_NAMES = ['NOERROR', 'FORMERR', 'SERVFAIL', 'NXDOMAIN', 'NOTIMP', 'REFUSED'];

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
  }

  /** record() for a UDP reply whose header was written at `buf[at]` (the engine's send area). */
  recordUdpAt(buf: Uint8Array, at: number): void {
    this.queries++;
    this.udp++;
    this.countReply(buf, at);
  }

  /** The rcode and TC bit of the reply header at `buf[at]`. */
  private countReply(buf: Uint8Array, at: number): void {
    this.rcodes[buf[at + 3]! & 0x0f]!++;
    if ((buf[at + 2]! & 0x02) !== 0) this.truncated++;
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
    };
  }
}
