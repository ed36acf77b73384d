/** DNS over TCP (RFC 7766): adopt a listening reuseport descriptor, 2-byte framing, idle and message timeouts, admission through the worker's connection table. */

import net from 'node:net';
import { HEADER_LENGTH } from '../dns/header.js';
import { clearReuseAddr, type OpenSocket } from './reuseport.js';
import { TcpTable, clientKey, type CloseReason } from './tcp-table.js';
import { MAX_FRAME, type ReplyStream } from '../xfr/stream.js';

/** What a TCP query gets: a reply now, nothing (the connection is closed), a reply later (forwarded), or a stream of messages (a zone transfer). */
export type TcpReply = Buffer | null | Promise<Buffer | null> | ReplyStream;
/** Turns one message received over TCP into its reply; see {@link TcpReply}. */
export type TcpMessageHandler = (msg: Buffer, peerAddress: string, peerPort: number) => TcpReply;

/** How many octets of a stream's messages may wait in the socket's buffer before we wait for it to drain. */
const STREAM_BUFFER = 256 * 1024;

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
export function serveTcp(sock: OpenSocket, handle: TcpMessageHandler, limits: TcpLimits, table: TcpConnections = tcpConnections(limits)): Promise<TcpEndpoint> {
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
function serveConnection(conn: net.Socket, handle: TcpMessageHandler, limits: TcpLimits, table: TcpConnections): Closer {
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
  /** The zone transfer being sent, if any; reading pauses meanwhile and later replies wait in `queue`, in order. */
  let streaming: ReplyStream | null = null;
  const queue: (Buffer | ReplyStream)[] = [];
  /** The listener is closing: end the connection once the transfer being sent is done. */
  let endAfterStream = false;

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
  // A transfer the client stopped taking (nothing written for that long) is not owed either.
  conn.setTimeout(limits.idleTimeoutMs, () => {
    if (owed === 0 || streaming !== null) destroy('idleTimeout');
  });
  conn.on('error', () => destroy('peer'));
  conn.on('close', () => {
    stopTimer();
    // A transfer cut off lets go of its zone image.
    streaming?.close();
    for (const q of queue) if (!Buffer.isBuffer(q)) q.close();
    streaming = null;
    queue.length = 0;
    table.remove(conn, reason ?? 'peer');
  });
  conn.on('drain', () => (streaming !== null ? pump() : conn.resume()));

  // Tells the table what the connection is doing, and runs the message timer for a message begun.
  const settle = (): void => {
    if (conn.destroyed) return;
    let begun = false;
    // While a transfer is sent nothing more is read, so a message begun behind it is not timed.
    if (buffered.length === 0 || streaming !== null) stopTimer();
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
    if (reply) send(reply);
    settle();
  };
  // A reply goes out now, unless a transfer is being sent: its messages are not interleaved with others.
  const send = (out: Buffer | ReplyStream): void => {
    if (streaming !== null || queue.length > 0) queue.push(out);
    else if (Buffer.isBuffer(out)) write(out);
    else startStream(out);
  };
  const startStream = (s: ReplyStream): void => {
    streaming = s;
    owed++;
    conn.pause();
    pump();
  };
  // Makes and writes a transfer's messages while the socket's buffer has room; 'drain' brings us back.
  const pump = (): void => {
    while (streaming !== null && !conn.destroyed) {
      const reuseAfter = streaming.reuseAfter;
      // Messages in a ring: what is unsent must stay clear of the memory the next message may take.
      if (conn.writableLength >= (reuseAfter === undefined ? STREAM_BUFFER : Math.min(STREAM_BUFFER, reuseAfter - MAX_FRAME))) return;
      let msg: Buffer | null;
      let framed: Buffer | null = null;
      try {
        msg = streaming.next();
        // In a ring, the length goes in the two octets the stream left free before the message: one buffer, one write.
        // (Inside the try: a stream that broke that promise fails its transfer, not the worker.)
        if (msg !== null && reuseAfter !== undefined) framed = Buffer.from(msg.buffer, msg.byteOffset - 2, msg.length + 2);
      } catch {
        // The pipeline counted and told the error; a transfer cut short cannot be mended.
        return destroy('transferFailed');
      }
      if (msg !== null) {
        if (framed !== null) {
          framed[0] = msg.length >> 8;
          framed[1] = msg.length & 0xff;
          conn.write(framed);
          continue;
        }
        const prefix = Buffer.allocUnsafe(2);
        prefix.writeUInt16BE(msg.length);
        // One writev for the length and the message: with TCP_NODELAY, two writes sent the 2-octet length as a segment of its own.
        conn.cork();
        conn.write(prefix);
        conn.write(msg);
        conn.uncork();
        continue;
      }
      streaming.close();
      streaming = null;
      owed--;
      while (streaming === null && queue.length > 0) {
        const next = queue.shift()!;
        if (Buffer.isBuffer(next)) write(next);
        else {
          streaming = next;
          owed++;
        }
      }
      if (streaming === null) {
        if (endAfterStream) return void conn.end();
        // Queries that came behind the transfer are read now (on a later turn: no recursion per pipelined transfer).
        conn.resume();
        setImmediate(frames);
      }
    }
  };

  // Answers every whole frame read so far (until a transfer begins: those behind it wait for it).
  const frames = (): void => {
    if (conn.destroyed) return;
    while (streaming === null && buffered.length >= 2) {
      const len = buffered.readUInt16BE(0);
      if (len < HEADER_LENGTH) return destroy('badFrame');
      if (buffered.length - 2 < len) break;
      // Taken off before it is handled: a transfer answered at once must not see it again.
      const msg = buffered.subarray(2, 2 + len);
      buffered = buffered.length === 2 + len ? Buffer.alloc(0) : buffered.subarray(2 + len);
      const out = handle(msg, conn.remoteAddress ?? '', conn.remotePort ?? 0);
      completed++;
      if (out === null) return destroy('badFrame');
      // Forwarded questions are answered when ready, possibly out of order (RFC 7766 §6.2.1.1).
      if (out instanceof Promise) {
        owed++;
        out.then(answered, () => answered(null));
      } else send(out);
    }
    settle();
  };
  conn.on('data', (chunk: Buffer) => {
    buffered = buffered.length === 0 ? chunk : Buffer.concat([buffered, chunk]);
    frames();
  });

  return {
    end: (why) => {
      reason ??= why;
      stopTimer();
      // A transfer being sent is finished first (within the shutdown grace); the connection ends after it.
      if (streaming !== null) endAfterStream = true;
      else conn.end();
    },
    destroy,
  };
}
