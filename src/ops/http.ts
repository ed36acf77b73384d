/** The metrics and health HTTP listener (node:http): /metrics (Prometheus text), /health (the process is up), /ready (every worker serves the current zones). */

import http from 'node:http';
import type { HostPort } from '../config.js';
import { ShardnsError } from '../errors.js';
import { formatEndpoint } from '../net/reuseport.js';

/** Whether the server is ready to be sent queries, and if not, why. */
export type Readiness = { ready: true } | { ready: false; why: string[] };

/** What the listener asks for on each request. */
export interface OpsHttpHandlers {
  /** The metrics exposition and its content type. */
  metrics(): Promise<{ contentType: string; body: string }>;
  readiness(): Promise<Readiness>;
}

/** A listening ops endpoint. */
export interface OpsHttpServer {
  /** The port bound (the one asked for, or the kernel's pick for port 0). */
  port: number;
  /** Stops listening and closes the connections still open. */
  close(): Promise<void>;
}

/**
 * Listens on `at` and answers GET (and HEAD) for `/metrics`, `/health` and
 * `/ready`; anything else is 404, other methods 405. `/health` answers
 * from the supervisor's event loop alone: 200 means the process is up and
 * not stuck. `/ready` is 200 only when every worker answers and serves the
 * zone version being served, else 503 with the reasons, one a line.
 */
export function serveOpsHttp(at: HostPort, handlers: OpsHttpHandlers): Promise<{ kind: 'ok'; server: OpsHttpServer } | { kind: 'error'; error: ShardnsError; inUse: boolean }> {
  const server = http.createServer((req, res) => {
    void respond(req, res, handlers);
  });
  // Scrapers keep connections open; idle ones must not hold the supervisor's shutdown.
  server.keepAliveTimeout = 5000;
  return new Promise((resolve) => {
    server.once('error', (err: NodeJS.ErrnoException) => resolve({ kind: 'error', error: listenError(at, err), inUse: err.code === 'EADDRINUSE' }));
    server.listen({ host: at.address, port: at.port, exclusive: true }, () => {
      const address = server.address();
      resolve({
        kind: 'ok',
        server: {
          port: typeof address === 'object' && address !== null ? address.port : at.port,
          close: () =>
            new Promise<void>((done) => {
              server.close(() => done());
              server.closeAllConnections();
            }),
        },
      });
    });
  });
}

async function respond(req: http.IncomingMessage, res: http.ServerResponse, handlers: OpsHttpHandlers): Promise<void> {
  const path = (req.url ?? '/').split('?', 1)[0];
  const send = (status: number, contentType: string, body: string): void => {
    res.writeHead(status, { 'content-type': contentType, 'cache-control': 'no-store' });
    res.end(req.method === 'HEAD' ? undefined : body);
  };
  const text = 'text/plain; charset=utf-8';
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.setHeader('allow', 'GET, HEAD');
    send(405, text, 'only GET and HEAD\n');
    return;
  }
  try {
    switch (path) {
      case '/metrics': {
        const m = await handlers.metrics();
        send(200, m.contentType, m.body);
        return;
      }
      case '/health':
        send(200, text, 'ok\n');
        return;
      case '/ready': {
        const r = await handlers.readiness();
        if (r.ready) send(200, text, 'ready\n');
        else send(503, text, `not ready:\n${r.why.join('\n')}\n`);
        return;
      }
      default:
        send(404, text, 'not found; try /metrics, /health or /ready\n');
    }
  } catch (err) {
    send(500, text, `internal error: ${(err as Error).message}\n`);
  }
}

/** A bind failure as a coded error that says what to do. */
function listenError(at: HostPort, err: NodeJS.ErrnoException): ShardnsError {
  const where = `${formatEndpoint(at.address, at.port)}/tcp`;
  switch (err.code) {
    case 'EADDRINUSE':
      return new ShardnsError('E_METRICS', `cannot serve metrics on ${where}: the port is in use`, `another program listens there (ss -ltnp 'sport = :${at.port}'); give --metrics another port, e.g. 9153`);
    case 'EACCES':
      return new ShardnsError('E_METRICS', `cannot serve metrics on ${where}: permission denied`, 'ports below 1024 need privilege; give --metrics a port above 1023, e.g. 127.0.0.1:9153');
    case 'EADDRNOTAVAIL':
      return new ShardnsError('E_METRICS', `cannot serve metrics on ${where}: the address is not on this machine`, 'give --metrics an address of one of its interfaces, e.g. 127.0.0.1:9153');
    default:
      return new ShardnsError('E_METRICS', `cannot serve metrics on ${where}: ${err.message}`, 'check the address given to --metrics');
  }
}
