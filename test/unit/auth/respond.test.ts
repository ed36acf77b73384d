import { expect } from 'chai';
import dnsPacket from 'dns-packet';
import { type AnswerContext } from '../../../src/dns/answer.js';
import { authoritativeOnly } from '../../helpers/answer.js';
import { loadZones } from '../../../src/zones.js';
import { ROOT } from '../../helpers/server.js';
import { decodeReply, type Reply } from '../../helpers/dns-client.js';

const FIX = `${ROOT}test/fixtures/answers/`;
const loaded = loadZones([
  { name: 'example.com.', file: `${FIX}example.com.zone` },
  { name: 'child.example.com.', file: `${FIX}child.example.com.zone` },
  { name: 'other.test.', file: `${FIX}other.test.zone` },
]);
if (!loaded.ok) throw new Error(loaded.errors.join('\n'));
const ctx: AnswerContext = { identity: { server: 'worker-0 pid 1 host t', version: 'shardns t' }, zones: loaded.zones, ednsUdpSize: 1232, nsid: Buffer.from('worker-0'), recursion: null };
const run = authoritativeOnly(ctx);

/** `name TTL TYPE data`, names lower case, as a compact way to write expected records. */
function rr(r: { name: string; ttl?: number; type: string; data?: unknown }): string {
  const d = r.data;
  let text: string;
  if (typeof d === 'string') text = d;
  else if (Array.isArray(d)) text = d.map(String).join(' ');
  else if (Buffer.isBuffer(d)) text = d.toString('hex');
  else if (d && typeof d === 'object') text = Object.values(d).map((v) => (Buffer.isBuffer(v) ? v.toString('hex') : String(v))).join(' ');
  else text = '';
  return `${r.name.toLowerCase()} ${r.ttl} ${r.type} ${text}`.trim();
}

interface Case {
  name: string;
  q: string;
  t: string;
  edns?: { size?: number; version?: number; do?: boolean; nsid?: boolean; unknownOption?: boolean; flags?: number };
  tcp?: boolean;
  rcode?: string;
  aa?: boolean;
  tc?: boolean;
  answer?: string[];
  authority?: string[];
  additional?: string[];
  check?: (r: Reply, bytes: Buffer) => void;
}

const SOA = 'example.com 300 SOA ns1.example.com hostmaster.example.com 2026112301 7200 3600 1209600 300';
const OTHER_SOA = 'other.test 120 SOA ns2.other.test hostmaster.other.test 1 7200 3600 1209600 120';
const NS = ['example.com 3600 NS ns1.example.com', 'example.com 3600 NS ns2.other.test'];
const NS_GLUE = ['ns1.example.com 3600 A 192.0.2.53', 'ns1.example.com 3600 AAAA 2001:db8::53'];
const WWW_A = ['www.example.com 3600 A 192.0.2.80', 'www.example.com 3600 A 192.0.2.81'];

const cases: Case[] = [
  // Exact matches (RFC 1034 §4.3.2 step 3a)
  { name: 'exact A with NS in authority and its address', q: 'www.example.com', t: 'A', rcode: 'NOERROR', aa: true, answer: WWW_A, authority: NS, additional: NS_GLUE },
  { name: 'a name server\'s own address: not repeated in additional (as NSD)', q: 'ns1.example.com', t: 'A', answer: ['ns1.example.com 3600 A 192.0.2.53'], authority: NS, additional: ['ns1.example.com 3600 AAAA 2001:db8::53'] },
  { name: 'names compressed against the question: owners come back in the asker\'s case (as NSD)', q: 'WWW.example.COM', t: 'A', answer: WWW_A, check: (r, bytes) => {
    expect(r.answers.map((a) => a.name)).to.deep.equal(['WWW.example.COM', 'WWW.example.COM']);
    // Each name is written out once; every later one is a pointer (RFC 1035 §4.1.4).
    const text = bytes.toString('latin1').replace(/[A-Z]/g, (c) => c.toLowerCase());
    expect(text.split('\x03www\x07example\x03com\x00').length - 1, 'www.example.com in full').to.equal(1);
    expect(text.split('\x07example\x03com\x00').length - 1, 'example.com in full').to.equal(1);
    expect(text.split('\x03ns1\xc0').length - 1, 'ns1 + pointer').to.equal(1);
  } },
  { name: 'exact AAAA', q: 'www.example.com', t: 'AAAA', answer: ['www.example.com 3600 AAAA 2001:db8::80'] },
  { name: 'exact TXT', q: 'www.example.com', t: 'TXT', answer: ['www.example.com 3600 TXT web'] },
  { name: 'apex SOA', q: 'example.com', t: 'SOA', answer: ['example.com 3600 SOA ns1.example.com hostmaster.example.com 2026112301 7200 3600 1209600 300'], authority: NS },
  { name: 'apex NS: no NS repeated in authority', q: 'example.com', t: 'NS', answer: NS, authority: [], additional: NS_GLUE },
  { name: 'apex A', q: 'example.com', t: 'A', answer: ['example.com 3600 A 192.0.2.1'] },
  { name: 'per-record TTL kept', q: 'short.example.com', t: 'A', answer: ['short.example.com 300 A 192.0.2.5'] },
  { name: 'MX: in-zone target address in additional, out-of-zone target none', q: 'example.com', t: 'MX', answer: ['example.com 3600 MX 10 mail.example.com', 'example.com 3600 MX 20 mail.other.test'], additional: ['mail.example.com 3600 A 192.0.2.25', ...NS_GLUE] },
  // NSD writes every A of the additional section before any AAAA.
  { name: 'SRV: target A and AAAA in additional, A first', q: '_sip._udp.example.com', t: 'SRV', answer: ['_sip._udp.example.com 3600 SRV 10 5 5060 sip.example.com'], additional: ['sip.example.com 3600 A 192.0.2.60', NS_GLUE[0]!, 'sip.example.com 3600 AAAA 2001:db8::60', NS_GLUE[1]!] },
  // Case
  { name: 'case-insensitive match, question echoed exactly', q: 'WwW.ExAmPlE.cOm', t: 'A', answer: WWW_A, check: (r) => expect(r.questions?.[0]?.name).to.equal('WwW.ExAmPlE.cOm') },
  { name: 'upper-case wildcard hit keeps the asked case in the owner', q: 'ABC.Wild.Example.Com', t: 'A', answer: ['abc.wild.example.com 3600 A 192.0.2.99'], check: (r) => expect(r.answers[0]!.name).to.equal('ABC.Wild.Example.Com') },
  // Negative answers (RFC 2308)
  { name: 'NXDOMAIN with SOA, TTL min(SOA TTL, MINIMUM)', q: 'nx.example.com', t: 'A', rcode: 'NXDOMAIN', aa: true, answer: [], authority: [SOA], additional: [] },
  { name: 'NXDOMAIN deep below a missing name', q: 'a.b.c.nx.example.com', t: 'A', rcode: 'NXDOMAIN', authority: [SOA] },
  { name: 'NODATA: name exists, type does not', q: 'www.example.com', t: 'MX', rcode: 'NOERROR', aa: true, answer: [], authority: [SOA] },
  { name: 'NODATA for an empty non-terminal', q: 'b.ent.example.com', t: 'A', rcode: 'NOERROR', answer: [], authority: [SOA] },
  { name: 'NODATA for a higher empty non-terminal', q: 'ent.example.com', t: 'TXT', rcode: 'NOERROR', answer: [], authority: [SOA] },
  { name: 'NXDOMAIN in another zone uses that zone\'s SOA', q: 'nothing.other.test', t: 'A', rcode: 'NXDOMAIN', authority: [OTHER_SOA] },
  // Wildcards (RFC 4592)
  { name: 'wildcard synthesizes the asked name', q: 'anything.wild.example.com', t: 'A', answer: ['anything.wild.example.com 3600 A 192.0.2.99'], authority: NS },
  { name: 'wildcard TXT', q: 'x.wild.example.com', t: 'TXT', answer: ['x.wild.example.com 3600 TXT wild'] },
  { name: 'wildcard matches several labels', q: 'a.b.wild.example.com', t: 'A', answer: ['a.b.wild.example.com 3600 A 192.0.2.99'] },
  { name: 'wildcard NODATA: type absent at the wildcard', q: 'x.wild.example.com', t: 'MX', rcode: 'NOERROR', answer: [], authority: [SOA] },
  { name: 'an existing name is not covered by the wildcard', q: 'exists.wild.example.com', t: 'TXT', rcode: 'NOERROR', answer: [], authority: [SOA] },
  { name: 'below an existing name the closest encloser is that name: NXDOMAIN', q: 'x.exists.wild.example.com', t: 'A', rcode: 'NXDOMAIN' },
  { name: 'the wildcard owner itself answers', q: '*.wild.example.com', t: 'A', answer: ['*.wild.example.com 3600 A 192.0.2.99'] },
  { name: 'empty non-terminal blocks the wildcard above it', q: 'x.b.ent.example.com', t: 'A', rcode: 'NXDOMAIN', authority: [SOA] },
  { name: 'wildcard at the empty non-terminal applies to its children', q: 'x.ent.example.com', t: 'A', answer: ['x.ent.example.com 3600 A 192.0.2.100'] },
  { name: 'wildcard CNAME is followed', q: 'foo.wcname.example.com', t: 'A', answer: ['foo.wcname.example.com 3600 CNAME www.example.com', ...WWW_A], authority: NS },
  { name: 'wildcard CNAME asked for CNAME', q: 'foo.wcname.example.com', t: 'CNAME', answer: ['foo.wcname.example.com 3600 CNAME www.example.com'] },
  // CNAME (RFC 1034 §3.6.2, §4.3.2)
  { name: 'CNAME followed inside the zone', q: 'alias.example.com', t: 'A', answer: ['alias.example.com 3600 CNAME www.example.com', ...WWW_A], authority: NS },
  { name: 'CNAME asked for CNAME is not followed', q: 'alias.example.com', t: 'CNAME', answer: ['alias.example.com 3600 CNAME www.example.com'], authority: NS },
  { name: 'CNAME chain of two', q: 'chain1.example.com', t: 'AAAA', answer: ['chain1.example.com 3600 CNAME chain2.example.com', 'chain2.example.com 3600 CNAME www.example.com', 'www.example.com 3600 AAAA 2001:db8::80'] },
  { name: 'CNAME to a type the target lacks: NODATA after the chain', q: 'alias.example.com', t: 'MX', rcode: 'NOERROR', answer: ['alias.example.com 3600 CNAME www.example.com'], authority: [SOA] },
  { name: 'CNAME loop is stopped, links answered', q: 'loop1.example.com', t: 'A', rcode: 'NOERROR', answer: ['loop1.example.com 3600 CNAME loop2.example.com', 'loop2.example.com 3600 CNAME loop1.example.com'], authority: [] },
  { name: 'CNAME to itself', q: 'self.example.com', t: 'A', answer: ['self.example.com 3600 CNAME self.example.com'], authority: [] },
  { name: 'CNAME into another of our zones is followed there', q: 'out.example.com', t: 'A', answer: ['out.example.com 3600 CNAME www.other.test', 'www.other.test 7200 A 198.51.100.80'], authority: ['other.test 7200 NS ns2.other.test'], additional: ['ns2.other.test 7200 A 198.51.100.2'] },
  { name: 'CNAME into another zone to a missing name: NXDOMAIN (RFC 6604)', q: 'outnx.example.com', t: 'A', rcode: 'NXDOMAIN', answer: ['outnx.example.com 3600 CNAME nothing.other.test'], authority: [OTHER_SOA] },
  { name: 'CNAME out of our zones: the CNAME alone', q: 'external.example.com', t: 'A', rcode: 'NOERROR', aa: true, answer: ['external.example.com 3600 CNAME www.elsewhere.invalid'], authority: [] },
  { name: 'CNAME into the child zone we also serve', q: 'tochild.example.com', t: 'A', answer: ['tochild.example.com 3600 CNAME host.child.example.com', 'host.child.example.com 3600 A 192.0.2.150'], authority: ['child.example.com 3600 NS ns1.child.example.com'] },
  { name: 'CNAME to a name below a cut: chain, then referral, AA kept', q: 'todeleg.example.com', t: 'A', aa: true, answer: ['todeleg.example.com 3600 CNAME host.deleg.example.com'], authority: ['deleg.example.com 3600 NS ns.deleg.example.com', 'deleg.example.com 3600 NS ns.other.test'] },
  // DNAME (RFC 6672)
  { name: 'DNAME: DNAME, synthesized CNAME, then the target', q: 'a.b.dn.example.com', t: 'A', answer: ['dn.example.com 3600 DNAME other.test', 'a.b.dn.example.com 3600 CNAME a.b.other.test', 'a.b.other.test 7200 A 198.51.100.9'] },
  { name: 'DNAME to a missing target name: NXDOMAIN', q: 'x.dn.example.com', t: 'A', rcode: 'NXDOMAIN', answer: ['dn.example.com 3600 DNAME other.test', 'x.dn.example.com 3600 CNAME x.other.test'], authority: [OTHER_SOA] },
  { name: 'DNAME owner itself is not redirected', q: 'dn.example.com', t: 'A', rcode: 'NOERROR', answer: [], authority: [SOA] },
  { name: 'DNAME asked for DNAME', q: 'dn.example.com', t: 'DNAME', answer: ['dn.example.com 3600 DNAME other.test'] },
  { name: 'DNAME with qtype CNAME: the synthesized CNAME answers', q: 'mail.dn.example.com', t: 'CNAME', answer: ['dn.example.com 3600 DNAME other.test', 'mail.dn.example.com 3600 CNAME mail.other.test'], authority: [] },
  // Delegations
  { name: 'referral: NS in authority, glue in additional, AA clear', q: 'host.deleg.example.com', t: 'A', rcode: 'NOERROR', aa: false, answer: [], authority: ['deleg.example.com 3600 NS ns.deleg.example.com', 'deleg.example.com 3600 NS ns.other.test'], additional: ['ns.deleg.example.com 3600 A 192.0.2.200', 'ns.deleg.example.com 3600 AAAA 2001:db8::200'] },
  { name: 'referral for the cut itself', q: 'deleg.example.com', t: 'A', aa: false, answer: [] },
  { name: 'NS at the cut is a referral, not an answer', q: 'deleg.example.com', t: 'NS', aa: false, answer: [] },
  { name: 'glue is never answered authoritatively', q: 'ns.deleg.example.com', t: 'A', aa: false, answer: [] },
  { name: 'DS at the cut is answered from the parent', q: 'deleg.example.com', t: 'DS', aa: true, answer: ['deleg.example.com 3600 DS 12345 8 2 49fd46e6c4b45c55d4ac69cbd3cd34ac1afe51de4c6b1d5b8f6e1f1e8b7c2a15'], authority: [] },
  { name: 'DS below the cut is referred', q: 'a.deleg.example.com', t: 'DS', aa: false },
  // Parent and child zone both served
  { name: 'child zone answers its names (longest origin wins)', q: 'host.child.example.com', t: 'A', aa: true, answer: ['host.child.example.com 3600 A 192.0.2.150'], authority: ['child.example.com 3600 NS ns1.child.example.com'] },
  { name: 'child zone apex SOA from the child', q: 'child.example.com', t: 'SOA', aa: true, answer: ['child.example.com 3600 SOA ns1.child.example.com hostmaster.child.example.com 7 7200 3600 1209600 600'] },
  { name: 'child NXDOMAIN uses the child SOA', q: 'nx.child.example.com', t: 'A', rcode: 'NXDOMAIN', authority: ['child.example.com 600 SOA ns1.child.example.com hostmaster.child.example.com 7 7200 3600 1209600 600'] },
  { name: 'DS for the child apex comes from the parent zone', q: 'child.example.com', t: 'DS', aa: true, rcode: 'NOERROR', answer: [], authority: [SOA] },
  // ANY (RFC 8482)
  { name: 'ANY: one RRset, the first of the name, no authority', q: 'www.example.com', t: 'ANY', answer: WWW_A, authority: [] },
  { name: 'ANY at the apex: the SOA', q: 'example.com', t: 'ANY', answer: ['example.com 3600 SOA ns1.example.com hostmaster.example.com 2026112301 7200 3600 1209600 300'] },
  { name: 'ANY at an empty non-terminal: NODATA', q: 'b.ent.example.com', t: 'ANY', answer: [], authority: [SOA] },
  { name: 'ANY for a missing name: NXDOMAIN', q: 'nx.example.com', t: 'ANY', rcode: 'NXDOMAIN' },
  // Classes and types
  { name: 'class ANY is answered from IN data', q: 'www.example.com', t: 'A', check: (r) => expect(r.answers).to.have.length(2) },
  { name: 'AXFR refused', q: 'example.com', t: 'AXFR', rcode: 'REFUSED', aa: false, answer: [] },
  { name: 'IXFR refused', q: 'example.com', t: 'IXFR', rcode: 'REFUSED' },
  { name: 'a name outside every zone: REFUSED, AA clear', q: 'www.example.net', t: 'A', rcode: 'REFUSED', aa: false, answer: [], authority: [] },
  { name: 'a parent of our zones is not ours', q: 'com', t: 'NS', rcode: 'REFUSED' },
  // EDNS (RFC 6891)
  { name: 'OPT echoed with our size 1232 when the client offers 4096', q: 'www.example.com', t: 'A', edns: { size: 4096 }, check: (r) => expect(opt(r)?.udpPayloadSize).to.equal(1232) },
  { name: 'no OPT in the reply without one in the query', q: 'www.example.com', t: 'A', check: (r) => expect(opt(r)).to.equal(undefined) },
  { name: 'EDNS version 1: BADVERS, version 0 in the reply, no answer', q: 'www.example.com', t: 'A', edns: { version: 1 }, rcode: 'NOERROR', aa: false, answer: [], authority: [], check: (r) => expect(opt(r)).to.include({ extendedRcode: 1, ednsVersion: 0 }) },
  { name: 'DO bit copied into the reply', q: 'www.example.com', t: 'A', edns: { do: true }, check: (r) => expect(opt(r)?.flag_do).to.equal(true) },
  { name: 'unknown EDNS flag bits cleared in the reply', q: 'www.example.com', t: 'A', edns: { flags: 0x7fff }, check: (r) => expect(opt(r)?.flags).to.equal(0) },
  { name: 'unknown option ignored and not echoed', q: 'www.example.com', t: 'A', edns: { unknownOption: true }, answer: WWW_A, check: (r) => expect(opt(r)?.options).to.deep.equal([]) },
  { name: 'NSID asked: the worker named (RFC 5001)', q: 'www.example.com', t: 'A', edns: { nsid: true }, check: (r) => expect(opt(r)?.options?.[0]).to.deep.include({ code: 3, data: Buffer.from('worker-0') }) },
  // Sizes and truncation
  { name: 'no EDNS: a 700-octet answer does not fit 512: TC, only header and question', q: 'big.example.com', t: 'TXT', tc: true, answer: [], authority: [], additional: [], check: (_r, b) => expect(b.length).to.be.at.most(512) },
  { name: 'EDNS 512 counts as 512: TC', q: 'big.example.com', t: 'TXT', edns: { size: 512 }, tc: true, answer: [] },
  { name: 'EDNS 200 counts as 512, not less', q: 'www.example.com', t: 'A', edns: { size: 200 }, tc: false, answer: WWW_A },
  { name: 'EDNS 1232: fits, answer and authority kept', q: 'big.example.com', t: 'TXT', edns: { size: 1232 }, tc: false, check: (r, b) => { expect(r.answers).to.have.length(6); expect(b.length).to.be.at.most(1232); } },
  { name: 'EDNS 4096 is capped at our 1232: a 1500-octet answer truncates, OPT kept', q: 'huge.example.com', t: 'TXT', edns: { size: 4096 }, tc: true, answer: [], check: (r, b) => { expect(b.length).to.be.at.most(1232); expect(opt(r)).to.not.equal(undefined); } },
  { name: 'over TCP nothing is truncated', q: 'huge.example.com', t: 'TXT', tcp: true, tc: false, check: (r) => expect(r.answers).to.have.length(7) },
  { name: 'RD copied, RA clear (no recursion yet)', q: 'www.example.com', t: 'A', check: (r) => { expect(r.flag_rd).to.equal(true); expect(r.flag_ra).to.equal(false); } },
];

function opt(r: Reply): { udpPayloadSize: number; extendedRcode: number; ednsVersion: number; flags: number; flag_do: boolean; options: { code: number; data: Buffer }[] } | undefined {
  return (r.additionals ?? []).find((a) => a.type === 'OPT') as never;
}

function query(c: Case): Buffer {
  const additionals = c.edns
    ? [
        {
          type: 'OPT',
          name: '.',
          udpPayloadSize: c.edns.size ?? 1232,
          ednsVersion: c.edns.version ?? 0,
          flags: (c.edns.do ? dnsPacket.DNSSEC_OK : 0) | (c.edns.flags ?? 0),
          options: [...(c.edns.nsid ? [{ code: 3, data: Buffer.alloc(0) }] : []), ...(c.edns.unknownOption ? [{ code: 65001, data: Buffer.from('x') }] : [])],
        },
      ]
    : [];
  return dnsPacket.encode({ type: 'query', id: 4321, flags: dnsPacket.RECURSION_DESIRED, questions: [{ name: c.q, type: c.t as 'A', class: c.name.startsWith('class ANY') ? ('ANY' as 'IN') : 'IN' }], additionals: additionals as never });
}

describe('answers: a table of lookup, EDNS and truncation rules against a test zone', () => {
  expect(cases.length).to.be.at.least(60);
  for (const c of cases) {
    it(c.name, () => {
      const bytes = run(query(c), c.tcp ? 'tcp' : 'udp');
      expect(bytes).to.not.equal(null);
      const r = decodeReply(bytes!);
      expect(r.id).to.equal(4321);
      if (c.rcode !== undefined) expect(r.rcode, 'rcode').to.equal(c.rcode);
      if (c.aa !== undefined) expect(r.flag_aa, 'AA').to.equal(c.aa);
      if (c.tc !== undefined) expect(r.flag_tc, 'TC').to.equal(c.tc);
      if (c.answer !== undefined) expect(r.answers.map(rr), 'answer').to.deep.equal(c.answer);
      if (c.authority !== undefined) expect((r.authorities as Reply['answers']).map(rr), 'authority').to.deep.equal(c.authority);
      if (c.additional !== undefined) expect((r.additionals as Reply['answers']).filter((a) => a.type !== 'OPT').map(rr), 'additional').to.deep.equal(c.additional);
      c.check?.(r, bytes!);
    });
  }
});
