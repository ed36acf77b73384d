/**
 * A spoofed-source UDP flood on loopback: one question sent at a set rate
 * from many source addresses (Linux answers any 127.0.0.0/8 address on lo
 * without configuration), every reply counted by kind (whole, truncated,
 * none) and by source prefix. Used by bench/rrl.ts and the RRL integration test.
 */

import dgram from 'node:dgram';

/** One flood. */
export interface FloodOptions {
  /** Where to send. */
  host: string;
  port: number;
  /** The query bytes (the ID is rewritten per datagram). */
  query: Buffer;
  /** Source addresses, sent from in turn (one socket each). */
  sources: string[];
  /** Datagrams a second, in all. */
  rate: number;
  /** How long to send (ms). */
  durationMs: number;
  /** How long to wait for replies after the last send (ms). */
  drainMs?: number;
}

/** What came back. */
export interface FloodResult {
  sent: number;
  /** Replies without TC. */
  whole: number;
  /** Replies with TC (rate-limited: "slipped"). */
  truncated: number;
  /** Datagrams with no reply. */
  none: number;
  /** Whole replies per second of the flood, from its start. */
  wholePerSecond: number[];
  /** Seconds actually spent sending. */
  seconds: number;
}

/** The loopback addresses 127.a.b.1 … for n sources within one /24 (`127.a.b.0/24`). */
export function sourcesIn24(prefix: string, n: number): string[] {
  return Array.from({ length: n }, (_, i) => `${prefix}.${1 + (i % 254)}`);
}

/** Runs a flood and counts its replies. */
export async function flood(o: FloodOptions): Promise<FloodResult> {
  const sockets: dgram.Socket[] = [];
  const result: FloodResult = { sent: 0, whole: 0, truncated: 0, none: 0, wholePerSecond: [], seconds: 0 };
  const t0 = performance.now();
  const onReply = (m: Buffer): void => {
    if (m.length < 4) return;
    if ((m[2]! & 0x02) !== 0) result.truncated++;
    else {
      result.whole++;
      const s = Math.floor((performance.now() - t0) / 1000);
      result.wholePerSecond[s] = (result.wholePerSecond[s] ?? 0) + 1;
    }
  };
  try {
    for (const source of o.sources) {
      const s = dgram.createSocket({ type: source.includes(':') ? 'udp6' : 'udp4', recvBufferSize: 1 << 21, sendBufferSize: 1 << 21 });
      s.on('message', onReply);
      s.on('error', () => undefined);
      await new Promise<void>((resolve, reject) => {
        s.once('error', reject);
        s.bind(0, source, () => resolve());
      });
      sockets.push(s);
    }
    const q = Buffer.from(o.query);
    // Paced in 10 ms slices: each slice sends what the rate owes by its end.
    const start = performance.now();
    let next = 0;
    while (performance.now() - start < o.durationMs) {
      const owed = Math.floor(((performance.now() - start) / 1000) * o.rate);
      for (; result.sent < owed; result.sent++) {
        q.writeUInt16BE(result.sent & 0xffff, 0);
        sockets[next]!.send(q, o.port, o.host);
        next = (next + 1) % sockets.length;
      }
      await new Promise((r) => setTimeout(r, 10));
    }
    result.seconds = (performance.now() - start) / 1000;
    await new Promise((r) => setTimeout(r, o.drainMs ?? 500));
  } finally {
    for (const s of sockets) s.close();
  }
  result.none = result.sent - result.whole - result.truncated;
  for (let i = 0; i < result.wholePerSecond.length; i++) result.wholePerSecond[i] ??= 0;
  return result;
}
