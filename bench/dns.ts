/** Asking a server under test over UDP until it answers correctly: readiness and time to the first correct answer. */

import dgram from 'node:dgram';
import dnsPacket, { type Packet } from 'dns-packet';

/** The rdata of the answers of `type` in a reply, as strings. */
export function answerData(reply: Packet | null, type: string): string[] {
  return (reply?.answers ?? []).filter((a) => a.type === type).map((a) => String((a as { data: unknown }).data));
}

/**
 * Asks `name type` every `stepMs` from one socket until an answer has
 * `expect` among its rdata, or until `timeoutMs`, or until `signal` aborts
 * (the server died: stop asking, so no timer keeps the benchmark alive);
 * resolves with whether an answer did. Asking again on a timer rather than
 * after each timeout keeps the resolution at `stepMs` whether the port is
 * still closed (no reply at all), the server holds the query while it loads,
 * or it answers without the zone.
 */
export function waitForAnswer(port: number, name: string, type: string, expect: string, timeoutMs: number, stepMs = 10, signal?: AbortSignal): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = dgram.createSocket('udp4');
    let done = false;
    const finish = (ok: boolean): void => {
      if (done) return;
      done = true;
      clearInterval(ask);
      clearTimeout(deadline);
      signal?.removeEventListener('abort', abort);
      sock.close();
      resolve(ok);
    };
    const abort = (): void => finish(false);
    const send = (): void => {
      const bytes = dnsPacket.encode({ type: 'query', id: Math.floor(Math.random() * 65536), flags: 0, questions: [{ name, type: type as 'A', class: 'IN' }] });
      sock.send(bytes, port, '127.0.0.1', () => undefined);
    };
    sock.on('message', (msg) => {
      let reply: Packet | null = null;
      try {
        reply = dnsPacket.decode(msg);
      } catch {
        return;
      }
      if (answerData(reply, type).includes(expect)) finish(true);
    });
    sock.on('error', () => undefined);
    const ask = setInterval(send, stepMs);
    const deadline = setTimeout(() => finish(false), timeoutMs);
    if (signal?.aborted) return finish(false);
    signal?.addEventListener('abort', abort);
    send();
  });
}
