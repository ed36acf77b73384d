/** Helpers for the metrics, dnstap and query log tests: folders the server's user may write, scrapes, the kernel's own drop counts. */

import { chmodSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DNSTAP_CONTENT_TYPE } from '../../src/ops/dnstap.js';
import { CONTROL, controlFrame, FrameReader, type Frame } from '../../src/ops/frame-streams.js';
import { parseExposition, type Exposition } from './prometheus.js';

/**
 * A temporary folder any user may write: started as root, shardns drops to
 * an unprivileged user before it opens its log outputs (as it must).
 */
export function sharedDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  chmodSync(dir, 0o777);
  return dir;
}

/** Writes a zone file any user may read; returns its path. */
export function writeSharedZone(dir: string, name: string, text: string): string {
  const file = join(dir, name);
  writeFileSync(file, text, { mode: 0o644 });
  return file;
}

/** GET from the metrics listener: status and body. */
export async function httpGet(port: number, path: string): Promise<{ status: number; body: string; type: string }> {
  const res = await fetch(`http://127.0.0.1:${port}${path}`);
  return { status: res.status, body: await res.text(), type: res.headers.get('content-type') ?? '' };
}

/** Scrapes /metrics and parses the exposition. */
export async function scrape(port: number): Promise<Exposition> {
  const r = await httpGet(port, '/metrics');
  if (r.status !== 200) throw new Error(`/metrics answered ${r.status}: ${r.body}`);
  return parseExposition(r.body);
}

/**
 * The kernel's drop count of the UDP socket bound to 127.0.0.1:port, read
 * straight from /proc/net/udp (the test's own reading, not shardns's).
 * Every socket of the reuseport group is listed; their drops are summed.
 */
export function kernelUdpDrops(port: number): number {
  const local = `0100007F:${port.toString(16).toUpperCase().padStart(4, '0')}`;
  let drops = 0;
  for (const line of readFileSync('/proc/net/udp', 'utf8').split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f[1] === local) drops += Number(f[f.length - 1]);
  }
  return drops;
}

/** A dnstap collector on a unix socket, as fstrm_capture is one. */
export interface Collector {
  server: net.Server;
  /** Every frame received, over every connection, in order. */
  frames: Frame[];
  connections(): number;
  close(): Promise<void>;
}

/**
 * Listens on `path` (mode 0666: the server may run as another user) and
 * speaks Frame Streams' bidirectional handshake as a reader: READY is
 * answered with ACCEPT carrying `accept`, STOP with FINISH.
 */
export function startCollector(path: string, accept: string[] = [DNSTAP_CONTENT_TYPE]): Promise<Collector> {
  const frames: Frame[] = [];
  let connections = 0;
  const open = new Set<net.Socket>();
  const server = net.createServer((s) => {
    connections++;
    open.add(s);
    s.on('close', () => open.delete(s));
    const reader = new FrameReader();
    s.on('data', (chunk) => {
      const got = reader.push(chunk);
      if (typeof got === 'string') {
        s.destroy(new Error(got));
        return;
      }
      for (const f of got) {
        frames.push(f);
        if (f.kind === 'control' && f.type === CONTROL.READY) s.write(controlFrame(CONTROL.ACCEPT, accept));
        if (f.kind === 'control' && f.type === CONTROL.STOP) s.end(controlFrame(CONTROL.FINISH));
      }
    });
    s.on('error', () => undefined);
  });
  return new Promise((resolve) =>
    server.listen(path, () => {
      chmodSync(path, 0o666);
      resolve({
        server,
        frames,
        connections: () => connections,
        close: () =>
          new Promise<void>((done) => {
            for (const s of open) s.destroy();
            server.close(() => done());
          }),
      });
    }),
  );
}
