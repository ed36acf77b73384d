/**
 * Response rate limiting in the real server over real sockets: a flood from
 * many addresses of one loopback /24 is limited at the configured rate with
 * every 2nd limited reply truncated, another client is answered in full, TCP
 * and valid cookies are never limited, loopback is exempt by default, the
 * counters say what happened, and dig retries a truncated reply over TCP.
 */

import { spawn } from 'node:child_process';
import dgram from 'node:dgram';
import net from 'node:net';
import { expect } from 'chai';
import dnsPacket from 'dns-packet';
import { flood, sourcesIn24 } from '../../bench/flood.js';
import { frame } from '../helpers/dns-client.js';
import { ROOT, startServer, type RunningServer } from '../helpers/server.js';
import { digUnavailable } from '../helpers/transfer-checks.js';

const FIX = `${ROOT}test/fixtures/answers/`;
const RATE = 20;

/** www.example.com A with EDNS (and a COOKIE option when given, hex). */
function query(cookie?: string, name = 'www.example.com'): Buffer {
  const options = cookie === undefined ? [] : [{ code: 10, data: Buffer.from(cookie, 'hex') }];
  return dnsPacket.encode({ type: 'query', id: 1, flags: 0, questions: [{ name, type: 'A', class: 'IN' }], additionals: [{ type: 'OPT', name: '.', udpPayloadSize: 1232, flags: 0, options } as never] });
}

/** Every worker's counters, summed, from the supervisor's SIGUSR1 lines. */
async function counters(server: RunningServer, workers = 1): Promise<Record<string, number>> {
  const since = server.mark();
  process.kill(server.proc.pid!, 'SIGUSR1');
  const m = await server.waitFor(new RegExp(`(worker \\d+ \\(pid \\d+\\) counters[^\\n]*\\n[\\s\\S]*?){${workers}}`), 5000, since);
  const sums: Record<string, number> = {};
  for (const [, k, v] of m[0].matchAll(/([\w.]+)=(\d+)/g)) sums[k!] = (sums[k!] ?? 0) + Number(v);
  return sums;
}

/** One query over UDP from `localAddress`; the reply. */
function udpAsk(port: number, localAddress: string, q: Buffer): Promise<Buffer | null> {
  return new Promise((resolve) => {
    const u = dgram.createSocket('udp4');
    const timer = setTimeout(() => {
      u.close();
      resolve(null);
    }, 3000);
    u.on('message', (m) => {
      clearTimeout(timer);
      u.close();
      resolve(m);
    });
    u.bind(0, localAddress, () => u.send(q, port, '127.0.0.1'));
  });
}

/** The COOKIE option data of a reply (hex), or null. */
function cookieOf(reply: Buffer): string | null {
  const opt = (dnsPacket.decode(reply).additionals ?? []).find((a) => a.type === 'OPT') as { options?: { code: number; data: Buffer }[] } | undefined;
  return opt?.options?.find((o) => o.code === 10)?.data.toString('hex') ?? null;
}

/** One query over TCP from `localAddress`; the reply. */
function tcpAsk(port: number, localAddress: string, q: Buffer): Promise<Buffer | null> {
  return new Promise((resolve) => {
    let buf = Buffer.alloc(0);
    const c = net.connect({ port, host: '127.0.0.1', localAddress });
    const timer = setTimeout(() => {
      c.destroy();
      resolve(null);
    }, 3000);
    c.on('connect', () => c.write(frame(q)));
    c.on('data', (d) => {
      buf = Buffer.concat([buf, d]);
      if (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
        clearTimeout(timer);
        c.destroy();
        resolve(buf.subarray(2, 2 + buf.readUInt16BE(0)));
      }
    });
    c.on('error', () => undefined);
  });
}

describe('response rate limiting (RRL) in the real server', function () {
  this.timeout(60_000);
  const servers: RunningServer[] = [];
  const start = async (args: string[]): Promise<RunningServer> => {
    const s = await startServer(['--workers', '1', '--listen', '127.0.0.1', '--forward', 'none', '--zone', `example.com.=${FIX}example.com.zone`, ...args]);
    servers.push(s);
    return s;
  };
  afterEach(() => {
    for (const s of servers.splice(0)) s.kill();
  });

  it('a flood from 50 addresses of one /24 is answered at the rate, then every 2nd limited reply truncated; another /24 is answered in full; TCP too; counted', async () => {
    const s = await start(['--rrl', String(RATE), '--rrl-exempt', 'none']);
    const [flooded, polite] = await Promise.all([
      flood({ host: '127.0.0.1', port: s.port, query: query(), sources: sourcesIn24('127.77.1', 50), rate: 1500, durationMs: 3000 }),
      flood({ host: '127.0.0.1', port: s.port, query: query(), sources: ['127.88.0.1'], rate: RATE - 5, durationMs: 3000 }),
      // A real client of the flooded prefix, over TCP: never limited.
      new Promise((r) => setTimeout(r, 1500)).then(async () => {
        const reply = await tcpAsk(s.port, '127.77.1.200', query());
        expect(reply, 'a TCP reply').to.not.equal(null);
        expect(dnsPacket.decode(reply!).answers, 'answered in full over TCP').to.have.length(2);
      }),
    ]);
    // NSD's measure: replies go until this second's count plus half the last second's rate
    // reaches twice the rate (39 from a standing start), and at most 3 × the rate when the
    // flood starts late in a second; then, while it lasts, none.
    expect(flooded.whole, JSON.stringify(flooded)).to.be.within(2 * RATE - 1, 3 * RATE);
    expect(flooded.wholePerSecond.slice(2).every((n) => n === 0), `no whole replies after the first seconds: ${flooded.wholePerSecond}`).to.equal(true);
    const limited = flooded.sent - flooded.whole;
    expect(flooded.truncated, 'every 2nd limited reply is truncated').to.be.within(Math.floor(limited / 2) - 1, Math.ceil(limited / 2) + 1);
    expect(polite.whole, 'the other /24 is answered in full').to.equal(polite.sent);
    expect(polite.truncated).to.equal(0);
    const c = await counters(s);
    expect(c['rrl.limited'], 'limited').to.equal(limited);
    expect(c['rrl.slipped'], 'truncated').to.equal(flooded.truncated);
    expect(c['dropped'], 'dropped').to.equal(flooded.none);
  });

  it('loopback is exempt by default: the same flood is answered in full', async () => {
    const s = await start([]);
    const flooded = await flood({ host: '127.0.0.1', port: s.port, query: query(), sources: sourcesIn24('127.77.1', 50), rate: 1000, durationMs: 2000 });
    expect(flooded.whole).to.equal(flooded.sent);
    expect((await counters(s))['rrl.limited']).to.equal(0);
  });

  it('--rrl 0 turns it off', async () => {
    const s = await start(['--rrl', '0', '--rrl-exempt', 'none']);
    const flooded = await flood({ host: '127.0.0.1', port: s.port, query: query(), sources: sourcesIn24('127.77.1', 50), rate: 1000, durationMs: 2000 });
    expect(flooded.whole).to.equal(flooded.sent);
  });

  it('a client showing our server cookie is not limited; the same flood without it is (RFC 7873 §5.3)', async () => {
    const s = await start(['--rrl', String(RATE), '--rrl-exempt', 'none']);
    // Learn a server cookie for 127.77.1.1.
    const first = await udpAsk(s.port, '127.77.1.1', query('0102030405060708'));
    const learned = cookieOf(first!)!;
    expect(learned).to.have.length(48);
    const withCookie = await flood({ host: '127.0.0.1', port: s.port, query: query(learned), sources: ['127.77.1.1'], rate: 500, durationMs: 2000 });
    expect(withCookie.whole, 'with our cookie: all answered').to.equal(withCookie.sent);
    const without = await flood({ host: '127.0.0.1', port: s.port, query: query('0102030405060708'), sources: ['127.77.1.1'], rate: 500, durationMs: 2000 });
    expect(without.whole, 'a client cookie alone: limited').to.be.below(3 * RATE);
    expect((await counters(s))['cookies.valid']).to.equal(withCookie.sent);
  });

  it('dig, given a truncated reply, asks again over TCP and gets the answer', async function () {
    const why = digUnavailable();
    if (why) {
      console.log(`      skip: ${why}`);
      this.skip();
    }
    // Every limited reply truncated, so dig's one try is answered with TC.
    const s = await start(['--rrl', String(RATE), '--rrl-slip', '1', '--rrl-exempt', 'none']);
    const flooding = flood({ host: '127.0.0.1', port: s.port, query: query(), sources: sourcesIn24('127.77.1', 20), rate: 500, durationMs: 3000 });
    await new Promise((r) => setTimeout(r, 1500));
    const dig = await new Promise<string>((resolve) => {
      const p = spawn('dig', ['@127.0.0.1', '-p', String(s.port), '-b', '127.77.1.250', 'www.example.com', 'A', '+tries=1', '+time=2']);
      let out = '';
      p.stdout.on('data', (d: Buffer) => (out += d.toString()));
      p.on('exit', () => resolve(out));
    });
    await flooding;
    expect(dig).to.match(/Truncated, retrying in TCP mode/);
    expect(dig).to.match(/status: NOERROR/);
    expect(dig).to.match(/www\.example\.com\.\s+3600\s+IN\s+A\s+192\.0\.2\.8[01]/);
  });
});
