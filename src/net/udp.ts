/** The UDP I/O engine on node:dgram: adopt a reuseport descriptor, answer each datagram. */

import dgram from 'node:dgram';
import { clearReuseAddr, type OpenSocket } from './reuseport.js';

/** Turns one received message into the reply to send (now or later), or null to send nothing. */
export type MessageHandler = (msg: Buffer, peerAddress: string, peerPort: number) => Buffer | null | Promise<Buffer | null>;

/**
 * Answers a datagram without allocating when it can (a reply-cache hit, or
 * a plain query answered straight into the send area): the
 * query is `q[qOff, qOff + qLen)`, the sender's struct sockaddr starts at
 * `peer[peerOff]` (read it with sockaddr.ts), and the reply goes to
 * `out[outOff]`, at most `cap` bytes. Returns the reply's length, or -1 when
 * the query needs the full MessageHandler. Should not throw; if it does, the
 * engine reports the error and the full handler answers.
 */
export type InPlaceHandler = (q: Buffer, qOff: number, qLen: number, peer: Buffer, peerOff: number, out: Buffer, outOff: number, cap: number) => number;

/** A UDP socket being served. */
export interface UdpEndpoint {
  /** Stops reading, waits for replies already handed to the kernel (bounded), closes. */
  close(graceMs: number): Promise<void>;
}

/**
 * Serves DNS over UDP on a descriptor opened by reuseport.ts. Node adopts it
 * (`bind({ fd })`), then SO_REUSEADDR, which libuv turns on, is cleared again.
 * `onSendError` hears about failed sends (the worker counts and logs them).
 */
export function serveUdp(sock: OpenSocket, handle: MessageHandler, onSendError: (err: Error) => void): Promise<UdpEndpoint> {
  const socket = dgram.createSocket({ type: sock.family === 4 ? 'udp4' : 'udp6' });
  let pending = 0;
  let waiting = 0;
  let closing = false;
  let closed = false;
  let drained: (() => void) | null = null;

  const sent = (err: Error | null): void => {
    pending--;
    if (err) onSendError(err);
    if (closing && pending === 0 && waiting === 0) drained?.();
  };
  const reply = (bytes: Buffer | null, port: number, address: string): void => {
    if (bytes === null || closed) return;
    pending++;
    socket.send(bytes, port, address, sent);
  };
  socket.on('message', (msg, rinfo) => {
    const out = handle(msg, rinfo.address, rinfo.port);
    if (out instanceof Promise) {
      // A forwarded question: the reply goes out when the upstream (or cache) answers.
      waiting++;
      void out.then((bytes) => {
        waiting--;
        reply(bytes, rinfo.port, rinfo.address);
        if (closing && waiting === 0 && pending === 0) drained?.();
      });
    } else {
      reply(out, rinfo.port, rinfo.address);
    }
  });
  // A send error (EPERM from a firewall, ENOBUFS…) arrives in the callback;
  // anything else here must not kill the worker.
  socket.on('error', onSendError);

  return new Promise((resolve, reject) => {
    socket.once('error', reject);
    socket.bind({ fd: sock.fd }, () => {
      socket.off('error', reject);
      try {
        clearReuseAddr(sock.fd);
      } catch (err) {
        socket.close();
        reject(err);
        return;
      }
      resolve({
        close: (graceMs) =>
          new Promise<void>((done) => {
            closing = true;
            socket.removeAllListeners('message');
            const finish = (): void => {
              if (closed) return;
              closed = true;
              clearTimeout(timer);
              socket.close(() => done());
            };
            const timer = setTimeout(finish, graceMs);
            drained = finish;
            if (pending === 0 && waiting === 0) finish();
          }),
      });
    });
  });
}
