/** DNS over TLS upstreams with a real peer: Unbound serving DoT with a certificate from a CA made by openssl at test time. */

import { expect } from 'chai';
import { buildQuery, decodeReply, udpExchange, type Reply } from '../helpers/dns-client.js';
import { freePort, startServer, type RunningServer } from '../helpers/server.js';
import { issueServerCert, makeCa, opensslUnavailable, type TestCa } from '../helpers/test-ca.js';
import { startUnbound, unboundUnavailable, type Unbound } from '../helpers/unbound.js';

async function ask(port: number, name: string): Promise<Reply> {
  const bytes = await udpExchange(buildQuery(name, 'A', 'IN', { edns: true }), port, '127.0.0.1', 8000);
  if (!bytes) throw new Error(`no reply for ${name}`);
  return decodeReply(bytes);
}

const brief = (r: Reply): string => [r.rcode, ...r.answers.map((x) => String(x.data))].join(' ');

/** The SIGUSR1 line's `forwarding.<name>` value. */
async function counter(s: RunningServer, name: string): Promise<number> {
  const since = s.mark();
  process.kill(s.proc.pid!, 'SIGUSR1');
  const m = await s.waitFor(new RegExp(`forwarding\\.${name}=(\\d+)`), 5000, since);
  return Number(m[1]);
}

describe('DNS over TLS upstreams: Unbound with a test CA', function () {
  this.timeout(60_000);
  let ca: TestCa;
  let otherCa: TestCa;
  let unbound: Unbound;
  const running: RunningServer[] = [];
  const serve = async (args: string[]): Promise<RunningServer> => {
    const s = await startServer(['--workers', '1', '--listen', '127.0.0.1', '--etc-hosts', 'off', ...args]);
    running.push(s);
    return s;
  };

  before(async function () {
    const why = opensslUnavailable() ?? unboundUnavailable();
    if (why) {
      console.log(`      skip: ${why}`);
      this.skip();
    }
    ca = makeCa();
    otherCa = makeCa('another CA');
    const cert = issueServerCert(ca, 'dot.test');
    const names = Array.from({ length: 40 }, (_, i) => `n${i}.dot.test. 300 IN A 192.0.2.${i + 100}`);
    unbound = await startUnbound({ port: await freePort(), tls: cert, localZones: ['dot.test.'], localData: ['www.dot.test. 300 IN A 192.0.2.53', ...names] });
  });
  afterEach(() => {
    for (const s of running.splice(0)) s.kill();
  });
  after(() => unbound?.stop());

  it('answers over TLS, the certificate checked against --tls-ca and the name; one connection carries every question', async () => {
    const before = unbound.queries();
    const s = await serve(['--forward', `tls://127.0.0.1:${unbound.port}#dot.test`, '--tls-ca', ca.certFile]);
    await s.waitFor(/DNS over TLS: upstream certificates are checked against --tls-ca .*ca\.pem/, 5000);
    expect(brief(await ask(s.port, 'www.dot.test'))).to.equal('NOERROR 192.0.2.53');
    // Forty more names at once: pipelined on the one connection.
    const replies = await Promise.all(Array.from({ length: 40 }, (_, i) => ask(s.port, `n${i}.dot.test`)));
    replies.forEach((r, i) => expect(brief(r), `n${i}`).to.equal(`NOERROR 192.0.2.${i + 100}`));
    expect(brief(await ask(s.port, 'nx.dot.test'))).to.equal('NXDOMAIN');
    expect(unbound.queries() - before, 'every question reached Unbound').to.equal(42);
    expect(await counter(s, 'tlsHandshakes'), 'one TLS handshake for 42 questions').to.equal(1);
  });

  it('a name the certificate does not carry: SERVFAIL, and a log line saying why and what to do', async () => {
    const s = await serve(['--forward', `tls://127.0.0.1:${unbound.port}#wrong.test`, '--tls-ca', ca.certFile, '--forward-deadline', '1']);
    expect((await ask(s.port, 'www.dot.test')).rcode).to.equal('SERVFAIL');
    await s.waitFor(/WARN .*upstream tls:\/\/127\.0\.0\.1:\d+#wrong\.test: TLS connection failed: the certificate does not carry the name asked for .*check that the name after # is one the upstream's certificate carries/, 5000);
  });

  it('a certificate from a CA not trusted: SERVFAIL and why; nothing ever sent in plain DNS to that upstream', async () => {
    const before = unbound.queries();
    const s = await serve(['--forward', `tls://127.0.0.1:${unbound.port}#dot.test`, '--tls-ca', otherCa.certFile, '--forward-deadline', '1']);
    for (let i = 0; i < 3; i++) expect((await ask(s.port, `www.dot.test`)).rcode).to.equal('SERVFAIL');
    await s.waitFor(/TLS connection failed: the certificate is not issued by a trusted CA \(\w+\)/, 5000);
    // Unbound answers plain DNS on the same UDP port: had anything gone in the clear, it would count it.
    expect(unbound.queries() - before).to.equal(0);
  });

  it('the system CAs by default: the test CA is not among them, so the handshake fails', async () => {
    const s = await serve(['--forward', `tls://127.0.0.1:${unbound.port}#dot.test`, '--forward-deadline', '1']);
    await s.waitFor(/DNS over TLS: upstream certificates are checked against (the system CAs|Node's bundled CAs)/, 5000);
    expect((await ask(s.port, 'www.dot.test')).rcode).to.equal('SERVFAIL');
  });

  it('a failed handshake fails over like a silent upstream: the next upstream answers', async () => {
    // Unbound's plain port is the same number, over UDP: the second upstream.
    const s = await serve(['--forward', `tls://127.0.0.1:${unbound.port}#wrong.test,127.0.0.1:${unbound.port}`, '--tls-ca', ca.certFile]);
    for (let i = 0; i < 3; i++) expect(brief(await ask(s.port, `n${i}.dot.test`))).to.equal(`NOERROR 192.0.2.${i + 100}`);
  });

  it('a forward zone\'s upstream over TLS (split DNS to a DoT resolver)', async () => {
    const s = await serve(['--forward', 'none', '--forward-zone', `dot.test.=tls://127.0.0.1:${unbound.port}#dot.test`, '--tls-ca', ca.certFile]);
    expect(brief(await ask(s.port, 'www.dot.test'))).to.equal('NOERROR 192.0.2.53');
    expect(brief(await ask(s.port, 'www.elsewhere.test'))).to.equal('REFUSED');
  });

  it('an unreadable --tls-ca stops the start with what to do', async () => {
    const port = await freePort();
    const { spawnServer } = await import('../helpers/server.js');
    const s = spawnServer(['--workers', '1', '--listen', '127.0.0.1', '--forward', `tls://127.0.0.1:${unbound.port}#dot.test`, '--tls-ca', '/nonexistent/ca.pem'], port);
    running.push(s);
    const { code } = await s.exited;
    expect(code).to.equal(1);
    expect(s.stderr()).to.match(/--tls-ca \/nonexistent\/ca\.pem: cannot read it \(ENOENT\): give a PEM file of CA certificates that the user shardns runs as may read/);
  });
});
