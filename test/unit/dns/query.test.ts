/** readPlainQuery: the EDNS facts of a plain query from its bytes, or null for anything the full decoder must see. */

import { expect } from 'chai';
import dnsPacket from 'dns-packet';
import { readEdns } from '../../../src/dns/edns.js';
import { readCookieOnlyQuery, readPlainQuery } from '../../../src/dns/query.js';

/** A query for www.example.com A with the given additional records. */
function query(additionals: unknown[] = []): Buffer {
  return dnsPacket.encode({ type: 'query', id: 7, flags: 0, questions: [{ name: 'www.example.com', type: 'A', class: 'IN' }], additionals: additionals as never });
}
const opt = (o: { size?: number; do?: boolean; version?: number; options?: { code: number; data: Buffer }[] }) => ({
  type: 'OPT',
  name: '.',
  udpPayloadSize: o.size ?? 1232,
  extendedRcode: 0,
  ednsVersion: o.version ?? 0,
  flags: o.do ? dnsPacket.DNSSEC_OK : 0,
  options: o.options ?? [],
});

describe('readPlainQuery', () => {
  const plain: [string, Buffer][] = [
    ['no OPT', query()],
    ['OPT, 1232', query([opt({})])],
    ['OPT below 512 (counts as 512)', query([opt({ size: 100 })])],
    ['DO', query([opt({ do: true })])],
    ['NSID asked, beside another option', query([opt({ options: [{ code: 10, data: Buffer.alloc(8, 1) }, { code: 3, data: Buffer.alloc(0) }] })])],
    ['EDNS version 1 (BADVERS is the caller\'s)', query([opt({ version: 1 })])],
  ];
  for (const [what, q] of plain) {
    it(`${what}: the facts dns-packet's decoding gives`, () => {
      expect(readPlainQuery(q)).to.deep.equal(readEdns(dnsPacket.decode(q).additionals));
    });
  }

  const other: [string, () => Buffer][] = [
    ['a compressed question name', compressed],
    ['two additional records', () => query([opt({}), opt({})])],
    ['an answer record', () => dnsPacket.encode({ type: 'query', id: 7, questions: [{ name: 'a.test', type: 'A', class: 'IN' }], answers: [{ name: 'a.test', type: 'A', ttl: 1, data: '192.0.2.1' }] })],
    ['an OPT not owned by the root', () => { const b = query([opt({})]); return Buffer.concat([b.subarray(0, b.length - 11), Buffer.from([1, 0x78, 0]), b.subarray(b.length - 10)]); }],
    ['an A record in additional', () => query([{ name: 'a.test', type: 'A', ttl: 1, data: '192.0.2.1' }])],
    ['an octet after the OPT', () => Buffer.concat([query([opt({})]), Buffer.from([0])])],
    ['an octet after the question', () => Buffer.concat([query(), Buffer.from([0])])],
    ['an option running past the OPT', () => { const b = query([opt({ options: [{ code: 10, data: Buffer.alloc(8) }] })]); b.writeUInt16BE(9, b.length - 10); return b; }],
    ['cut short in the question', () => query().subarray(0, 20)],
  ];
  for (const [what, make] of other) {
    it(`${what}: null (the full decoder decides)`, () => {
      expect(readPlainQuery(make())).to.equal(null);
    });
  }
});

/** www.example.com A whose name ends in a pointer to itself at offset 12 (a loop the full decoder refuses). */
function compressed(): Buffer {
  return Buffer.from('000700000001000000000000' + '03777777c00c' + '00010001', 'hex');
}

describe('readCookieOnlyQuery (RFC 7873 §5.4: a query with only a COOKIE option)', () => {
  const cookie = (len: number): { code: number; data: Buffer } => ({ code: 10, data: Buffer.alloc(len, 0xab) });
  const bare = (o: Parameters<typeof opt>[0], over: { flags?: number; questions?: unknown[]; extra?: unknown[] } = {}): Buffer =>
    dnsPacket.encode({ type: 'query', id: 7, flags: over.flags ?? 0, questions: (over.questions ?? []) as never, additionals: [opt(o), ...(over.extra ?? [])] as never });
  const cases: [string, Buffer, object | null][] = [
    ['a client cookie alone, DO and NSID asked', bare({ size: 4096, do: true, options: [{ code: 3, data: Buffer.alloc(0) }, cookie(8)] }), { version: 0, udpSize: 4096, dnssecOk: true, nsid: true }],
    ['with a server cookie, a size below 512', bare({ size: 100, options: [cookie(24)] }), { version: 0, udpSize: 512, dnssecOk: false, nsid: false }],
    ['no COOKIE option', bare({ options: [] }), null],
    ['a COOKIE option of a malformed length (FORMERR elsewhere)', bare({ options: [cookie(9)] }), null],
    ['EDNS version 1', bare({ version: 1, options: [cookie(8)] }), null],
    ['a question too', bare({ options: [cookie(8)] }, { questions: [{ name: 'www.example.com', type: 'A', class: 'IN' }] }), null],
    ['a response (QR=1)', (() => { const m = bare({ options: [cookie(8)] }); m[2] = m[2]! | 0x80; return m; })(), null],
    ['opcode NOTIFY', bare({ options: [cookie(8)] }, { flags: 4 << 11 }), null],
    ['another additional record', bare({ options: [cookie(8)] }, { extra: [{ type: 'A', name: 'x', ttl: 1, data: '192.0.2.1' }] }), null],
    ['octets after the OPT', Buffer.concat([bare({ options: [cookie(8)] }), Buffer.from([0])]), null],
    ['shorter than a header', Buffer.alloc(11), null],
  ];
  for (const [what, msg, want] of cases) it(`${what} → ${want === null ? 'null' : 'its EDNS facts'}`, () => expect(readCookieOnlyQuery(msg)).to.deep.equal(want));
});
