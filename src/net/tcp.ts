/** DNS over TCP (RFC 7766): adopt a listening reuseport descriptor, 2-byte framing, idle and message timeouts, admission through the worker's connection table. */

import net from 'node:net';
import { HEADER_LENGTH } from '../dns/header.js';
import { clearReuseAddr, type OpenSocket } from './reuseport.js';
import { TcpTable, clientKey, type CloseReason } from './tcp-table.js';
import type { MessageHandler } from './udp.js';

/** Limits that keep slow, idle or greedy clients from holding a worker's connection slots. */
export interface TcpLimits {
  /** Close a connection with nothing outstanding after this long (RFC 7766 §6.2.3). */
  idleTimeoutMs: number;
  /** A message begun must arrive whole within this long, or the connection is closed (slow senders). */
  messageTimeoutMs: number;
  /** Connections one worker holds; at the limit the longest idle one is closed to admit a new one. */
  maxConnections: number;
  /** Connections one client (IPv4 address, IPv6 /64) holds in one worker; at the limit its own longest idle one is closed to admit its new one. */
  maxPerClient: number;
}

/** The connection table one worker's TCP listeners share (src/net/tcp-table.ts). */
export type TcpConnections = TcpTable<net.Socket>;

/** A connection table for one worker's listeners, with the limits of `limits`. */
export function tcpConnections(limits: TcpLimits): TcpConnections {
  return new TcpTable<net.Socket>({ maxConnections: limits.maxConnections, maxPerClient: limits.maxPerClient });
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
 * query), closes the connection, as BIND does. Every connection is admitted
 * through `table` (shared by the worker's listeners, so its limits are the
 * worker's): at a limit the table names an idle or slow connection to close,
 * or refuses the new one (RFC 7766 §6.2.2, §6.2.3).
 */
export function serveTcp(sock: OpenSocket, handle: MessageHandler, limits: TcpLimits, table: TcpConnections = tcpConnections(limits)): Promise<TcpEndpoint> {
  const connections = new Map<net.Socket, Closer>();
  const server = net.createServer({ allowHalfOpen: false }, (conn) => {
    const address = conn.remoteAddress;
    // Reset before we saw it: nothing to serve, nothing to count.
    if (address === undefined) return void conn.destroy();
    const admission = table.admit(conn, clientKey(address));
    if (admission.kind === 'refuse') return void conn.destroy();
    // The victim is no longer in the table (counted under its reason); it may belong to another listener.
    if (admission.kind === 'admit-evicting') admission.victim.destroy();
    const closer = serveConnection(conn, handle, limits, table);
    connections.set(conn, closer);
    conn.on('close', () => connections.delete(conn));
  });

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
              for (const closer of connections.values()) closer.destroy('shutdown');
            }, graceMs);
            server.close(() => {
              clearTimeout(timer);
              done();
            });
            for (const closer of connections.values()) closer.end('shutdown');
          }),
      });
    });
  });
}

/** How the listener closes one of its connections, saying why. */
interface Closer {
  end(reason: CloseReason): void;
  destroy(reason: CloseReason): void;
}

/**
 * Reads frames off one connection and writes the replies, keeping the table
 * told what the connection is doing: idle (nothing begun, nothing owed),
 * reading (a message begun) or waiting (answers owed).
 */
function serveConnection(conn: net.Socket, handle: MessageHandler, limits: TcpLimits, table: TcpConnections): Closer {
  let buffered: Buffer = Buffer.alloc(0);
  /** Replies still being worked out (forwarded questions), owed to the client. */
  let owed = 0;
  /** Messages completed on this connection; names the message a timer was started for. */
  let completed = 0;
  /** The message (by `completed` when it began) the message timer runs for, or -1. */
  let timedMessage = -1;
  let messageTimer: NodeJS.Timeout | null = null;
  /** Why we closed it; null when the client did (or the socket failed). */
  let reason: CloseReason | null = null;

  const stopTimer = (): void => {
    if (messageTimer) clearTimeout(messageTimer);
    messageTimer = null;
    timedMessage = -1;
  };
  const destroy = (why: CloseReason): void => {
    reason ??= why;
    stopTimer();
    conn.destroy();
  };
  conn.setNoDelay(true);
  // RFC 7766 §6.2.3: an idle connection is closed after the idle timeout. One owed answers is
  // not idle; the socket's timer restarts when the answer is written.
  conn.setTimeout(limits.idleTimeoutMs, () => {
    if (owed === 0) destroy('idleTimeout');
  });
  conn.on('error', () => destroy('peer'));
  conn.on('close', () => {
    stopTimer();
    table.remove(conn, reason ?? 'peer');
  });
  conn.on('drain', () => conn.resume());

  // Tells the table what the connection is doing, and runs the message timer for a message begun.
  const settle = (): void => {
    if (conn.destroyed) return;
    let begun = false;
    if (buffered.length === 0) stopTimer();
    else if (timedMessage !== completed) {
      // A new message has begun (its first octets are here): it must be whole within the message timeout.
      stopTimer();
      timedMessage = completed;
      const message = completed;
      messageTimer = setTimeout(() => expire(message), limits.messageTimeoutMs);
      begun = true;
    }
    if (owed > 0) table.waiting(conn);
    else if (buffered.length === 0) table.idle(conn);
    else if (begun || table.stateOf(conn) !== 'reading') table.reading(conn);
  };
  // The timer fires in the timers phase; octets that came while the event loop was busy are read
  // in the poll phase after it. Decide in the check phase, once they have been read.
  const expire = (message: number): void => {
    messageTimer = null;
    setImmediate(() => {
      if (!conn.destroyed && completed === message && buffered.length > 0) destroy('messageTimeout');
    });
  };
  const write = (reply: Buffer): void => {
    const prefix = Buffer.allocUnsafe(2);
    prefix.writeUInt16BE(reply.length);
    // Pause reading while the client is not taking our replies.
    if (!conn.write(Buffer.concat([prefix, reply]))) conn.pause();
  };
  const answered = (reply: Buffer | null): void => {
    owed--;
    if (conn.destroyed) return;
    if (reply) write(reply);
    settle();
  };

  conn.on('data', (chunk: Buffer) => {
    buffered = buffered.length === 0 ? chunk : Buffer.concat([buffered, chunk]);
    let off = 0;
    while (buffered.length - off >= 2) {
      const len = buffered.readUInt16BE(off);
      if (len < HEADER_LENGTH) return destroy('badFrame');
      if (buffered.length - off - 2 < len) break;
      const out = handle(buffered.subarray(off + 2, off + 2 + len), conn.remoteAddress ?? '');
      off += 2 + len;
      completed++;
      if (out === null) return destroy('badFrame');
      // Forwarded questions are answered when ready, possibly out of order (RFC 7766 §6.2.1.1).
      if (out instanceof Promise) {
        owed++;
        out.then(answered, () => answered(null));
      } else write(out);
    }
    buffered = off === buffered.length ? Buffer.alloc(0) : buffered.subarray(off);
    settle();
  });

  return {
    end: (why) => {
      reason ??= why;
      stopTimer();
      conn.end();
    },
    destroy,
  };
}
