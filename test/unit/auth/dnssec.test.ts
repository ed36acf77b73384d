/**
 * DNSSEC in responses (RFC 4035 §3.1, RFC 5155 §7.2, RFC 4592 §6), on zones
 * signed once by dnssec-signzone (test/fixtures/dnssec/make-fixtures.sh):
 * which RRSIGs, NSEC and NSEC3 records each kind of answer carries, in
 * which section and order. The NSEC3 owners expected are found here from the
 * zone's records and hashes computed with node:crypto, independently of the
 * image's precomputed facts. (Agreement with NSD on thousands of questions,
 * and validation by delv, are the integration tests' job.)
 */

import { expect } from 'chai';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { answer } from '../../../src/dns/answer.js';
import { TYPE } from '../../../src/auth/lookup.js';
import type { RecordList } from '../../../src/auth/records.js';
import { Sections } from '../../../src/auth/sections.js';
import type { ZoneSet } from '../../../src/auth/zone-set.js';
import { encodeBase32Hex } from '../../../src/zone/rdata/encoding.js';
import { loadZones } from '../../../src/zones.js';
import { contextFor } from '../../helpers/answer-questions.js';
import { ROOT } from '../../helpers/server.js';
import { text, wire } from './helpers.js';

const FIX = `${ROOT}test/fixtures/dnssec/`;
const ORIGIN = 'example.com.';

function zonesOf(file: string): ZoneSet {
  const loaded = loadZones([{ name: ORIGIN, file: `${FIX}${file}` }]);
  if (!loaded.ok) throw new Error(loaded.errors.join('\n'));
  return loaded.zones;
}
const nsec = zonesOf('signed-nsec.zone');
const nsec3 = zonesOf('signed-nsec3.zone');
const optout = zonesOf('signed-optout.zone');

const NAMES: Record<number, string> = { 1: 'A', 2: 'NS', 5: 'CNAME', 6: 'SOA', 15: 'MX', 16: 'TXT', 28: 'AAAA', 39: 'DNAME', 43: 'DS', 46: 'RRSIG', 47: 'NSEC', 48: 'DNSKEY', 50: 'NSEC3', 51: 'NSEC3PARAM' };

/** A section as `owner TYPE` lines, RRSIGs as `owner RRSIG(COVERED) ttl`, the owner lower-cased without the origin. */
function lines(list: RecordList): string[] {
  const out: string[] = [];
  for (let i = 0; i < list.length; i++) {
    const r = list.at(i);
    const owner = text(r.owner, r.ownerAt).toLowerCase().replace(/\.?example\.com\.$/, '') || '@';
    if (r.type === TYPE.RRSIG) {
      const covered = (r.data[r.dataAt + 2]! << 8) | r.data[r.dataAt + 3]!;
      out.push(`${owner} RRSIG(${NAMES[covered]}) ${r.ttl}`);
    } else {
      out.push(`${owner} ${NAMES[r.type] ?? r.type}`);
    }
  }
  return out;
}

/** The response's sections, with DO or without. */
function respond(zones: ZoneSet, name: string, type: number, dnssec: boolean): { rcode: number; aa: boolean; answer: string[]; authority: string[]; optional: string[]; additional: string[] } {
  const s = new Sections();
  const r = s.respond(zones, wire(name), 0, type, dnssec);
  if (r.kind !== 'sections') throw new Error('not ours');
  return { rcode: r.rcode, aa: r.aa, answer: lines(r.answers), authority: lines(r.authorities), optional: lines(r.optionalAuthorities), additional: [...lines(r.additionalA), ...lines(r.additionalAAAA)] };
}

/** RFC 5155 §5 with salt `saltHex` and `iterations`, as an owner label (the oracle for the NSEC3 cases). */
function hashLabel(name: string, saltHex: string, iterations: number): string {
  const salt = Buffer.from(saltHex, 'hex');
  let h = createHash('sha1').update(Buffer.concat([Buffer.from(wire(name.toLowerCase())), salt])).digest();
  for (let i = 0; i < iterations; i++) h = createHash('sha1').update(Buffer.concat([h, salt])).digest();
  return encodeBase32Hex(h).toLowerCase();
}

/** The NSEC3 owner labels of a zone file, sorted (the chain). */
function chainOf(file: string): string[] {
  const owners = new Set<string>();
  for (const m of readFileSync(`${FIX}${file}`, 'utf8').matchAll(/^([0-9A-V]{32})\.example\.com\.\s+\d+\s+IN\s+NSEC3\s/gim)) owners.add(m[1]!.toLowerCase());
  return [...owners].sort();
}

/** The chain's owner matching or covering a hash (RFC 5155 §7.2.1: the last at or before it, wrapping). */
function coverOf(chain: string[], h: string): string {
  let found = chain[chain.length - 1]!;
  for (const o of chain) if (o <= h) found = o;
  return found;
}

describe('DNSSEC answers: RRSIGs with each RRset (RFC 4035 §3.1.1)', () => {
  it('DO=1: the answer and the zone NS with their RRSIGs; glue-free additional addresses of in-zone NS hosts signed too', () => {
    const r = respond(nsec, 'www.example.com', TYPE.A, true);
    expect(r.answer).to.deep.equal(['www A', 'www A', 'www RRSIG(A) 3600']);
    expect(r.optional).to.deep.equal(['@ NS', '@ NS', '@ RRSIG(NS) 3600']);
    expect(r.additional).to.include.members(['ns1 A', 'ns1 RRSIG(A) 3600', 'ns2 A', 'ns2 RRSIG(A) 3600', 'ns1 AAAA', 'ns1 RRSIG(AAAA) 3600']);
  });
  it('DO=0: no DNSSEC records', () => {
    const r = respond(nsec, 'www.example.com', TYPE.A, false);
    expect([...r.answer, ...r.authority, ...r.optional, ...r.additional].filter((l) => /RRSIG|NSEC/.test(l))).to.deep.equal([]);
  });
  it('DO=0, an explicit RRSIG question: every RRSIG at the name', () => {
    const r = respond(nsec, 'www.example.com', TYPE.RRSIG, false);
    expect(r.answer.map((l) => l.replace(/ \d+$/, ''))).to.have.members(['www RRSIG(A)', 'www RRSIG(AAAA)', 'www RRSIG(TXT)', 'www RRSIG(NSEC)']);
  });
  it('DNSKEY at the apex: signed, without the zone NS (as NSD)', () => {
    const r = respond(nsec, 'example.com', TYPE.DNSKEY, true);
    expect(r.answer.filter((l) => l.startsWith('@ RRSIG'))).to.deep.equal(['@ RRSIG(DNSKEY) 3600']);
    expect(r.optional).to.deep.equal([]);
  });
  it('a referral: the NS unsigned, its glue unsigned, with the proof of no DS (RFC 4035 §3.1.4)', () => {
    const r = respond(nsec, 'host.insecure.example.com', TYPE.A, true);
    expect(r.aa).to.equal(false);
    expect(r.authority).to.deep.equal(['insecure NS', 'insecure NS', 'insecure NSEC', 'insecure RRSIG(NSEC) 300']);
    expect(r.additional).to.deep.equal(['ns.insecure A', 'ns.insecure AAAA']);
  });
  it('a secure delegation: the DS and its RRSIG in authority', () => {
    const r = respond(nsec, 'www.secure.example.com', TYPE.A, true);
    expect(r.authority).to.deep.equal(['secure NS', 'secure DS', 'secure RRSIG(DS) 3600']);
  });
  it('a CNAME chain: each link with its RRSIG', () => {
    const r = respond(nsec, 'chain1.example.com', TYPE.A, true);
    expect(r.answer).to.deep.equal(['chain1 CNAME', 'chain1 RRSIG(CNAME) 3600', 'chain2 CNAME', 'chain2 RRSIG(CNAME) 3600', 'www A', 'www A', 'www RRSIG(A) 3600']);
  });
  it('a DNAME: signed; the CNAME it stands for is not (RFC 6672 §5.3.1)', () => {
    const r = respond(nsec, 'www.dn.example.com', TYPE.A, true);
    expect(r.answer).to.deep.equal(['dn DNAME', 'dn RRSIG(DNAME) 3600', 'www.dn CNAME', 'www.target A', 'www.target RRSIG(A) 3600']);
  });
});

describe('DNSSEC answers: NSEC denial (RFC 4035 §3.1.3)', () => {
  it('NXDOMAIN: the NSEC covering the name and the one covering the wildcard, then the SOA and its RRSIG at the negative TTL', () => {
    const r = respond(nsec, 'nx.example.com', TYPE.A, true);
    expect(r.rcode).to.equal(3);
    // nx sorts right after ns2 (whose NSEC covers it); *.example.com right after the apex (the apex's NSEC covers it).
    expect(r.authority).to.deep.equal(['ns2 NSEC', 'ns2 RRSIG(NSEC) 300', '@ NSEC', '@ RRSIG(NSEC) 300', '@ SOA', '@ RRSIG(SOA) 300']);
  });
  it('NODATA: the SOA, then the NSEC at the name', () => {
    const r = respond(nsec, 'www.example.com', TYPE.MX, true);
    expect(r.authority).to.deep.equal(['@ SOA', '@ RRSIG(SOA) 300', 'www NSEC', 'www RRSIG(NSEC) 300']);
  });
  it('NODATA at an empty non-terminal: the NSEC before it in canonical order', () => {
    const r = respond(nsec, 'b.ent.example.com', TYPE.A, true);
    expect(r.authority).to.deep.equal(['@ SOA', '@ RRSIG(SOA) 300', 'dnout NSEC', 'dnout RRSIG(NSEC) 300']);
  });
  it('a wildcard answer: the RRSIG of the wildcard (its labels field tells the validator), and the NSEC proving no closer match', () => {
    const r = respond(nsec, 'x.wild.example.com', TYPE.A, true);
    expect(r.answer).to.deep.equal(['x.wild A', 'x.wild RRSIG(A) 3600']);
    // *.wild < exists.wild < x.wild: the NSEC of exists.wild covers the name.
    expect(r.authority).to.deep.equal(['exists.wild NSEC', 'exists.wild RRSIG(NSEC) 300']);
  });
  it('wildcard NODATA: the NSEC covering the name, the SOA, the NSEC at the wildcard', () => {
    const r = respond(nsec, 'zzz.wild.example.com', TYPE.MX, true);
    expect(r.authority).to.deep.equal(['exists.wild NSEC', 'exists.wild RRSIG(NSEC) 300', '@ SOA', '@ RRSIG(SOA) 300', '*.wild NSEC', '*.wild RRSIG(NSEC) 300']);
  });
  it('DS at an insecure cut, answered by the parent: NODATA with the NSEC at the cut', () => {
    const r = respond(nsec, 'insecure.example.com', TYPE.DS, true);
    expect(r.aa).to.equal(true);
    expect(r.authority).to.deep.equal(['@ SOA', '@ RRSIG(SOA) 300', 'insecure NSEC', 'insecure RRSIG(NSEC) 300']);
  });
});

describe('DNSSEC answers: NSEC3 denial (RFC 5155 §7.2)', () => {
  const chain = chainOf('signed-nsec3.zone');
  const h = (name: string): string => hashLabel(name, 'aabbccdd', 5);
  const nsec3Lines = (owner: string): string[] => [`${owner} NSEC3`, `${owner} RRSIG(NSEC3) 300`];

  it('the fixture has a chain of the served parameters', () => {
    expect(chain.length).to.be.greaterThan(20);
    expect(chain).to.include(h('example.com'));
  });
  it('NXDOMAIN: the closest-encloser proof — covering the next closer name, matching the closest encloser, covering its wildcard — then the SOA', () => {
    const r = respond(nsec3, 'a.nx.example.com', TYPE.A, true);
    expect(r.rcode).to.equal(3);
    const want = [...new Set([coverOf(chain, h('nx.example.com')), h('example.com'), coverOf(chain, h('*.example.com'))])].flatMap(nsec3Lines);
    expect(r.authority).to.deep.equal([...want, '@ SOA', '@ RRSIG(SOA) 300']);
  });
  it('NODATA: the SOA, then the NSEC3 matching the name', () => {
    const r = respond(nsec3, 'www.example.com', TYPE.MX, true);
    expect(r.authority).to.deep.equal(['@ SOA', '@ RRSIG(SOA) 300', ...nsec3Lines(h('www.example.com'))]);
  });
  it('a wildcard answer: the NSEC3 covering the next closer name', () => {
    const r = respond(nsec3, 'x.wild.example.com', TYPE.A, true);
    expect(r.answer).to.deep.equal(['x.wild A', 'x.wild RRSIG(A) 3600']);
    expect(r.authority).to.deep.equal(nsec3Lines(coverOf(chain, h('x.wild.example.com'))));
  });
  it('wildcard NODATA: next closer covered, then the SOA, the NSEC3 of the closest encloser and of the wildcard', () => {
    const r = respond(nsec3, 'x.wild.example.com', TYPE.MX, true);
    expect(r.authority).to.deep.equal([...nsec3Lines(coverOf(chain, h('x.wild.example.com'))), '@ SOA', '@ RRSIG(SOA) 300', ...nsec3Lines(h('wild.example.com')), ...nsec3Lines(h('*.wild.example.com'))]);
  });
  it('an NSEC3 owner name does not exist (RFC 5155 §7.2.8): NXDOMAIN, also without DO', () => {
    const owner = `${h('www.example.com')}.example.com`;
    expect(respond(nsec3, owner, TYPE.NSEC3, false).rcode).to.equal(3);
    expect(respond(nsec3, owner, TYPE.A, true).rcode).to.equal(3);
  });
  it('a referral to an insecure child: the NSEC3 matching the cut', () => {
    const r = respond(nsec3, 'host.insecure.example.com', TYPE.A, true);
    expect(r.authority).to.deep.equal(['insecure NS', 'insecure NS', ...nsec3Lines(h('insecure.example.com'))]);
  });
});

describe('DNSSEC answers: NSEC3 opt-out (RFC 5155 §6, §7.2.7)', () => {
  const chain = chainOf('signed-optout.zone');
  const h = (name: string): string => hashLabel(name, '', 0);
  it('the insecure cut has no NSEC3 of its own', () => {
    expect(chain).to.not.include(h('insecure.example.com'));
  });
  it('a referral to it: the NSEC3 matching the closest provable encloser and the opt-out span covering the cut', () => {
    const r = respond(optout, 'host.insecure.example.com', TYPE.A, true);
    const want = [h('example.com'), coverOf(chain, h('insecure.example.com'))].flatMap((o) => [`${o} NSEC3`, `${o} RRSIG(NSEC3) 300`]);
    expect(r.authority).to.deep.equal(['insecure NS', 'insecure NS', ...want]);
  });
});

describe('DNSSEC answers: the reply', () => {
  it('a CNAME leading out of our zones is forwarded to its target, also with DO (the RRSIG after it is not the target)', () => {
    const ctx = contextFor(nsec, { transport: 'udp', rd: true, edns: { size: 1232, do: true }, recursion: true });
    const q = Buffer.from([0, 7, 1, 0, 0, 1, 0, 0, 0, 0, 0, 1, ...wire('out.example.com'), 0, 1, 0, 1, 0, 0, 41, 4, 208, 0, 0, 0x80, 0, 0, 0]);
    const out = answer(q, ctx, { transport: 'udp', address: '127.0.0.1' });
    expect(out.kind).to.equal('forward');
    if (out.kind === 'forward') expect(out.target.toLowerCase()).to.equal('www.example.net');
  });
  it('never AD (RFC 4035 §3.2.3: only a validator sets it); CD echoed', () => {
    const ctx = contextFor(nsec, { transport: 'udp', rd: false, edns: { size: 1232, do: true } });
    const q = Buffer.from([0, 8, 0, 0x30, 0, 1, 0, 0, 0, 0, 0, 1, ...wire('www.example.com'), 0, 1, 0, 1, 0, 0, 41, 4, 208, 0, 0, 0x80, 0, 0, 0]);
    const out = answer(q, ctx, { transport: 'udp', address: '127.0.0.1' });
    expect(out.kind).to.equal('reply');
    if (out.kind === 'reply') {
      expect(out.bytes[3]! & 0x20, 'AD').to.equal(0);
      expect(out.bytes[3]! & 0x10, 'CD').to.equal(0x10);
    }
  });
  it('a signed answer that does not fit: TC, never an RRSIG without its RRset (RFC 4035 §3.1.1)', () => {
    const ctx = contextFor(nsec, { transport: 'udp', rd: false, edns: { size: 512, do: true } });
    const q = Buffer.from([0, 9, 0, 0, 0, 1, 0, 0, 0, 0, 0, 1, ...wire('big.example.com'), 0, 16, 0, 1, 0, 0, 41, 2, 0, 0, 0, 0x80, 0, 0, 0]);
    const out = answer(q, ctx, { transport: 'udp', address: '127.0.0.1' });
    expect(out.kind).to.equal('reply');
    if (out.kind !== 'reply') return;
    expect(out.bytes[2]! & 0x02, 'TC').to.equal(0x02);
    expect(out.bytes.length).to.be.at.most(512);
    // The TXT RRset with its RRSIG fills more than 512 octets: nothing of the answer is sent.
    expect(out.bytes.readUInt16BE(6), 'answer records').to.equal(0);
  });
});
