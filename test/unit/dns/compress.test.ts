import { expect } from 'chai';
import dnsPacket, { type Answer, type Packet } from 'dns-packet';
import { compressNames } from '../../../src/dns/compress.js';

/** The names of a message in order of appearance, with their offsets: pointers show as `->offset`. */
function pointers(m: Buffer): number[] {
  const found: number[] = [];
  for (let i = 12; i < m.length - 1; i++) if ((m[i]! & 0xc0) === 0xc0) found.push(((m[i]! & 0x3f) << 8) | m[i + 1]!);
  return found;
}

const reply = (answers: Answer[], extra: Partial<Packet> = {}): Buffer =>
  dnsPacket.encode({ type: 'response', id: 7, flags: dnsPacket.AUTHORITATIVE_ANSWER, questions: [{ name: 'WWW.Example.COM', type: 'A', class: 'IN' }], answers, ...extra });

describe('compressNames (RFC 1035 §4.1.4)', () => {
  it('decodes to the same message, shorter, with owner names pointing at the question', () => {
    const m = reply(
      [
        { name: 'www.example.com', type: 'A', class: 'IN', ttl: 60, data: '192.0.2.1' },
        { name: 'www.example.com', type: 'A', class: 'IN', ttl: 60, data: '192.0.2.2' },
      ],
      { authorities: [{ name: 'example.com', type: 'NS', class: 'IN', ttl: 60, data: 'ns1.example.com' }] },
    );
    const c = compressNames(m);
    expect(c.length).to.be.lessThan(m.length);
    const a = dnsPacket.decode(m);
    const b = dnsPacket.decode(c);
    expect(b.answers!.map((r) => r.name)).to.deep.equal(['WWW.Example.COM', 'WWW.Example.COM']); // the asker's case, as NSD gives it
    expect(b.authorities!.map((r) => [r.name, (r as { data: string }).data])).to.deep.equal([['Example.COM', 'ns1.Example.COM']]);
    expect(b.answers!.map((r) => (r as { data: string }).data)).to.deep.equal(a.answers!.map((r) => (r as { data: string }).data));
    expect(b.id).to.equal(7);
  });
  it('compresses RDATA names of the RFC 1035 types (SOA, MX, CNAME) and fixes RDLENGTH; SRV targets stay whole (RFC 2782)', () => {
    const soa = { mname: 'ns1.example.com', rname: 'hostmaster.example.com', serial: 1, refresh: 2, retry: 3, expire: 4, minimum: 5 };
    const records: Answer[] = [
      { name: 'www.example.com', type: 'CNAME', class: 'IN', ttl: 1, data: 'host.example.com' },
      { name: 'example.com', type: 'MX', class: 'IN', ttl: 1, data: { preference: 10, exchange: 'mail.example.com' } },
      { name: 'example.com', type: 'SOA', class: 'IN', ttl: 1, data: soa },
      { name: '_sip._udp.example.com', type: 'SRV', class: 'IN', ttl: 1, data: { priority: 1, weight: 2, port: 5060, target: 'sip.example.com' } },
    ];
    const c = compressNames(reply(records));
    const back = dnsPacket.decode(c).answers!;
    expect((back[0] as { data: string }).data.toLowerCase()).to.equal('host.example.com');
    expect((back[1] as { data: { exchange: string } }).data.exchange.toLowerCase()).to.equal('mail.example.com');
    expect((back[2] as { data: typeof soa }).data.serial).to.equal(1);
    expect((back[2] as { data: typeof soa }).data.minimum).to.equal(5);
    expect((back[2] as { data: typeof soa }).data.rname.toLowerCase()).to.equal('hostmaster.example.com');
    // The SRV target is written out label by label: its RDATA holds no pointer.
    const srvTarget = Buffer.from('\x03sip\x07example\x03com\x00', 'latin1');
    expect(c.includes(srvTarget)).to.equal(true);
  });
  it('points only below offset 0x4000 (14 bits) in a large message', () => {
    const answers: Answer[] = [];
    for (let i = 0; i < 700; i++) answers.push({ name: `n${i}.a-rather-long-label-to-fill-the-message.example.com`, type: 'A', class: 'IN', ttl: 1, data: '192.0.2.1' });
    const m = reply(answers);
    const c = compressNames(m);
    expect(m.length).to.be.greaterThan(0x4000 * 2);
    expect(Math.max(...pointers(c))).to.be.lessThan(0x4000);
    expect(dnsPacket.decode(c).answers!.map((r) => r.name.toLowerCase())).to.deep.equal(answers.map((r) => r.name));
  });
  it('leaves a message that does not parse, or already holds pointers, as it is', () => {
    const m = reply([{ name: 'www.example.com', type: 'A', class: 'IN', ttl: 60, data: '192.0.2.1' }]);
    const cut = m.subarray(0, m.length - 3);
    expect(compressNames(cut)).to.equal(cut);
    const once = compressNames(m);
    expect(compressNames(once).equals(once)).to.equal(true);
    const short = Buffer.alloc(5);
    expect(compressNames(short)).to.equal(short);
  });
  it('keeps the OPT record (root name) and its options', () => {
    const m = reply([{ name: 'www.example.com', type: 'A', class: 'IN', ttl: 60, data: '192.0.2.1' }], {
      additionals: [{ type: 'OPT', name: '.', udpPayloadSize: 1232, flags: 0, options: [{ code: 3, data: Buffer.from('w1') }] } as never],
    });
    const opt = dnsPacket.decode(compressNames(m)).additionals![0] as unknown as { udpPayloadSize: number; options: { code: number; data: Buffer }[] };
    expect(opt.udpPayloadSize).to.equal(1232);
    expect(opt.options[0]!.data.toString()).to.equal('w1');
  });
});
