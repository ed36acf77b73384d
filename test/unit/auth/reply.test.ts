import { expect } from 'chai';
import dnsPacket from 'dns-packet';
import { TYPE } from '../../../src/auth/lookup.js';
import { writeReply, type ReplySpec } from '../../../src/auth/reply.js';
import { RecordList } from '../../../src/auth/records.js';
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

/** The sections for a question, and a spec writing them (EDNS on, no limit, UDP). */
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
    sections: [r.answers, r.authorities, r.optionalAuthorities, r.additionalA, r.additionalAAAA],
    opt: { request: EDNS, udpSize: 1232, nsid: Buffer.alloc(0), rcode: r.rcode },
    limit: 65535,
    minimal: 65535,
    referral: r.referral,
    tcp: false,
    ...over,
  };
}

/** A list holding the first `groups` RRsets of `list` (a reply written from it is what fitting should leave). */
function firstSets(list: RecordList | null, groups: number): RecordList | null {
  if (list === null) return null;
  const out = new RecordList();
  for (let i = 0, g = 0; i < list.length; i++) {
    const r = list.at(i);
    if (r.first && g++ === groups) break;
    Object.assign(out.add(), r);
  }
  return out;
}

/** The spec with only the first RRsets of each section: `keep[s]` of section s (missing: all). */
function kept(full: ReplySpec, keep: number[], flags = full.flags): ReplySpec {
  const sections = full.sections.map((l, s) => (keep[s] === undefined ? l : firstSets(l, keep[s]!))) as unknown as ReplySpec['sections'];
  return { ...full, sections, flags };
}

/** RRsets in a list. */
function setsIn(list: RecordList | null): number {
  let n = 0;
  for (let i = 0; list !== null && i < list.length; i++) if (list.at(i).first) n++;
  return n;
}

/** Counts and TC of a reply. */
function shape(b: Buffer): { an: number; ns: number; ar: number; tc: boolean; length: number } {
  return { an: b.readUInt16BE(6), ns: b.readUInt16BE(8), ar: b.readUInt16BE(10), tc: (b[2]! & 0x02) !== 0, length: b.length };
}

describe('writeReply: fitting a reply to the limit one RRset at a time, as NSD does (RFC 2181 §9, RFC 1035 §4.2.1)', () => {
  const www = spec('www.example.com', TYPE.A);
  const full = writeReply(www);
  const [, , optional, additionalA, additionalAAAA] = www.sections;
  const aSets = setsIn(additionalA);
  const aaaaSets = setsIn(additionalAAAA);
  // Written with only some RRsets: what fitting should leave.
  const withoutLastAAAA = writeReply(kept(www, [1, 0, 1, aSets, aaaaSets - 1]));
  const withoutAAAA = writeReply(kept(www, [1, 0, 1, aSets, 0]));
  const answerOnly = writeReply(kept(www, [1, 0, 0, 0, 0]));
  const tc = writeReply(kept(www, [0, 0, 0, 0, 0], www.flags | 0x0200));

  it('the whole reply when it fits: 2 answers, 2 NS, their addresses, OPT', () => {
    expect(setsIn(optional)).to.equal(1);
    expect(aSets).to.be.at.least(1);
    expect(aaaaSets).to.be.at.least(1);
    expect(shape(full)).to.include({ an: 2, ns: 2, tc: false });
    expect(shape(writeReply({ ...www, limit: full.length }))).to.deep.equal(shape(full));
  });
  const cases: { what: string; over: Partial<ReplySpec>; want: Buffer }[] = [
    { what: 'one octet short: the last additional RRset goes, the OPT stays, no TC', over: { limit: full.length - 1 }, want: withoutLastAAAA },
    { what: 'short of every AAAA: the A addresses stay', over: { limit: withoutAAAA.length }, want: withoutAAAA },
    { what: 'the optional NS does not fit: it goes with everything after it, no TC', over: { limit: answerOnly.length }, want: answerOnly },
    { what: 'no room for the answer: TC=1, header, question and OPT only', over: { limit: answerOnly.length - 1 }, want: tc },
    { what: 'over UDP, optional RRsets stop at the minimal-response size (NSD: 1232 over IPv4)', over: { minimal: answerOnly.length - 11 }, want: answerOnly },
    { what: 'over TCP the minimal-response size does not apply', over: { minimal: answerOnly.length - 11, tcp: true }, want: full },
  ];
  for (const c of cases) {
    it(c.what, () => {
      const b = writeReply({ ...www, ...c.over });
      // Compression points backwards only: the kept part is octet for octet what writing it alone gives.
      expect(b.toString('hex')).to.equal(c.want.toString('hex'));
      expect(b.length).to.be.at.most(c.over.limit ?? 65535);
    });
  }
  it('a referral whose first glue address does not fit keeps its NS and sets TC (as NSD; RFC 9471 §3)', () => {
    const ref = spec('host.deleg.example.com', TYPE.A);
    expect(ref.referral).to.equal(true);
    const nsOnly = writeReply(kept(ref, [0, 1, 0, 0, 0]));
    expect(shape(writeReply({ ...ref, limit: nsOnly.length }))).to.include({ an: 0, ns: shape(nsOnly).ns, ar: 1, tc: true });
    // The same reply without the referral flag: the glue just goes.
    expect(shape(writeReply({ ...ref, limit: nsOnly.length, referral: false }))).to.include({ tc: false });
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
