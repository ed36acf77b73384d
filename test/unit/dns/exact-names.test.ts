/** withExactNames: dns-packet reading and writing names as name strings that keep every octet (fuzz finding Q2), and its own codec back afterwards. */

import { expect } from 'chai';
import { readdirSync, readFileSync } from 'node:fs';
import dnsPacket from 'dns-packet';
import fc from 'fast-check';
import { withExactNames } from '../../../src/dns/exact-names.js';
import { ROOT } from '../../helpers/server.js';

/** A response with one question and one record of each kind of name-holding RDATA, the names given as wire octets (uncompressed). */
function message(owner: Buffer, target: Buffer, mailbox: Buffer): Buffer {
  const rr = (type: number, rdata: Buffer): Buffer => {
    const fixed = Buffer.alloc(10);
    fixed.writeUInt16BE(type, 0);
    fixed.writeUInt16BE(1, 2);
    fixed.writeUInt32BE(300, 4);
    fixed.writeUInt16BE(rdata.length, 8);
    return Buffer.concat([owner, fixed, rdata]);
  };
  const soa = Buffer.concat([target, mailbox, Buffer.alloc(20, 1)]);
  const header = Buffer.from('123481800001000300000000', 'hex');
  return Buffer.concat([header, owner, Buffer.from('00010001', 'hex'), rr(5, target), rr(6, soa), rr(15, Buffer.concat([Buffer.from([0, 10]), target]))]);
}

const wire = (...labels: (string | number[])[]): Buffer =>
  Buffer.concat([...labels.map((l) => (typeof l === 'string' ? Buffer.from(l, 'latin1') : Buffer.from(l))).map((l) => Buffer.concat([Buffer.from([l.length]), l])), Buffer.from([0])]);

describe('withExactNames (src/dns/exact-names.ts)', () => {
  const cases: [string, Buffer, string][] = [
    ['a dot inside a label', wire('a.b', 'example'), 'a\\.b.example'],
    ['octets that are not UTF-8, mixed case', wire([0x80, 0xff, 0x41], 'Example'), '\\128\\255A.Example'],
    ['a backslash, a space and a zero octet', wire('b\\s', ' x', [0]), 'b\\\\s.\\032x.\\000'],
    ['63 octets that are not UTF-8 (189 when read as U+FFFD)', wire(new Array<number>(63).fill(0xc8), 'test'), `${'\\200'.repeat(63)}.test`],
    ['a plain name: the same text as dns-packet\'s', wire('www', 'example', 'com'), 'www.example.com'],
  ];
  for (const [what, name, text] of cases) {
    it(`${what}: read as "${text.length > 40 ? `${text.slice(0, 40)}…` : text}" in owners, RDATA and mailboxes, written back octet for octet`, () => {
      const msg = message(name, name, name);
      const p = withExactNames(() => dnsPacket.decode(msg));
      const soa = p.answers![1] as unknown as { data: { mname: string; rname: string } };
      expect([p.questions![0]!.name, p.answers![0]!.name, (p.answers![0] as { data: string }).data, soa.data.mname, soa.data.rname]).to.deep.equal([text, text, text, text, text]);
      expect(withExactNames(() => dnsPacket.encode(p)).toString('hex')).to.equal(msg.toString('hex'));
    });
  }

  it('compression pointers are followed as dns-packet follows them, and the same malformed names refused', () => {
    const msg = message(wire('a.b', 'example'), wire('x'), wire('y'));
    // The CNAME's owner as a pointer to the question's name (offset 12).
    const ownerAt = 12 + wire('a.b', 'example').length + 4;
    const pointed = Buffer.concat([msg.subarray(0, ownerAt), Buffer.from([0xc0, 12]), msg.subarray(ownerAt + wire('a.b', 'example').length)]);
    expect(withExactNames(() => dnsPacket.decode(pointed)).answers![0]!.name).to.equal('a\\.b.example');
    const bad: [string, Buffer][] = [
      ['a pointer forwards', Buffer.concat([pointed.subarray(0, ownerAt), Buffer.from([0xc0, 0xff]), pointed.subarray(ownerAt + 2)])],
      ['a label type 0x40', Buffer.concat([pointed.subarray(0, 12), Buffer.from([0x41]), pointed.subarray(13)])],
      ['cut short', pointed.subarray(0, 16)],
      ['longer than 255 octets', Buffer.concat([pointed.subarray(0, 12), Buffer.concat(Array.from({ length: 5 }, () => Buffer.concat([Buffer.from([63]), Buffer.alloc(63, 0x61)]))), Buffer.from([0, 0, 1, 0, 1])])],
    ];
    for (const [what, b] of bad) {
      expect(() => dnsPacket.decode(b), `dns-packet: ${what}`).to.throw();
      expect(() => withExactNames(() => dnsPacket.decode(b)), `exact: ${what}`).to.throw();
    }
  });

  it('an offset that is not a number above 0 is read as 0, as dns-packet reads it (its NAPTR decoder passes NaN past the end): no endless loop (fuzz: forwarded/crash-b928cb74…)', () => {
    const codec = (dnsPacket as unknown as { name: { decode(b: Buffer, o?: number): string } }).name;
    const name = wire('a.b', 'example');
    expect([codec.decode(name, NaN), codec.decode(name, undefined)], 'dns-packet').to.deep.equal(['a.b.example', 'a.b.example']);
    expect(withExactNames(() => [codec.decode(name, NaN), codec.decode(name, undefined)]), 'exact').to.deep.equal(['a\\.b.example', 'a\\.b.example']);
    // The reply the fuzzer found: a NAPTR running past the end; both codecs throw the same error, at once.
    const naptr = readFileSync(`${ROOT}fuzz/crashes/forwarded/crash-b928cb74bcde534287000519f475641ec27b5fed`);
    expect(() => dnsPacket.decode(naptr)).to.throw('bad pointer');
    expect(() => withExactNames(() => dnsPacket.decode(naptr))).to.throw('bad pointer');
  });

  it('on mutated corpus replies, dns-packet and exact names read alike: both throw the same error, or both read the same records', () => {
    const dir = `${ROOT}fuzz/corpus/forwarded/`;
    const replies = readdirSync(dir).map((f) => readFileSync(dir + f));
    const outcome = (f: () => ReturnType<typeof dnsPacket.decode>): string => {
      try {
        const p = f();
        return `ok ${[p.questions, p.answers, p.authorities, p.additionals].map((l) => (l ?? []).map((r) => r.type).join(',')).join(' | ')}`;
      } catch (e) {
        return `throws ${(e as Error).message}`;
      }
    };
    fc.assert(
      fc.property(fc.nat(replies.length - 1), fc.array(fc.tuple(fc.nat(), fc.nat(255)), { minLength: 1, maxLength: 8 }), (which, flips) => {
        const m = Buffer.from(replies[which]!);
        for (const [at, v] of flips) m[at % m.length] = v;
        expect(outcome(() => withExactNames(() => dnsPacket.decode(m)))).to.equal(outcome(() => dnsPacket.decode(m)));
      }),
      { numRuns: 3000, seed: 17 },
    );
  });

  it('dns-packet\'s own codec is back afterwards, also after a throw, and a call inside another keeps the swap', () => {
    const msg = message(wire('a.b', 'example'), wire('x'), wire('y'));
    expect(() =>
      withExactNames(() => {
        expect(withExactNames(() => dnsPacket.decode(msg)).questions![0]!.name, 'inner').to.equal('a\\.b.example');
        expect(dnsPacket.decode(msg).questions![0]!.name, 'outer, after the inner returned').to.equal('a\\.b.example');
        throw new Error('boom');
      }),
    ).to.throw('boom');
    expect(dnsPacket.decode(msg).questions![0]!.name, 'outside').to.equal('a.b.example');
  });

  it('on every reply of the forwarded seed corpus (real NSD replies and more): what dns-packet reads, exact names read too, and write back to themselves', () => {
    const dir = `${ROOT}fuzz/corpus/forwarded/`;
    let read = 0;
    for (const f of readdirSync(dir)) {
      const bytes = readFileSync(dir + f);
      try {
        dnsPacket.decode(bytes);
      } catch {
        continue;
      }
      const p = withExactNames(() => dnsPacket.decode(bytes));
      let again: unknown;
      try {
        again = withExactNames(() => dnsPacket.decode(withExactNames(() => dnsPacket.encode(p))));
      } catch {
        // Records dns-packet reads but will not write (transport.ts refuses such replies): not about names.
        continue;
      }
      expect(JSON.stringify(again), f).to.equal(JSON.stringify(p));
      read++;
    }
    expect(read, 'replies read').to.be.greaterThan(50);
  });
});
