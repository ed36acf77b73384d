/** Upstream replies the forwarder must not pass on or decode (found by the `forwarded` fuzz target, fuzz/crashes/forwarded/), against scripted upstreams on loopback. */

import { expect } from 'chai';
import dnsPacket, { type Answer } from 'dns-packet';
import type { CacheLimits } from '../../../src/forward/cache.js';
import { Forwarder } from '../../../src/forward/forwarder.js';
import { matches, type UpstreamQuestion } from '../../../src/forward/transport.js';
import { a, startFakeUpstream, type FakeUpstream } from '../../helpers/fake-upstream.js';
import { freePort } from '../../helpers/server.js';

const LIMITS: CacheLimits = { maxEntries: 100, maxBytes: 1 << 20, minTtl: 0, maxTtl: 86_400, maxNegativeTtl: 10_800, servfailTtl: 5 };
const QUESTION: UpstreamQuestion = { name: 'bin.remote.test', type: 'A', klass: 'IN', dnssecOk: false, checkingDisabled: false };

/** A reply to QUESTION (ID 0: the fake upstream writes the query's in) holding these records. */
function reply(answers: Answer[], authorities: Answer[] = []): Buffer {
  return dnsPacket.encode({ type: 'response', id: 0, flags: dnsPacket.RECURSION_AVAILABLE, questions: [{ name: QUESTION.name, type: 'A', class: 'IN' }], answers, authorities });
}

/** The reply with the first occurrence of `from` (ASCII) replaced by these octets of the same length. */
function patched(msg: Buffer, from: string, to: number[]): Buffer {
  const at = msg.indexOf(from, 12, 'latin1');
  if (at < 0 || to.length !== from.length) throw new Error(`test setup: no "${from}" to patch`);
  const out = Buffer.from(msg);
  out.set(to, at);
  return out;
}

describe('forwarder: upstream replies that cannot be passed on (fuzz findings)', function () {
  this.timeout(20_000);
  const running: FakeUpstream[] = [];
  afterEach(async () => {
    for (const f of running.splice(0)) await f.close();
  });

  /** A first upstream that sends `bad`, a second that answers 192.0.2.2; the forwarder asks the first first. */
  async function askPast(bad: Buffer): Promise<{ addresses: string[]; owners: string[]; first: FakeUpstream; second: FakeUpstream }> {
    const first = await startFakeUpstream('127.0.0.2', await freePort(), () => ({ kind: 'raw', bytes: bad }));
    const second = await startFakeUpstream('127.0.0.3', await freePort(), () => ({ kind: 'answer', answers: [a(QUESTION.name, '192.0.2.2')] }));
    running.push(first, second);
    const fw = new Forwarder({ upstreams: [first, second].map((f) => ({ address: f.address, port: f.port })), attemptTimeoutMs: 1000, deadlineMs: 3000, maxInFlight: 10, cache: LIMITS });
    const r = fw.resolve(QUESTION);
    if (r.kind === 'over-max') throw new Error('unexpected over-max');
    const answer = await r.answer;
    return { addresses: answer.answers.map((x) => String((x as { data: unknown }).data)), owners: answer.answers.map((x) => x.name), first, second };
  }

  const cases: [string, Buffer][] = [
    // An SSHFP whose SHA-1 fingerprint (type 1) is 3 octets, not 20: dns-packet reads it but will not write it (the client got SERVFAIL).
    ['a record dns-packet reads but cannot write back', reply([a(QUESTION.name, '192.0.2.1'), { name: QUESTION.name, type: 'UNKNOWN_44', class: 'IN', ttl: 60, data: Buffer.from([1, 1, 0xaa, 0xbb, 0xcc]) } as unknown as Answer])],
    // RFC 6891 §6.1.1: OPT only in the additional section; dns-packet cannot write it elsewhere (the client got SERVFAIL).
    ['an OPT record in the authority section', reply([a(QUESTION.name, '192.0.2.1')], [{ name: '.', type: 'OPT', udpPayloadSize: 1232, flags: 0, options: [] } as unknown as Answer])],
  ];
  for (const [what, bad] of cases) {
    it(`a reply with ${what} fails that attempt: the next upstream's answer is given`, async () => {
      const { addresses, first, second } = await askPast(bad);
      expect(addresses).to.deep.equal(['192.0.2.2']);
      expect([first.udpQueries, second.udpQueries]).to.deep.equal([1, 1]);
    });
  }

  // Octets that are not UTF-8 in a label: dns-packet's own codec reads U+FFFD and writes three octets for each (the
  // client's reply held a 65-octet "label" and did not parse), so such replies failed the attempt; a dot inside a
  // label it wrote as two labels. Read and written with exact names (src/dns/exact-names.ts), they are passed on.
  const exact: [string, number[], string][] = [
    ['octets that are not UTF-8', [0x80, 0xff], '\\128\\255.remote.test'],
    ['a dot inside a label', [0x61, 0x2e], 'a\\..remote.test'],
  ];
  for (const [what, octets, name] of exact) {
    it(`a reply whose owner name holds ${what} is taken, every octet kept`, async () => {
      const { addresses, owners, second } = await askPast(patched(reply([a('xx.remote.test', '192.0.2.1')]), 'xx', octets));
      expect(addresses).to.deep.equal(['192.0.2.1']);
      expect(owners).to.deep.equal([name]);
      expect(second.udpQueries).to.equal(0);
    });
  }

  it('a well-formed reply from the first upstream is still taken (the checks refuse only what cannot be passed on)', async () => {
    const { addresses, second } = await askPast(reply([a(QUESTION.name, '192.0.2.1')]));
    expect(addresses).to.deep.equal(['192.0.2.1']);
    expect(second.udpQueries).to.equal(0);
  });

  it('a truncated reply (TC=1) is left unchecked only over UDP (asked again over TCP); over TCP or TLS it is taken as it is, so it is checked (fuzz: the forwarded target, crash-8a564760…)', () => {
    // An SSHFP dns-packet reads but will not write, in a reply with TC=1.
    const bad = reply([a(QUESTION.name, '192.0.2.1'), { name: QUESTION.name, type: 'UNKNOWN_44', class: 'IN', ttl: 60, data: Buffer.from([1, 1, 0xaa, 0xbb, 0xcc]) } as unknown as Answer]);
    bad.writeUInt16BE(0x4321, 0);
    bad[2] = bad[2]! | 0x02;
    const overUdp = matches(bad, 0x4321, QUESTION, true);
    expect(overUdp.kind === 'reply' && overUdp.packet.flag_tc, 'over UDP: the truncated reply, to ask again over TCP').to.equal(true);
    expect(matches(bad, 0x4321, QUESTION).kind, 'over TCP or TLS').to.equal('malformed');
  });

  it('a message whose header counts more records than its octets hold is ignored without being decoded (dns-packet allocates per counted record)', () => {
    const decode = dnsPacket.decode;
    let decoded = 0;
    // 13 octets: our ID, QR=1, 65535 questions and records of each section.
    const msg = Buffer.from('1234818000ffffffffffffffff00', 'hex').subarray(0, 13);
    msg.writeUInt16BE(0xffff, 4);
    try {
      (dnsPacket as { decode: typeof decode }).decode = ((...args: Parameters<typeof decode>) => {
        decoded++;
        return decode(...args);
      }) as typeof decode;
      expect(matches(msg, 0x1234, QUESTION)).to.deep.equal({ kind: 'ignored' });
      expect(decoded, 'dnsPacket.decode calls').to.equal(0);
      // A reply that fits its counts is decoded as before.
      const ok = reply([a(QUESTION.name, '192.0.2.1')]);
      ok.writeUInt16BE(0x1234, 0);
      expect(matches(ok, 0x1234, QUESTION).kind).to.equal('reply');
      expect(decoded).to.be.greaterThan(0);
    } finally {
      (dnsPacket as { decode: typeof decode }).decode = decode;
    }
  });
});
