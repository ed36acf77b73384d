/** Test DNS clients: one query over UDP (from a fresh source port) or TCP, with a deadline. */

import dgram from 'node:dgram';
import net from 'node:net';
import dnsPacket, { type Packet } from 'dns-packet';

/** Builds a query message. */
export function buildQuery(name: string, type: string, klass = 'IN', opts: { id?: number; rd?: boolean; edns?: boolean } = {}): Buffer {
  return dnsPacket.encode({
    type: 'query',
    id: opts.id ?? Math.floor(Math.random() * 65536),
    flags: opts.rd === false ? 0 : dnsPacket.RECURSION_DESIRED,
    questions: [{ name, type: type as 'A', class: klass as 'IN' }],
    additionals: opts.edns ? [{ type: 'OPT', name: '.', udpPayloadSize: 1232, flags: 0, options: [] } as never] : [],
  });
}

/**
 * Sends raw bytes over UDP from a new socket and resolves with the reply
 * bytes (or null on timeout). `from`: the local address to send from (a
 * loopback address other than 127.0.0.1 stands for another client).
 */
export function udpExchange(bytes: Buffer, port: number, host = '127.0.0.1', timeoutMs = 2000, from?: string): Promise<Buffer | null> {
  return new Promise((resolve) => {
    const sock = dgram.createSocket(host.includes(':') ? 'udp6' : 'udp4');
    const timer = setTimeout(() => {
      sock.close();
      resolve(null);
    }, timeoutMs);
    sock.on('message', (msg) => {
      clearTimeout(timer);
      sock.close();
      resolve(msg);
    });
    sock.on('error', () => undefined);
    if (from === undefined) sock.send(bytes, port, host);
    else sock.bind(0, from, () => sock.send(bytes, port, host));
  });
}

/** Sends one query over UDP and decodes the reply; rejects on timeout. */
export async function udpQuery(name: string, type: string, klass: string, port: number, host = '127.0.0.1'): Promise<Packet> {
  const reply = await udpExchange(buildQuery(name, type, klass), port, host);
  if (reply === null) throw new Error(`no UDP reply for ${name} ${klass} ${type} from ${host}:${port}`);
  return dnsPacket.decode(reply);
}

/** Opens a TCP connection, writes the given bytes, and collects `expect` framed replies (or what came before close/timeout). */
export function tcpExchange(bytes: Buffer, port: number, expect: number, host = '127.0.0.1', timeoutMs = 3000): Promise<{ replies: Buffer[]; closed: boolean }> {
  return new Promise((resolve) => {
    const replies: Buffer[] = [];
    let buf = Buffer.alloc(0);
    let closed = false;
    const conn = net.connect({ port, host });
    const done = (): void => {
      clearTimeout(timer);
      conn.destroy();
      resolve({ replies, closed });
    };
    const timer = setTimeout(done, timeoutMs);
    conn.on('connect', () => conn.write(bytes));
    conn.on('data', (chunk) => {
      buf = Buffer.concat([buf, chunk]);
      while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
        replies.push(buf.subarray(2, 2 + buf.readUInt16BE(0)));
        buf = buf.subarray(2 + buf.readUInt16BE(0));
      }
      if (replies.length >= expect) done();
    });
    conn.on('error', () => undefined);
    conn.on('close', () => {
      closed = true;
      done();
    });
  });
}

/** Frames a message for TCP (RFC 1035 §4.2.2). */
export function frame(msg: Buffer): Buffer {
  const len = Buffer.alloc(2);
  len.writeUInt16BE(msg.length);
  return Buffer.concat([len, msg]);
}

/** The text of the first TXT answer, or null. */
export function txtOf(p: Packet): string | null {
  const a = p.answers?.[0];
  if (!a || a.type !== 'TXT') return null;
  const data = a.data as Buffer[] | Buffer;
  return (Array.isArray(data) ? data : [data]).map((d) => d.toString()).join('');
}

/** A decoded reply with the fields @types/dns-packet leaves out, and answers loosely typed. */
export type Reply = Omit<ReturnType<typeof dnsPacket.decode>, 'answers'> & {
  rcode: string;
  answers: { name: string; type: string; class: string; ttl: number; data: unknown }[];
};

/** Decodes a reply message. */
export function decodeReply(bytes: Buffer): Reply {
  return dnsPacket.decode(bytes) as unknown as Reply;
}
