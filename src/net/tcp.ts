/** DNS over TCP (RFC 7766): adopt a listening reuseport descriptor, 2-byte framing, idle limits. */

import net from 'node:net';
import { HEADER_LENGTH } from '../dns/header.js';
import { clearReuseAddr, type OpenSocket } from './reuseport.js';
import type { MessageHandler } from './udp.js';

/** Limits that keep slow or idle clients from holding a worker's connection slots. */
export interface TcpLimits {
  /** Close a connection with nothing outstanding after this long (RFC 7766 §6.2.3). */
  idleTimeoutMs: number;
  /** A message begun must arrive whole within this long, or the connection is closed (slow clients). */
  messageTimeoutMs: number;
  /** Connections one worker holds; further ones are closed at once. */
  maxConnections: number;
}

/** A TCP listener being served. */
export interface TcpEndpoint {
  /** Stops accepting, answers what connections already sent, closes them (bounded by graceMs). */
  close(graceMs: number): Promise<void>;
}

/**
 * Serves DNS over TCP on a listening descriptor from reuseport.ts. Each
 * connection carries any number of length-prefixed messages (RFC 1035 §4.2.2,
 * RFC 7766 §8), which may arrive split across reads or several in one read.
 * A frame shorter than a header, or one the handler drops (a response sent as a
 * query), closes the connection, as BIND does.
 */
export function serveTcp(sock: OpenSocket, handle: MessageHandler, limits: TcpLimits): Promise<TcpEndpoint> {
  const connections = new Set<net.Socket>();
  const server = net.createServer({ allowHalfOpen: false }, (conn) => {
    connections.add(conn);
    conn.on('close', () => connections.delete(conn));
    serveConnection(conn, handle, limits);
  });
  server.maxConnections = limits.maxConnections;

  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ fd: sock.fd }, () => {
      server.off('error', reject);
      // A listening socket accepts nothing a client could use to hijack it, but
      // keep the guarantee the same as for UDP: no SO_REUSEADDR on our sockets.
      clearReuseAddr(sock.fd);
      server.on('error', () => undefined);
      resolve({
        close: (graceMs) =>
          new Promise<void>((done) => {
            const timer = setTimeout(() => {
              for (const conn of connections) conn.destroy();
            }, graceMs);
            server.close(() => {
              clearTimeout(timer);
              done();
            });
            for (const conn of connections) conn.end();
          }),
      });
    });
  });
}

/** Reads frames off one connection and writes the replies in order. */
function serveConnection(conn: net.Socket, handle: MessageHandler, limits: TcpLimits): void {
  let buffered: Buffer = Buffer.alloc(0);
  // Started when a message is begun, cleared when none is pending: a client
  // trickling a byte at a time cannot hold the slot past this bound.
  let partial: NodeJS.Timeout | null = null;
  const close = (): void => {
    if (partial) clearTimeout(partial);
    conn.destroy();
  };
  conn.setNoDelay(true);
  conn.setTimeout(limits.idleTimeoutMs, close);
  conn.on('error', close);
  conn.on('close', () => partial && clearTimeout(partial));
  conn.on('drain', () => conn.resume());
  const write = (reply: Buffer): void => {
    const prefix = Buffer.allocUnsafe(2);
    prefix.writeUInt16BE(reply.length);
    // Pause reading while the client is not taking our replies.
    if (!conn.write(Buffer.concat([prefix, reply]))) conn.pause();
  };
  conn.on('data', (chunk: Buffer) => {
    buffered = buffered.length === 0 ? chunk : Buffer.concat([buffered, chunk]);
    let off = 0;
    while (buffered.length - off >= 2) {
      const len = buffered.readUInt16BE(off);
      if (len < HEADER_LENGTH) return close();
      if (buffered.length - off - 2 < len) break;
      const out = handle(buffered.subarray(off + 2, off + 2 + len), conn.remoteAddress ?? '');
      off += 2 + len;
      if (out === null) return close();
      // Forwarded questions are answered when ready, possibly out of order (RFC 7766 §6.2.1.1).
      if (out instanceof Promise) void out.then((reply) => reply && !conn.destroyed && write(reply));
      else write(out);
    }
    buffered = off === buffered.length ? Buffer.alloc(0) : buffered.subarray(off);
    if (buffered.length === 0 && partial) {
      clearTimeout(partial);
      partial = null;
    } else if (buffered.length > 0 && !partial) {
      partial = setTimeout(close, limits.messageTimeoutMs);
    }
  });
}
