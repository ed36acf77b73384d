import { expect } from 'chai';
import dnsPacket, { type OptAnswer } from 'dns-packet';
import { generateQueries } from '../../../bench/queries.js';
import { dnsperfBinaryChunks, encodeQuery, SIGNED_QUERY, splitDnsperfBinary } from '../../../bench/wire-queries.js';

/** A small zone: hosts, a NODATA candidate, a wildcard, a delegation. */
const zone = {
  origin: 'example.com',
  nodes: new Map<string, { type: string }[]>([
    ['example.com', [{ type: 'SOA' }, { type: 'NS' }]],
    ['www.example.com', [{ type: 'A' }, { type: 'AAAA' }]],
    ['mail.example.com', [{ type: 'A' }, { type: 'MX' }]],
    ['*.wild.example.com', [{ type: 'A' }]],
    ['sub.example.com', [{ type: 'NS' }]],
    ['ns.sub.example.com', [{ type: 'A' }]],
  ]),
};

describe('bench binary query file (dnsperf -B)', () => {
  it('encodes each question with EDNS 1232 and DO=1 (the signed scenarios), RD set, the name as written', () => {
    const msg = dnsPacket.decode(encodeQuery({ name: 'WwW.Example.com', type: 'AAAA' }, SIGNED_QUERY));
    expect(msg.questions).to.deep.equal([{ name: 'WwW.Example.com', type: 'AAAA', class: 'IN' }]);
    expect(msg.flag_rd).to.equal(true);
    expect(msg.flag_qr).to.equal(false);
    expect(msg.id).to.equal(0);
    const opt = msg.additionals!.filter((a) => a.type === 'OPT') as OptAnswer[];
    expect(opt).to.have.length(1);
    expect(opt[0]!.udpPayloadSize).to.equal(1232);
    expect(opt[0]!.flag_do).to.equal(true);
    expect(opt[0]!.ednsVersion).to.equal(0);
    expect(SIGNED_QUERY).to.deep.equal({ udpSize: 1232, dnssecOk: true, recursionDesired: true });
  });

  it('leaves DO, RD or the whole OPT record out when asked, and refuses DO without EDNS', () => {
    const plain = dnsPacket.decode(encodeQuery({ name: 'www.example.com', type: 'A' }, { udpSize: null, dnssecOk: false, recursionDesired: false }));
    expect(plain.additionals).to.deep.equal([]);
    expect(plain.flag_rd).to.equal(false);
    const noDo = dnsPacket.decode(encodeQuery({ name: 'www.example.com', type: 'A' }, { udpSize: 4096, dnssecOk: false, recursionDesired: true }));
    expect((noDo.additionals![0] as OptAnswer).flag_do).to.equal(false);
    expect((noDo.additionals![0] as OptAnswer).udpPayloadSize).to.equal(4096);
    expect(() => encodeQuery({ name: 'www.example.com', type: 'A' }, { udpSize: null, dnssecOk: true, recursionDesired: true })).to.throw(/OPT record/);
  });

  it('writes every query of the file, in order, each after its length in two octets, however the file is cut into pieces', () => {
    const q = generateQueries(zone, { count: 3000, seed: 7 });
    const kinds = new Set(q.queries.map((x) => x.kind));
    // The mix the signed scenario asks: positive answers, NXDOMAIN, NODATA (and wildcards, referrals).
    for (const k of ['existing', 'absent', 'nodata', 'wildcard', 'referral']) expect(kinds.has(k as never), k).to.equal(true);
    const small = [...dnsperfBinaryChunks(q.queries, SIGNED_QUERY, 4096)];
    expect(small.length).to.be.greaterThan(10);
    for (const c of small.slice(0, -1)) expect(c.length).to.be.within(4096, 4096 + 2 + 512);
    const whole = Buffer.concat([...dnsperfBinaryChunks(q.queries, SIGNED_QUERY)]);
    expect(Buffer.concat(small).equals(whole)).to.equal(true);
    const msgs = splitDnsperfBinary(whole);
    expect(msgs).to.have.length(q.queries.length);
    msgs.forEach((m, i) => {
      const d = dnsPacket.decode(m);
      const want = q.queries[i]!;
      expect(`${d.questions![0]!.name} ${d.questions![0]!.type}`).to.equal(`${want.name} ${want.type}`);
      expect((d.additionals![0] as OptAnswer).flag_do).to.equal(true);
    });
    // The length prefix is big-endian and counts the message alone.
    expect(whole.readUInt16BE(0)).to.equal(msgs[0]!.length);
  });

  it('refuses a file whose last message is cut off', () => {
    const whole = Buffer.concat([...dnsperfBinaryChunks([{ name: 'www.example.com', type: 'A' }], SIGNED_QUERY)]);
    expect(() => splitDnsperfBinary(whole.subarray(0, whole.length - 1))).to.throw(/needs \d+ octets/);
    expect(() => splitDnsperfBinary(Buffer.concat([whole, Buffer.from([0])]))).to.throw(/length prefix is cut off/);
    expect(() => dnsperfBinaryChunks([], SIGNED_QUERY).next()).to.not.throw();
    expect([...dnsperfBinaryChunks([], SIGNED_QUERY)]).to.deep.equal([]);
  });
});
