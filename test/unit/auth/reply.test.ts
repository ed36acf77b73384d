import { expect } from 'chai';
import dnsPacket from 'dns-packet';
import { TYPE } from '../../../src/auth/lookup.js';
import { writeReply, type ReplySpec } from '../../../src/auth/reply.js';
import { Sections } from '../../../src/auth/sections.js';
import { replyOpt, writeReplyOpt, type EdnsRequest } from '../../../src/dns/edns.js';
import { loadZones } from '../../../src/zones.js';
import { ROOT } from '../../helpers/server.js';
import { wire } from './helpers.js';

const FIX = `${ROOT}test/fixtures/answers/`;
const loaded = loadZones([
  { name: 'example.com.', file: `${FIX}example.com.zone` },
  { name: 'other.test.', file: `${FIX}other.test.zone` },
]);
if (!loaded.ok) throw new Error(loaded.errors.join('\n'));
const zones = loaded.zones;
const EDNS: EdnsRequest = { version: 0, udpSize: 4096, dnssecOk: false, nsid: false };

/** The sections for a question, and a spec writing them (EDNS on, no limit). */
function spec(name: string, qtype: number, over: Partial<ReplySpec> = {}): ReplySpec {
  const qname = wire(name);
  const s = new Sections();
  const r = s.respond(zones, qname, 0, qtype);
  if (r.kind !== 'sections') throw new Error('not ours');
  return {
    id: 77,
    flags: 0x0400 | r.rcode,
    qname,
    qnameAt: 0,
    qtype,
    qclass: 1,
    answers: r.answers,
    authorities: r.authorities,
    additionals: r.additionals,
    opt: { request: EDNS, udpSize: 1232, nsid: Buffer.alloc(0), rcode: r.rcode },
    limit: 65535,
    dropAdditional: !r.requiredAdditional,
    dropAuthority: r.optionalAuthority,
    ...over,
  };
}

/** Counts and TC of a reply. */
function shape(b: Buffer): { an: number; ns: number; ar: number; tc: boolean; length: number } {
  return { an: b.readUInt16BE(6), ns: b.readUInt16BE(8), ar: b.readUInt16BE(10), tc: (b[2]! & 0x02) !== 0, length: b.length };
}

describe('writeReply: fitting a reply to the limit (RFC 2181 §9, RFC 1035 §4.2.1), as NSD does', () => {
  const full = writeReply(spec('www.example.com', TYPE.A));
  const noAdditional = writeReply(spec('www.example.com', TYPE.A, { additionals: null }));
  const answerOnly = writeReply(spec('www.example.com', TYPE.A, { additionals: null, authorities: null }));
  const tc = writeReply(spec('www.example.com', TYPE.A, { additionals: null, authorities: null, answers: null, flags: 0x0400 | 0x0200 }));

  it('the whole reply when it fits: 2 answers, 2 NS, 2 addresses, OPT', () => {
    expect(shape(full)).to.include({ an: 2, ns: 2, ar: 3, tc: false });
    expect(shape(writeReply(spec('www.example.com', TYPE.A, { limit: full.length })))).to.deep.equal(shape(full));
  });
  const cases: { what: string; limit: number; over?: Partial<ReplySpec>; want: Buffer }[] = [
    { what: 'one octet short: the additional records go, the OPT stays', limit: full.length - 1, want: noAdditional },
    { what: 'just room without additional', limit: noAdditional.length, want: noAdditional },
    { what: 'short of that: the optional authority goes too', limit: noAdditional.length - 1, want: answerOnly },
    { what: 'an authority that must stay: TC instead', limit: noAdditional.length - 1, over: { dropAuthority: false }, want: tc },
    { what: 'additional that must stay (glue): TC at once', limit: full.length - 1, over: { dropAdditional: false }, want: tc },
    { what: 'no room for the answer: TC=1, header, question and OPT only', limit: answerOnly.length - 1, want: tc },
  ];
  for (const c of cases) {
    it(c.what, () => {
      const b = writeReply(spec('www.example.com', TYPE.A, { limit: c.limit, ...c.over }));
      // Compression points backwards only: the kept part is octet for octet what writing it alone gives.
      expect(b.toString('hex')).to.equal(c.want.toString('hex'));
      expect(b.length).to.be.at.most(c.limit);
    });
  }
  it('a referral whose glue does not fit truncates (RFC 9471 §3)', () => {
    const ref = spec('host.deleg.example.com', TYPE.A);
    expect(ref.dropAdditional).to.equal(false);
    const whole = writeReply(ref);
    expect(shape(writeReply({ ...ref, limit: whole.length - 1 }))).to.include({ an: 0, ns: 0, ar: 1, tc: true });
  });
  it('owner names equal to the question point at it and read back in the asker\'s case', () => {
    const b = writeReply(spec('WwW.ExAmPlE.cOm', TYPE.A));
    const p = dnsPacket.decode(b);
    expect(p.answers!.map((a) => a.name)).to.deep.equal(['WwW.ExAmPlE.cOm', 'WwW.ExAmPlE.cOm']);
    expect(p.authorities!.map((a) => a.name)).to.deep.equal(['ExAmPlE.cOm', 'ExAmPlE.cOm']);
  });
  it('grows past 64 KiB while writing, then fits', () => {
    const many = spec('huge.example.com', 16 /* TXT */, { limit: 65535 });
    const b = writeReply(many);
    expect(shape(b)).to.include({ an: 7, tc: false });
  });
});

describe('writeReplyOpt: the octets dns-packet writes for replyOpt (RFC 6891 §6.1.2)', () => {
  const cases: { what: string; request: EdnsRequest; size: number; nsid: Buffer; rcode?: number; ede?: number }[] = [
    { what: 'plain', request: EDNS, size: 1232, nsid: Buffer.from('w0') },
    { what: 'DO copied', request: { ...EDNS, dnssecOk: true }, size: 1232, nsid: Buffer.from('w0') },
    { what: 'NSID asked', request: { ...EDNS, nsid: true }, size: 1232, nsid: Buffer.from('worker-3 pid 42') },
    { what: 'BADVERS: upper RCODE bits', request: EDNS, size: 4096, nsid: Buffer.alloc(0), rcode: 16 },
    { what: 'Extended DNS Error 20', request: EDNS, size: 1232, nsid: Buffer.alloc(0), rcode: 5, ede: 20 },
    { what: 'NSID and EDE together', request: { ...EDNS, nsid: true, dnssecOk: true }, size: 512, nsid: Buffer.from('n'), rcode: 5, ede: 18 },
    { what: 'size 0 written as dns-packet writes it', request: EDNS, size: 0, nsid: Buffer.alloc(0) },
  ];
  const encodeRecord = (dnsPacket as unknown as { answer: { encode(a: unknown): Buffer } }).answer.encode;
  for (const c of cases) {
    it(c.what, () => {
      const out = Buffer.alloc(100, 0xee);
      const end = writeReplyOpt(out, 3, c.request, c.size, c.nsid, c.rcode, c.ede);
      expect(out.subarray(3, end).toString('hex')).to.equal(encodeRecord(replyOpt(c.request, c.size, c.nsid, c.rcode, c.ede)).toString('hex'));
    });
  }
});
