import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { generateQueries } from '../../../bench/queries.js';
import { digArgs, judgeReply, parseDig, pickSamples, serverSigning, type DigReply, type SignedSample } from '../../../bench/signed-check.js';
import { ROOT } from '../../helpers/server.js';

/** dig 9.18's output, captured from NSD 4.6.1 serving a zone signed by dnssec-signzone (NSEC3 unless named nsec), and the same zone unsigned. */
const fixture = (name: string): string => readFileSync(`${ROOT}test/unit/bench/fixtures/dig-${name}.txt`, 'utf8');

/** The reply in a fixture (fails the test when dig got none). */
function reply(name: string): DigReply {
  const r = parseDig(fixture(name));
  if (r.kind !== 'reply') throw new Error(`${name}: ${r.why}`);
  return r.reply;
}

/** The section counts dig prints in its header line (ADDITIONAL counts the OPT pseudo-record, which is no section line). */
function headerCounts(text: string): { answer: number; authority: number; additional: number } {
  const m = /ANSWER: (\d+), AUTHORITY: (\d+), ADDITIONAL: (\d+)/.exec(text)!;
  const opt = /^;; OPT PSEUDOSECTION:$/m.test(text) ? 1 : 0;
  return { answer: Number(m[1]), authority: Number(m[2]), additional: Number(m[3]) - opt };
}

const SIGNED = ['nsd-positive', 'nsd-nodata', 'nsd-nxdomain', 'nsd-nsec-nxdomain', 'nsd-wildcard', 'nsd-referral'];

describe('bench signature check: dig output', () => {
  it('reads every record of every section, as many as dig\'s header counts', () => {
    for (const name of [...SIGNED, 'nsd-unsigned-positive', 'nsd-unsigned-nxdomain']) {
      const text = fixture(name);
      const r = reply(name);
      const n = headerCounts(text);
      expect({ answer: r.answer.length, authority: r.authority.length, additional: r.additional.length }, name).to.deep.equal(n);
      expect(r.size, name).to.equal(Number(/MSG SIZE\s+rcvd: (\d+)/.exec(text)![1]));
      expect(r.rcode, name).to.equal(/status: (\w+)/.exec(text)![1]);
      expect(r.ednsFlags, name).to.deep.equal(['do']);
      for (const rec of [...r.answer, ...r.authority, ...r.additional]) {
        expect(rec.owner, name).to.match(/^[a-z0-9.*-]+\.$/);
        expect(rec.type, name).to.match(/^[A-Z0-9]+$/);
        expect(rec.data, name).to.not.equal('');
      }
    }
    const nx = reply('nsd-nxdomain');
    expect(nx.flags).to.include.members(['qr', 'aa']);
    expect(nx.authority.filter((x) => x.type === 'NSEC3')).to.have.length(3);
    // An RRSIG's first field is the type it covers.
    expect(nx.authority.filter((x) => x.type === 'RRSIG').map((x) => x.data.split(' ')[0]).sort()).to.deep.equal(['NSEC3', 'NSEC3', 'NSEC3', 'SOA']);
  });

  it('says why there was no reply', () => {
    const r = parseDig(fixture('no-reply'));
    expect(r.kind).to.equal('no-reply');
    expect(r.kind === 'no-reply' && r.why).to.match(/connection refused/);
    expect(parseDig('').kind).to.equal('no-reply');
  });
});

describe('bench signature check: judging a reply (RFC 4035 §3.1)', () => {
  it('finds every kind of reply from a signed zone signed: positive, NODATA, NXDOMAIN (NSEC and NSEC3), wildcard, referral', () => {
    for (const name of SIGNED) expect(judgeReply(reply(name)), name).to.deep.equal({ kind: 'signed' });
  });

  it('finds replies from the unsigned zone unsigned, naming what is missing', () => {
    const pos = judgeReply(reply('nsd-unsigned-positive'));
    expect(pos.kind).to.equal('unsigned');
    expect(pos.kind === 'unsigned' && pos.missing).to.include.members(['RRSIG over mail1.example.com. A in the answer (RFC 4035 §3.1.1)', 'RRSIG over example.com. NS in the authority section (RFC 4035 §3.1.1)']);
    const nx = judgeReply(reply('nsd-unsigned-nxdomain'));
    expect(nx.kind === 'unsigned' && nx.missing.join('\n')).to.include('RRSIG over example.com. SOA').and.include('NSEC or NSEC3 records proving the name or type absent');
  });

  // Each case takes a signed reply and removes one thing a signed reply must carry.
  const without = (name: string, change: (r: DigReply) => DigReply): ReturnType<typeof judgeReply> => judgeReply(change(structuredClone(reply(name))));
  const noRrsig = (recs: DigReply['answer'], covered: string): DigReply['answer'] => recs.filter((x) => !(x.type === 'RRSIG' && x.data.startsWith(`${covered} `)));
  const cases: [string, string, (r: DigReply) => DigReply, RegExp][] = [
    ['the answer\'s RRSIG is left out', 'nsd-positive', (r) => ({ ...r, answer: noRrsig(r.answer, 'A') }), /RRSIG over mail1\.example\.com\. A in the answer/],
    ['the apex NS RRSIG in authority is left out', 'nsd-positive', (r) => ({ ...r, authority: noRrsig(r.authority, 'NS') }), /RRSIG over example\.com\. NS in the authority/],
    ['the DO bit is not copied back', 'nsd-positive', (r) => ({ ...r, ednsFlags: [] }), /DO bit was not copied/],
    ['the OPT record is left out', 'nsd-positive', (r) => ({ ...r, ednsFlags: null }), /no OPT record/],
    ['the SOA RRSIG of NODATA is left out', 'nsd-nodata', (r) => ({ ...r, authority: noRrsig(r.authority, 'SOA') }), /RRSIG over example\.com\. SOA/],
    ['the NSEC3 of NODATA is left out', 'nsd-nodata', (r) => ({ ...r, authority: r.authority.filter((x) => x.type !== 'NSEC3' && !x.data.startsWith('NSEC3 ')) }), /NSEC or NSEC3 records proving/],
    ['one NSEC3 RRSIG of NXDOMAIN is left out', 'nsd-nxdomain', (r) => ({ ...r, authority: r.authority.filter((x, i, all) => !(x.type === 'RRSIG' && x.data.startsWith('NSEC3 ') && all.findIndex((y) => y.type === 'RRSIG' && y.data.startsWith('NSEC3 ')) === i)) }), /RRSIG over [a-z0-9]+\.example\.com\. NSEC3 in the authority/],
    ['the NSEC of NXDOMAIN is left out', 'nsd-nsec-nxdomain', (r) => ({ ...r, authority: r.authority.filter((x) => x.type === 'SOA' || x.data.startsWith('SOA ')) }), /NSEC or NSEC3 records proving/],
    ['the SOA of NXDOMAIN is left out', 'nsd-nxdomain', (r) => ({ ...r, authority: r.authority.filter((x) => x.type !== 'SOA' && !x.data.startsWith('SOA ')) }), /the SOA in the authority section of a negative answer/],
    ['the wildcard proof is left out', 'nsd-wildcard', (r) => ({ ...r, authority: r.authority.filter((x) => x.type !== 'NSEC3' && !x.data.startsWith('NSEC3 ')) }), /wildcard expansion \(RFC 4035 §3\.1\.3\.3\)/],
    ['the referral\'s proof of no DS is left out', 'nsd-referral', (r) => ({ ...r, authority: r.authority.filter((x) => x.type === 'NS') }), /a DS RRset, or NSEC or NSEC3 proving there is none/],
    ['the reply is truncated', 'nsd-positive', (r) => ({ ...r, flags: [...r.flags, 'tc'] }), /truncated \(TC=1\) at 1232 octets/],
    ['the rcode is SERVFAIL', 'nsd-positive', (r) => ({ ...r, rcode: 'SERVFAIL', answer: [], authority: [], additional: [] }), /rcode SERVFAIL/],
    ['the reply is empty', 'nsd-positive', (r) => ({ ...r, answer: [], authority: [], additional: [] }), /an answer \(the reply is empty\)/],
  ];
  for (const [what, name, change, why] of cases) {
    it(`finds a reply unsigned when ${what}`, () => {
      const v = without(name, change);
      expect(v.kind, JSON.stringify(v)).to.equal('unsigned');
      expect(v.kind === 'unsigned' && v.missing.join('\n')).to.match(why);
    });
  }

  it('does not ask a referral to sign the delegation\'s NS RRset (RFC 4035 §2.2), nor the glue', () => {
    const r = reply('nsd-referral');
    expect(r.authority.some((x) => x.type === 'NS' && !r.authority.some((y) => y.type === 'RRSIG' && y.data.startsWith('NS ')))).to.equal(true);
    expect(r.additional.some((x) => x.type === 'A')).to.equal(true);
    expect(judgeReply(r)).to.deep.equal({ kind: 'signed' });
  });
});

describe('bench signature check: samples and the verdict per server', () => {
  const zone = {
    origin: 'example.com',
    nodes: new Map<string, { type: string }[]>([
      ['example.com', [{ type: 'SOA' }, { type: 'NS' }]],
      ['www.example.com', [{ type: 'A' }, { type: 'AAAA' }]],
      ['mail.example.com', [{ type: 'A' }, { type: 'MX' }]],
      ['ftp.example.com', [{ type: 'A' }]],
      ['*.wild.example.com', [{ type: 'A' }]],
      ['sub.example.com', [{ type: 'NS' }]],
    ]),
  };

  it('takes the first two questions of each kind of answer the file has, each name once', () => {
    const q = generateQueries(zone, { count: 2000, seed: 3, randomSubdomain: 0.5 });
    const s = pickSamples(q.queries);
    const kinds = s.map((x) => x.kind);
    expect(kinds).to.deep.equal(['existing', 'existing', 'nodata', 'nodata', 'absent', 'absent', 'wildcard', 'wildcard', 'referral', 'random', 'random']);
    // The zone has one name below the delegation: one referral sample.
    for (const k of new Set(kinds)) {
      const names = s.filter((x) => x.kind === k).map((x) => x.name.toLowerCase());
      expect(new Set(names).size, k).to.equal(names.length);
      // The first of that kind in the file.
      expect(s.find((x) => x.kind === k)).to.equal(q.queries.find((x) => x.kind === k));
    }
    expect(pickSamples(q.queries, 1).map((x) => x.kind)).to.deep.equal(['existing', 'nodata', 'absent', 'wildcard', 'referral', 'random']);
    expect(pickSamples([])).to.deep.equal([]);
  });

  it('calls a server unsigned when any sample is, unchecked when a reply is missing, signed only when every one is', () => {
    const at = (outcome: SignedSample['outcome']): SignedSample => ({ name: 'www.example.com', type: 'A', kind: 'existing', outcome });
    const signed = at({ kind: 'signed' });
    const unsigned = at({ kind: 'unsigned', missing: ['x'] });
    const none = at({ kind: 'no-reply', why: 'timed out' });
    expect(serverSigning([signed, signed])).to.equal('signed');
    expect(serverSigning([signed, unsigned])).to.equal('unsigned');
    expect(serverSigning([none, unsigned])).to.equal('unsigned');
    expect(serverSigning([signed, none])).to.equal('unchecked');
    expect(serverSigning([])).to.equal('unchecked');
  });

  it('asks with dig as the load asks: DO=1, EDNS 1232, RD, no cookie, UDP only, loopback', () => {
    const a = digArgs(5353, { name: 'Www.example.com', type: 'AAAA' });
    expect(a.slice(0, 3)).to.deep.equal(['@127.0.0.1', '-p', '5353']);
    expect(a).to.include.members(['+dnssec', '+bufsize=1232', '+rec', '+nocookie', '+ignore']);
    expect(a.slice(-2)).to.deep.equal(['Www.example.com', 'AAAA']);
  });
});
