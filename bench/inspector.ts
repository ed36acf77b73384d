/**
 * Another Node process's V8 heap, from the benchmark, through Node's own
 * inspector: SIGUSR1 makes a Node process open its inspector (on the port
 * its `--inspect-port` names, 127.0.0.1), one Chrome DevTools Protocol
 * session over a WebSocket forces a full collection and reads the heap's
 * size; the inspector stays open for the next time (see collectGarbage for
 * why it is not closed). No code in the server exists for
 * this: a shardns worker has no SIGUSR1 handler of its own and its node flags
 * leave the signal alone. The WebSocket is the `ws` package's (Node 20 has a client only
 * behind --experimental-websocket).
 */

import http from 'node:http';
import net from 'node:net';
import WebSocket from 'ws';

/** A Chrome DevTools Protocol session over one WebSocket. */
export interface CdpSession {
  /** Sends one command and resolves with its result (rejects with the protocol's error). */
  call(method: string, params?: Record<string, unknown>): Promise<Record<string, unknown>>;
  /** Closes the connection. */
  close(): void;
}

/** Connects to `url` (ws://host:port/path) and speaks CDP on it. */
export function connectCdp(url: string, timeoutMs = 5000): Promise<CdpSession> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { handshakeTimeout: timeoutMs });
    let nextId = 1;
    const pending = new Map<number, { resolve: (r: Record<string, unknown>) => void; reject: (e: Error) => void }>();
    const failAll = (e: Error): void => {
      for (const p of pending.values()) p.reject(e);
      pending.clear();
    };
    ws.once('unexpected-response', (_req, res) => {
      ws.terminate();
      reject(new Error(`${url} answered HTTP ${res.statusCode}, not a WebSocket upgrade`));
    });
    ws.on('error', (e) => {
      failAll(e);
      reject(e);
    });
    ws.on('close', () => failAll(new Error('the inspector closed the connection')));
    ws.on('message', (data) => {
      let m: { id?: number; result?: Record<string, unknown>; error?: { message?: string } };
      try {
        m = JSON.parse(data.toString()) as typeof m;
      } catch {
        return;
      }
      if (m.id === undefined) return; // an event
      const p = pending.get(m.id);
      if (!p) return;
      pending.delete(m.id);
      if (m.error) p.reject(new Error(m.error.message ?? JSON.stringify(m.error)));
      else p.resolve(m.result ?? {});
    });
    ws.once('open', () =>
      resolve({
        call(method, params = {}) {
          const id = nextId++;
          return new Promise((res, rej) => {
            pending.set(id, { resolve: res, reject: rej });
            ws.send(JSON.stringify({ id, method, params }), (err) => {
              if (err) {
                pending.delete(id);
                rej(err);
              }
            });
          });
        },
        close() {
          ws.close();
          setTimeout(() => ws.terminate(), 500).unref();
        },
      }),
    );
  });
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
  const open = await openInspector(pid, port, timeoutMs);
  if (open.kind === 'error') return open;
  const { url, opened } = open;
  return withSession(pid, port, url, timeoutMs, async (cdp) => {
    await cdp.call('HeapProfiler.collectGarbage');
    const heap = await cdp.call('Runtime.getHeapUsage');
    const pssKb = afterGc();
    return { kind: 'ok', opened, usedBytes: Number(heap['usedSize']), totalBytes: Number(heap['totalSize']), pssKb };
  });
}

/**
 * The DevTools URL of pid's inspector on `port`: the one listening there,
 * or, when none listens, one opened with SIGUSR1 (`opened`). A port that
 * listens but is no inspector, or no target within `timeoutMs`, is an error.
 */
async function openInspector(pid: number, port: number, timeoutMs: number): Promise<{ kind: 'ok'; url: string; opened: boolean } | { kind: 'error'; message: string }> {
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
  return { kind: 'ok', url: target.webSocketDebuggerUrl, opened };
}

/** Runs `use` on a session with pid's inspector at `url`, once the inspector has said it is pid's (a port can be another process's); closes it after. */
async function withSession<T extends { kind: string }>(pid: number, port: number, url: string, timeoutMs: number, use: (cdp: CdpSession) => Promise<T>): Promise<T | { kind: 'error'; message: string }> {
  let cdp: CdpSession;
  try {
    cdp = await connectCdp(url, timeoutMs);
  } catch (e) {
    return { kind: 'error', message: (e as Error).message };
  }
  try {
    const who = await cdp.call('Runtime.evaluate', { expression: 'process.pid' });
    const whoPid = (who['result'] as { value?: unknown } | undefined)?.value;
    if (whoPid !== pid) return { kind: 'error', message: `the inspector on 127.0.0.1:${port} is pid ${String(whoPid)}'s, not ${pid}'s` };
    return await use(cdp);
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
  return withSession(pid, port, target.webSocketDebuggerUrl, timeoutMs, async (cdp) => {
    const r = await cdp.call('Runtime.evaluate', { expression, includeCommandLineAPI: true, returnByValue: true });
    if (r['exceptionDetails']) return { kind: 'error' as const, message: `${expression}: ${JSON.stringify(r['exceptionDetails']).slice(0, 500)}` };
    return { kind: 'ok' as const, value: (r['result'] as { value?: unknown } | undefined)?.value };
  });
}

/**
 * Records a V8 CPU profile of Node process `pid` for `ms` milliseconds
 * through its inspector on `port` (opened with SIGUSR1 when it is not open
 * yet, as {@link collectGarbage} does; left open after), sampling every
 * `intervalUs` µs, and gives the profile (a .cpuprofile's JSON). A served
 * process keeps serving meanwhile: nothing has to exit for the profile to
 * be written.
 */
export async function cpuProfile(pid: number, port: number, ms: number, intervalUs = 200, timeoutMs = 5000): Promise<{ kind: 'ok'; profile: unknown } | { kind: 'error'; message: string }> {
  const open = await openInspector(pid, port, timeoutMs);
  if (open.kind === 'error') return open;
  return withSession(pid, port, open.url, timeoutMs + ms, async (cdp) => {
    await cdp.call('Profiler.enable');
    await cdp.call('Profiler.setSamplingInterval', { interval: intervalUs });
    await cdp.call('Profiler.start');
    await sleep(ms);
    const r = await cdp.call('Profiler.stop');
    await cdp.call('Profiler.disable');
    return { kind: 'ok' as const, profile: r['profile'] };
  });
}
