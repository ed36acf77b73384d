/** The UDP I/O engine on node:dgram: adopt a reuseport descriptor, answer each datagram. */

import dgram from 'node:dgram';
import { clearReuseAddr, type OpenSocket } from './reuseport.js';

/** Turns one received message into the reply to send, or null to send nothing. */
export type MessageHandler = (msg: Buffer) => Buffer | null;

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
  let closing = false;
  let drained: (() => void) | null = null;

  const sent = (err: Error | null): void => {
    pending--;
    if (err) onSendError(err);
    if (closing && pending === 0) drained?.();
  };
  socket.on('message', (msg, rinfo) => {
    const reply = handle(msg);
    if (reply === null) return;
    pending++;
    socket.send(reply, rinfo.port, rinfo.address, sent);
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
              clearTimeout(timer);
              socket.close(() => done());
            };
            const timer = setTimeout(finish, graceMs);
            drained = finish;
            if (pending === 0) finish();
          }),
      });
    });
  });
}
