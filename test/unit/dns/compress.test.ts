import { expect } from 'chai';
import dnsPacket, { type Answer, type Packet } from 'dns-packet';
import { compressNames } from '../../../src/dns/compress.js';

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
  it('a large message: names past offset 0x3fff (beyond a 14-bit pointer) are not pointed at, and all read back', () => {
    const answers: Answer[] = [];
    // Few names, many octets: TXT records fill 17 KB without filling the table of suffixes.
    for (let i = 0; i < 70; i++) answers.push({ name: 'filler.example.com', type: 'TXT', class: 'IN', ttl: 1, data: [`${i}`.padEnd(250, 'x')] });
    // A suffix first written past 0x3fff, then asked again: it must be written out again, not pointed at.
    for (const name of ['host.far-away.test', 'www.host.far-away.test', 'far-away.test']) answers.push({ name, type: 'A', class: 'IN', ttl: 1, data: '192.0.2.2' });
    const m = reply(answers);
    const c = compressNames(m);
    expect(c.length).to.be.greaterThan(0x4000); // compressed, it still reaches past what a pointer can name
    expect(dnsPacket.decode(c).answers!.map((r) => r.name.toLowerCase())).to.deep.equal(answers.map((r) => r.name));
    // Each of the three names written past 0x3fff is written out whole: none can be pointed at.
    expect(c.toString('latin1').split('far-away').length - 1, 'far-away.test written out each time').to.equal(3);
  });
  it('many messages in a row, random names sharing suffixes: each decodes to the same records (a suffix of one message is never used in the next)', () => {
    let seed = 11;
    const rnd = (n: number): number => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return (seed >>> 8) % n;
    };
    const labels = ['a', 'B', 'www', 'Mail', 'x-1', 'example', 'COM', 'net', 'zz'];
    const randomName = (): string => Array.from({ length: 1 + rnd(5) }, () => labels[rnd(labels.length)]).join('.');
    for (let m = 0; m < 300; m++) {
      const answers: Answer[] = [];
      for (let k = rnd(12); k >= 0; k--) {
        answers.push(
          rnd(2) === 0
            ? { name: randomName(), type: 'CNAME', class: 'IN', ttl: m, data: randomName() }
            : { name: randomName(), type: 'MX', class: 'IN', ttl: m, data: { preference: k, exchange: randomName() } },
        );
      }
      const plain = reply(answers);
      const c = compressNames(plain);
      const lowerAll = (p: ReturnType<typeof dnsPacket.decode>): string => JSON.stringify(p.answers).replace(/[A-Z]/g, (x) => x.toLowerCase());
      expect(lowerAll(dnsPacket.decode(c)), `message ${m}`).to.equal(lowerAll(dnsPacket.decode(plain)));
      expect(c.length).to.be.at.most(plain.length);
    }
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
