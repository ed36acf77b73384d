import { expect } from 'chai';
import net from 'node:net';
import { serveOpsHttp, type OpsHttpServer, type Readiness } from '../../../src/ops/http.js';

describe('metrics and health HTTP listener', () => {
  let server: OpsHttpServer;
  let ready: Readiness = { ready: true };
  let scrapes = 0;
  before(async () => {
    const r = await serveOpsHttp(
      { address: '127.0.0.1', port: 0 },
      {
        metrics: async () => {
          scrapes++;
          return { contentType: 'text/plain; version=0.0.4; charset=utf-8', body: `up ${scrapes}\n` };
        },
        readiness: async () => ready,
      },
    );
    if (r.kind !== 'ok') throw r.error;
    server = r.server;
  });
  after(() => server.close());

  const get = async (path: string, method = 'GET'): Promise<{ status: number; type: string; body: string }> => {
    const res = await fetch(`http://127.0.0.1:${server.port}${path}`, { method });
    return { status: res.status, type: res.headers.get('content-type') ?? '', body: await res.text() };
  };

  it('serves the exposition on /metrics, fresh on each request', async () => {
    const a = await get('/metrics');
    const b = await get('/metrics?x=1');
    expect(a).to.deep.equal({ status: 200, type: 'text/plain; version=0.0.4; charset=utf-8', body: `up ${scrapes - 1}\n` });
    expect(b.body).to.equal(`up ${scrapes}\n`);
  });

  it('answers /health 200 while the process is up', async () => {
    expect(await get('/health')).to.deep.include({ status: 200, body: 'ok\n' });
  });

  it('answers /ready 200 when ready, 503 with the reasons when not', async () => {
    ready = { ready: true };
    expect(await get('/ready')).to.deep.include({ status: 200, body: 'ready\n' });
    ready = { ready: false, why: ['worker 1: not serving', 'worker 2 (pid 9): serves an older zone version'] };
    expect(await get('/ready')).to.deep.include({ status: 503, body: 'not ready:\nworker 1: not serving\nworker 2 (pid 9): serves an older zone version\n' });
  });

  it('answers HEAD without a body, 404 for other paths, 405 for other methods', async () => {
    expect(await get('/health', 'HEAD')).to.deep.include({ status: 200, body: '' });
    expect((await get('/')).status).to.equal(404);
    expect((await get('/metrics', 'POST')).status).to.equal(405);
  });

  it('refuses a port in use with a coded error that says what to do', async () => {
    const r = await serveOpsHttp({ address: '127.0.0.1', port: server.port }, { metrics: async () => ({ contentType: '', body: '' }), readiness: async () => ({ ready: true }) });
    expect(r.kind).to.equal('error');
    if (r.kind === 'error') {
      expect(r.error.code).to.equal('E_METRICS');
      expect(r.error.describe()).to.equal(`cannot serve metrics on 127.0.0.1:${server.port}/tcp: the port is in use — another program listens there (ss -ltnp 'sport = :${server.port}'); give --metrics another port, e.g. 9153`);
    }
  });

  it('closes with a scraper\'s connection still open', async () => {
    const r = await serveOpsHttp({ address: '127.0.0.1', port: 0 }, { metrics: async () => ({ contentType: 'text/plain', body: '' }), readiness: async () => ({ ready: true }) });
    if (r.kind !== 'ok') throw r.error;
    const conn = net.connect({ port: r.server.port, host: '127.0.0.1' });
    await new Promise((resolve) => conn.once('connect', resolve));
    await r.server.close();
    await new Promise((resolve) => conn.once('close', resolve));
  });
});
