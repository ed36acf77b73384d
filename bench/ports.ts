/** A free high port on 127.0.0.1 for a server under test. */

import dgram from 'node:dgram';
import net from 'node:net';

/** Can both a UDP and a TCP socket bind this port on 127.0.0.1 now? */
export async function portFree(port: number): Promise<boolean> {
  const udp = await new Promise<boolean>((resolve) => {
    const s = dgram.createSocket('udp4');
    s.once('error', () => resolve(false));
    s.bind(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
  if (!udp) return false;
  return new Promise<boolean>((resolve) => {
    const s = net.createServer();
    s.once('error', () => resolve(false));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}

/** A port in 20000–59999 free for UDP and TCP on 127.0.0.1, not one of `avoid`. */
export async function freePort(avoid: ReadonlySet<number> = new Set()): Promise<number> {
  for (let i = 0; i < 100; i++) {
    const port = 20000 + Math.floor(Math.random() * 40000);
    if (!avoid.has(port) && (await portFree(port))) return port;
  }
  throw new Error('no free port found in 20000–59999 on 127.0.0.1');
}
