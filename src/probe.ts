/** `shardns probe`: send one real DNS query and report the reply (health checks, smoke tests). */

import dgram from 'node:dgram';
import net from 'node:net';
import { randomInt } from 'node:crypto';
import type { Answer } from 'dns-packet';
import dnsPacket from './dns/dns-packet.js';

/** What to ask, and of whom. */
export interface ProbeOptions {
  server: string;
  port: number;
  name: string;
  type: string;
  klass: string;
  tcp: boolean;
  timeoutMs: number;
}

/** The reply's rcode and answer texts, or why there was none. */
export type ProbeResult =
  | { ok: true; rcode: string; answers: string[]; ms: number }
  | { ok: false; reason: string };

/** Sends one query over UDP or TCP and decodes the reply; never throws. */
export function probe(o: ProbeOptions): Promise<ProbeResult> {
  const id = randomInt(65536);
  const query = dnsPacket.encode({
    type: 'query',
    id,
    flags: dnsPacket.RECURSION_DESIRED,
    questions: [{ name: o.name, type: o.type as 'A', class: o.klass as 'IN' }],
  });
  const started = Date.now();
  return new Promise((resolve) => {
    let finish = (r: ProbeResult): void => {
      finish = () => undefined;
      clearTimeout(timer);
      cleanup();
      resolve(r);
    };
    const timer = setTimeout(() => finish({ ok: false, reason: `no reply from ${o.server}:${o.port} within ${o.timeoutMs} ms` }), o.timeoutMs);
    const onReply = (msg: Buffer): void => {
      try {
        const p = dnsPacket.decode(msg) as ReturnType<typeof dnsPacket.decode> & { rcode: string };
        if (p.id !== id) return;
        const answers = (p.answers ?? []).map((a) => describe(a));
        finish({ ok: true, rcode: p.rcode, answers, ms: Date.now() - started });
      } catch (err) {
        finish({ ok: false, reason: `undecodable reply: ${(err as Error).message}` });
      }
    };
    const onError = (err: Error): void => finish({ ok: false, reason: `${o.tcp ? 'TCP' : 'UDP'} ${o.server}:${o.port}: ${err.message}` });
    let cleanup: () => void;
    if (o.tcp) {
      const conn = net.connect({ host: o.server, port: o.port });
      let buf = Buffer.alloc(0);
      cleanup = () => conn.destroy();
      conn.on('connect', () => conn.write(dnsPacket.streamEncode(dnsPacket.decode(query))));
      conn.on('data', (d) => {
        buf = Buffer.concat([buf, d]);
        if (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) onReply(buf.subarray(2, 2 + buf.readUInt16BE(0)));
      });
      conn.on('error', onError);
    } else {
      const sock = dgram.createSocket(net.isIPv6(o.server) ? 'udp6' : 'udp4');
      cleanup = () => sock.close();
      sock.on('message', onReply);
      sock.on('error', onError);
      sock.send(query, o.port, o.server);
    }
  });
}

function describe(a: Answer): string {
  const data = (a as { data?: unknown }).data;
  const text = Array.isArray(data)
    ? data.map((d) => String(d)).join('')
    : Buffer.isBuffer(data)
      ? data.toString('hex')
      : typeof data === 'object'
        ? JSON.stringify(data)
        : String(data);
  return `${a.name} ${a.type} ${text}`;
}
