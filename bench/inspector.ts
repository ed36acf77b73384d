/**
 * Another Node process's V8 heap, from the benchmark, through Node's own
 * inspector: SIGUSR1 makes a Node process open its inspector (on the port
 * its `--inspect-port` names, 127.0.0.1), one Chrome DevTools Protocol
 * session over a WebSocket forces a full collection and reads the heap's
 * size; the inspector stays open for the next time (see collectGarbage for
 * why it is not closed). No code in the server exists for
 * this: a shardns worker has no SIGUSR1 handler of its own and its node flags
 * leave the signal alone. The WebSocket client is the few lines of RFC 6455
 * a client needs (Node 20 has one only behind --experimental-websocket).
 */

import { createHash, randomBytes } from 'node:crypto';
import http from 'node:http';
import net from 'node:net';

/** RFC 6455 §1.3: appended to the key before hashing for Sec-WebSocket-Accept. */
const WS_GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

/** RFC 6455 §5.2 opcodes the client meets. */
const OP = { continuation: 0x0, text: 0x1, binary: 0x2, close: 0x8, ping: 0x9, pong: 0xa } as const;

/** RFC 6455 §4.2.2: the Sec-WebSocket-Accept a server must give for `key`. */
export function acceptFor(key: string): string {
  return createHash('sha1').update(key + WS_GUID).digest('base64');
}

/**
 * One client frame (RFC 6455 §5.2), FIN set, payload masked with `mask`
 * (§5.3: every frame a client sends is masked).
 */
export function encodeFrame(opcode: number, payload: Buffer, mask: Buffer = randomBytes(4)): Buffer {
  const n = payload.length;
  const head = n < 126 ? 2 : n < 0x10000 ? 4 : 10;
  const out = Buffer.alloc(head + 4 + n);
  out[0] = 0x80 | opcode;
  if (n < 126) out[1] = 0x80 | n;
  else if (n < 0x10000) {
    out[1] = 0x80 | 126;
    out.writeUInt16BE(n, 2);
  } else {
    out[1] = 0x80 | 127;
    out.writeBigUInt64BE(BigInt(n), 2);
  }
  mask.copy(out, head, 0, 4);
  for (let i = 0; i < n; i++) out[head + 4 + i] = payload[i]! ^ mask[i & 3]!;
  return out;
}

/** A frame read from the octets a server sent. */
export interface Frame {
  fin: boolean;
  opcode: number;
  payload: Buffer;
}

/**
 * The first whole frame in `buf` (RFC 6455 §5.2) and the octets it took, or
 * `incomplete` when more must arrive first; a masked payload is unmasked.
 */
export function decodeFrame(buf: Buffer): { kind: 'frame'; frame: Frame; used: number } | { kind: 'incomplete' } | { kind: 'error'; message: string } {
  if (buf.length < 2) return { kind: 'incomplete' };
  const fin = (buf[0]! & 0x80) !== 0;
  const opcode = buf[0]! & 0x0f;
  const masked = (buf[1]! & 0x80) !== 0;
  let len = buf[1]! & 0x7f;
  let at = 2;
  if (len === 126) {
    if (buf.length < 4) return { kind: 'incomplete' };
    len = buf.readUInt16BE(2);
    at = 4;
  } else if (len === 127) {
    if (buf.length < 10) return { kind: 'incomplete' };
    const big = buf.readBigUInt64BE(2);
    if (big > BigInt(Number.MAX_SAFE_INTEGER)) return { kind: 'error', message: `a frame of ${big} octets` };
    len = Number(big);
    at = 10;
  }
  const maskAt = at;
  if (masked) at += 4;
  if (buf.length < at + len) return { kind: 'incomplete' };
  const payload = Buffer.from(buf.subarray(at, at + len));
  if (masked) for (let i = 0; i < len; i++) payload[i]! ^= buf[maskAt + (i & 3)]!;
  return { kind: 'frame', frame: { fin, opcode, payload }, used: at + len };
}

/** A Chrome DevTools Protocol session over one WebSocket. */
export interface CdpSession {
  /** Sends one command and resolves with its result (rejects with the protocol's error). */
  call(method: string, params?: Record<string, unknown>): Promise<Record<string, unknown>>;
  /** Closes the connection (a close frame, then the socket). */
  close(): void;
}

/** Connects to `url` (ws://host:port/path) and speaks CDP on it. */
export function connectCdp(url: string, timeoutMs = 5000): Promise<CdpSession> {
  const u = new URL(url);
  const key = randomBytes(16).toString('base64');
  return new Promise((resolve, reject) => {
    const req = http.request({
      host: u.hostname,
      port: Number(u.port),
      path: u.pathname,
      headers: { Connection: 'Upgrade', Upgrade: 'websocket', 'Sec-WebSocket-Key': key, 'Sec-WebSocket-Version': '13' },
      timeout: timeoutMs,
    });
    req.once('timeout', () => req.destroy(new Error(`no WebSocket handshake from ${url} in ${timeoutMs} ms`)));
    req.once('error', reject);
    req.once('response', (res) => reject(new Error(`${url} answered HTTP ${res.statusCode}, not a WebSocket upgrade`)));
    req.once('upgrade', (res, socket, head) => {
      if (res.headers['sec-websocket-accept'] !== acceptFor(key)) {
        socket.destroy();
        reject(new Error(`${url}: wrong Sec-WebSocket-Accept`));
        return;
      }
      resolve(session(socket, head));
    });
    req.end();
  });
}

function session(socket: net.Socket, head: Buffer): CdpSession {
  let nextId = 1;
  const pending = new Map<number, { resolve: (r: Record<string, unknown>) => void; reject: (e: Error) => void }>();
  let buf = head;
  let message: Buffer[] = [];
  const failAll = (e: Error): void => {
    for (const p of pending.values()) p.reject(e);
    pending.clear();
  };
  const onMessage = (text: string): void => {
    let m: { id?: number; result?: Record<string, unknown>; error?: { message?: string } };
    try {
      m = JSON.parse(text);
    } catch {
      return;
    }
    if (m.id === undefined) return; // an event
    const p = pending.get(m.id);
    if (!p) return;
    pending.delete(m.id);
    if (m.error) p.reject(new Error(m.error.message ?? JSON.stringify(m.error)));
    else p.resolve(m.result ?? {});
  };
  const drain = (): void => {
    for (;;) {
      const d = decodeFrame(buf);
      if (d.kind === 'incomplete') return;
      if (d.kind === 'error') {
        socket.destroy();
        failAll(new Error(d.message));
        return;
      }
      buf = buf.subarray(d.used);
      const { opcode, payload, fin } = d.frame;
      if (opcode === OP.ping) socket.write(encodeFrame(OP.pong, payload));
      else if (opcode === OP.close) socket.end();
      else if (opcode === OP.text || opcode === OP.binary || opcode === OP.continuation) {
        message.push(payload);
        if (fin) {
          const whole = Buffer.concat(message);
          message = [];
          onMessage(whole.toString('utf8'));
        }
      }
    }
  };
  socket.on('data', (d: Buffer) => {
    buf = buf.length ? Buffer.concat([buf, d]) : d;
    drain();
  });
  socket.on('close', () => failAll(new Error('the inspector closed the connection')));
  socket.on('error', (e) => failAll(e));
  drain();
  return {
    call(method, params = {}) {
      const id = nextId++;
      return new Promise((resolve, reject) => {
        pending.set(id, { resolve, reject });
        socket.write(encodeFrame(OP.text, Buffer.from(JSON.stringify({ id, method, params }))));
      });
    },
    close() {
      if (!socket.destroyed) {
        socket.write(encodeFrame(OP.close, Buffer.alloc(0)));
        socket.end();
        setTimeout(() => socket.destroy(), 500).unref();
      }
    },
  };
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** GET http://127.0.0.1:port/json/list: the inspector's targets, or null while nothing listens. */
function targets(port: number): Promise<{ title?: string; webSocketDebuggerUrl?: string }[] | null> {
  return new Promise((resolve) => {
    const req = http.get({ host: '127.0.0.1', port, path: '/json/list', timeout: 1000 }, (res) => {
      const parts: Buffer[] = [];
      res.on('error', () => resolve(null));
      res.on('data', (d: Buffer) => parts.push(d));
      res.on('end', () => {
        try {
          resolve(JSON.parse(Buffer.concat(parts).toString('utf8')));
        } catch {
          resolve(null);
        }
      });
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(null));
  });
}

/** Does anything accept TCP connections on 127.0.0.1:port now? */
export function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const c = net.connect({ host: '127.0.0.1', port });
    c.once('connect', () => {
      c.destroy();
      resolve(true);
    });
    c.once('error', () => resolve(false));
  });
}

/** V8's heap right after a full collection (Runtime.getHeapUsage), octets. */
export interface HeapAfterGc {
  usedBytes: number;
  totalBytes: number;
}

/** What a forced collection gave, or why there was none. `opened`: this call opened the inspector (SIGUSR1); else it was open already. */
export type GcOutcome = ({ kind: 'ok'; opened: boolean } & HeapAfterGc & { pssKb: number }) | { kind: 'error'; message: string };

/**
 * Forces a full garbage collection in Node process `pid` whose inspector
 * port is `port` (it was started with `--inspect-port=127.0.0.1:PORT`,
 * e.g. through NODE_OPTIONS), reads its heap and runs `afterGc` (a PSS
 * reading, taken while the collected heap is fresh). The first call opens
 * the inspector with SIGUSR1; the inspector then stays open (listening on
 * 127.0.0.1 only, no session attached between calls) for the process's
 * life: closing it (`inspector.close()`, `process._debugEnd()`) so soon
 * after a session crashes Node 20 with SIGSEGV (nodejs/node#18761's kind:
 * here 6 of 6 processes died within 22 open-collect-close cycles, 0 of 3
 * in 40 cycles each when left open). A port that already listens is used
 * only if its inspector's `process.pid` is `pid`.
 */
export async function collectGarbage(pid: number, port: number, afterGc: () => number, timeoutMs = 5000): Promise<GcOutcome> {
  let list = (await listening(port)) ? await targets(port) : null;
  const opened = list === null;
  if (opened) {
    if (await listening(port)) return { kind: 'error', message: `127.0.0.1:${port} listens but is no inspector (no /json/list): give pid ${pid} a port of its own` };
    try {
      process.kill(pid, 'SIGUSR1');
    } catch (e) {
      return { kind: 'error', message: `SIGUSR1 to pid ${pid}: ${(e as Error).message}` };
    }
    const end = Date.now() + timeoutMs;
    while (Date.now() < end && !(list = await targets(port))) await sleep(10);
  }
  const target = list?.find((t) => t.webSocketDebuggerUrl?.startsWith(`ws://127.0.0.1:${port}/`));
  if (!target?.webSocketDebuggerUrl) return { kind: 'error', message: list ? `the inspector on 127.0.0.1:${port} lists no target there: ${JSON.stringify(list)}` : `pid ${pid} opened no inspector on 127.0.0.1:${port} within ${timeoutMs} ms (started without --inspect-port=${port}?)` };
  let cdp: CdpSession;
  try {
    cdp = await connectCdp(target.webSocketDebuggerUrl, timeoutMs);
  } catch (e) {
    return { kind: 'error', message: (e as Error).message };
  }
  try {
    const who = await cdp.call('Runtime.evaluate', { expression: 'process.pid' });
    const whoPid = (who['result'] as { value?: unknown } | undefined)?.value;
    if (whoPid !== pid) return { kind: 'error', message: `the inspector on 127.0.0.1:${port} is pid ${String(whoPid)}'s, not ${pid}'s` };
    await cdp.call('HeapProfiler.collectGarbage');
    const heap = await cdp.call('Runtime.getHeapUsage');
    const pssKb = afterGc();
    return { kind: 'ok', opened, usedBytes: Number(heap['usedSize']), totalBytes: Number(heap['totalSize']), pssKb };
  } catch (e) {
    return { kind: 'error', message: `pid ${pid}'s inspector: ${(e as Error).message}` };
  } finally {
    cdp.close();
  }
}

/**
 * Evaluates `expression` in Node process `pid` through its inspector on
 * `port`, which must be open already (a {@link collectGarbage} opened it),
 * with the console's command-line API (so `require` is there), and gives
 * the value. For the benchmark's own probes, never for a served process.
 */
export async function evaluateIn(pid: number, port: number, expression: string, timeoutMs = 5000): Promise<{ kind: 'ok'; value: unknown } | { kind: 'error'; message: string }> {
  const list = await targets(port);
  const target = list?.find((t) => t.webSocketDebuggerUrl?.startsWith(`ws://127.0.0.1:${port}/`));
  if (!target?.webSocketDebuggerUrl) return { kind: 'error', message: `no inspector open on 127.0.0.1:${port}` };
  let cdp: CdpSession;
  try {
    cdp = await connectCdp(target.webSocketDebuggerUrl, timeoutMs);
  } catch (e) {
    return { kind: 'error', message: (e as Error).message };
  }
  try {
    const who = await cdp.call('Runtime.evaluate', { expression: 'process.pid' });
    const whoPid = (who['result'] as { value?: unknown } | undefined)?.value;
    if (whoPid !== pid) return { kind: 'error', message: `the inspector on 127.0.0.1:${port} is pid ${String(whoPid)}'s, not ${pid}'s` };
    const r = await cdp.call('Runtime.evaluate', { expression, includeCommandLineAPI: true, returnByValue: true });
    if (r['exceptionDetails']) return { kind: 'error', message: `${expression}: ${JSON.stringify(r['exceptionDetails']).slice(0, 500)}` };
    return { kind: 'ok', value: (r['result'] as { value?: unknown } | undefined)?.value };
  } catch (e) {
    return { kind: 'error', message: `pid ${pid}'s inspector: ${(e as Error).message}` };
  } finally {
    cdp.close();
  }
}
