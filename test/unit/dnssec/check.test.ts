import { expect } from 'chai';
import { checkDnssec, type DnssecReport } from '../../../src/dnssec/check.js';
import type { Finding } from '../../../src/dnssec/findings.js';
import { reportLines } from '../../../src/dnssec/report.js';
import { keyTag } from '../../../src/dnssec/verify.js';
import { formatDiagnostic, parseZoneText, type Zone } from '../../../src/zone/index.js';
import { bindVerify, editRecords, filterRecords, recordLines, signingUnavailable, signZone, ZONE_BODY, type Signed, type SignOptions } from './signing.js';

const ORIGIN = 'test.example.';
const NOW = (): number => Date.now() / 1000;

function load(text: string, origin = ORIGIN): Zone {
  const r = parseZoneText(origin, text, 'signed.zone');
  if (!r.ok) expect.fail(`the signed zone does not load:\n${r.errors.map(formatDiagnostic).join('\n')}`);
  return r.zone;
}

type SignedReport = Extract<DnssecReport, { kind: 'signed' }>;

function check(s: Signed, verify: boolean, now = NOW()): SignedReport {
  const r = checkDnssec(load(s.text(), s.origin), { now, verify });
  if (r.kind !== 'signed') expect.fail('a signed zone was taken for an unsigned one');
  return r;
}

/** The findings of these kinds. */
function only(r: SignedReport, ...kinds: Finding['kind'][]): Finding[] {
  return r.findings.filter((f) => kinds.includes(f.kind));
}

/** One finding line as check prints it. */
function lines(r: DnssecReport, verify: boolean): string[] {
  return reportLines(r, 'signed.zone', verify, Infinity).problems;
}

describe('dnssec check of zones signed by dnssec-signzone', function () {
  this.timeout(180_000);
  const unavailable = signingUnavailable();
  before(function () {
    if (unavailable !== null) {
      console.log(`skip: ${unavailable}`);
      this.skip();
    }
  });

  const signed: Signed[] = [];
  const sign = (o: Partial<SignOptions> & { algorithm?: string }, body = ZONE_BODY): Signed => {
    const s = signZone(body, { origin: ORIGIN, algorithm: 'ECDSAP256SHA256', ...o });
    signed.push(s);
    return s;
  };
  after(() => {
    for (const s of signed) s.remove();
  });

  for (const algorithm of ['RSASHA256', 'RSASHA512', 'ECDSAP256SHA256', 'ECDSAP384SHA384', 'ED25519', 'ED448']) {
    it(`${algorithm}, NSEC: every RRset verifies, as dnssec-verify says; one changed address fails both`, () => {
      const s = sign({ algorithm });
      expect(bindVerify(s.file, ORIGIN).ok, 'dnssec-verify on the signed zone').to.equal(true);
      const r = check(s, true);
      expect(r.findings).to.deep.equal([]);
      expect(r.verify!.rrsets).to.be.above(20);
      expect(r.verify!.verified).to.equal(r.verify!.rrsets);
      expect(r.verify!.keys.map((k) => [k.tag, k.ksk])).to.have.deep.members([
        [s.ksk, true],
        [s.zsk, false],
      ]);
      expect(r.denial).to.deep.equal({ kind: 'nsec', names: 11 });

      s.write(editRecords(s.text(), (f) => (f[0] === 'www.test.example.' && f[3] === 'A' && f[4] === '192.0.2.10' ? `${f.slice(0, 4).join(' ')} 192.0.2.99` : null)));
      expect(bindVerify(s.file, ORIGIN).ok, 'dnssec-verify on the changed zone').to.equal(false);
      const bad = check(s, true);
      expect(bad.findings).to.deep.equal([{ kind: 'bad-signature', owner: 'www.test.example', type: 1, keyTag: s.zsk, algorithm: bad.verify!.keys[0]!.algorithm }]);
      expect(lines(bad, true)).to.deep.equal([
        `signed.zone: zone test.example.: www.test.example. A: the RRSIG by key ${s.zsk} (${algorithm}) does not verify: the records differ from what was signed (edited after signing?): re-sign the zone (dnssec-signzone, or your signer) and reload`,
      ]);
      // The structure is intact: without --verify nothing is found.
      expect(check(s, false).findings).to.deep.equal([]);
    });
  }

  const nsec3Cases = [
    { name: 'NSEC3, no salt, no extra iterations', nsec3: { salt: '', iterations: 0 }, hashes: 15 },
    { name: 'NSEC3, salt AABBCCDD, 5 iterations', nsec3: { salt: 'aabbccdd', iterations: 5 }, hashes: 15 },
    // Opt-out: the insecure delegation has no NSEC3 (and neither the empty non-terminal above nothing else).
    { name: 'NSEC3 opt-out', nsec3: { salt: '', iterations: 0, optOut: true }, hashes: 14 },
  ];
  for (const c of nsec3Cases) {
    it(`${c.name}: the chain covers every name and empty non-terminal, as dnssec-verify says`, () => {
      const s = sign({ nsec3: c.nsec3 });
      expect(bindVerify(s.file, ORIGIN).ok).to.equal(true);
      const r = check(s, true);
      expect(r.findings).to.deep.equal([]);
      expect(r.denial).to.deep.equal({ kind: 'nsec3', records: c.hashes });
      expect(r.verify!.verified).to.equal(r.verify!.rrsets);
    });
  }

  it('an NSEC3 record removed: the chain breaks there and the name has no NSEC3; dnssec-verify fails too', () => {
    const s = sign({ nsec3: { salt: 'aabb', iterations: 1 } });
    const nsec3 = recordLines(s.text()).filter((f) => f[3] === 'NSEC3');
    expect(check(s, true).findings).to.deep.equal([]);
    // Drop the NSEC3 that another one's next hashed owner points at, and its RRSIG.
    const gone = nsec3[1]!;
    const owner = gone[0]!.toLowerCase();
    const before = nsec3.find((f) => f[8]!.toLowerCase() === owner.split('.')[0])!;
    s.write(filterRecords(s.text(), (f) => f[0]!.toLowerCase() !== owner));
    expect(bindVerify(s.file, ORIGIN).ok).to.equal(false);
    for (const verify of [false, true]) {
      const r = check(s, verify);
      expect(only(r, 'nsec3-chain-break'), `verify ${verify}`).to.deep.equal([
        { kind: 'nsec3-chain-break', params: '1 0 1 AABB', owner: before[0]!.slice(0, -1), found: gone[0]!.split('.')[0]!.toUpperCase(), expected: gone[8]!.toUpperCase() },
      ]);
      expect(only(r, 'nsec3-missing')).to.have.length(1);
    }
    expect(lines(check(s, false), false).join('\n')).to.match(/NSEC3: the chain with parameters 1 0 1 AABB breaks here: the next hashed owner is/);
  });

  it('RRSIGs that expired: each one named with its date; the signatures themselves are good (valid at a time inside the window)', () => {
    const s = sign({ inception: '20200101000000', expiration: '20200201000000' });
    expect(bindVerify(s.file, ORIGIN).ok).to.equal(false);
    const rrsigs = recordLines(s.text()).filter((f) => f[3] === 'RRSIG').length;
    for (const verify of [false, true]) {
      const r = check(s, verify);
      expect(r.findings.map((f) => f.kind)).to.deep.equal(new Array(rrsigs).fill('expired'));
      expect(r.findings[0]).to.include({ at: Date.UTC(2020, 1, 1) / 1000 });
      expect(reportLines(r, 'signed.zone', verify).failed).to.equal(verify);
    }
    const www = lines(check(s, false), false).find((l) => l.includes('www.test.example. A:'));
    expect(www).to.equal(
      `signed.zone: zone test.example.: warning: www.test.example. A: the RRSIG by key ${s.zsk} (ECDSAP256SHA256) expired on 20200201000000 (2020-02-01T00:00:00Z); validating resolvers reject it (SERVFAIL): re-sign the zone (dnssec-signzone, or your signer) and reload`,
    );
    const then = check(s, true, Date.UTC(2020, 0, 15) / 1000);
    expect(then.findings).to.deep.equal([]);
    expect(then.verify!.verified).to.equal(then.verify!.rrsets);
  });

  it('RRSIGs not yet valid: named with the inception date', () => {
    const s = sign({ inception: 'now+86400', expiration: 'now+2592000' });
    expect(bindVerify(s.file, ORIGIN).ok).to.equal(false);
    const r = check(s, true);
    expect(r.findings.length).to.be.above(20);
    expect(r.findings.every((f) => f.kind === 'not-yet-valid')).to.equal(true);
    expect(lines(r, true)[0]).to.match(/the RRSIG by key \d+ \(ECDSAP256SHA256\) is not valid before \d{14} \(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\) \(its inception is in the future\)/);
    expect(check(s, true, NOW() + 2 * 86400).findings).to.deep.equal([]);
  });

  it('the apex DNSKEY RRset removed: no signature can be validated', () => {
    const s = sign({});
    s.write(filterRecords(s.text(), (f) => f[3] !== 'DNSKEY'));
    expect(bindVerify(s.file, ORIGIN).ok).to.equal(false);
    for (const verify of [false, true]) {
      const r = check(s, verify);
      expect(only(r, 'no-apex-dnskey')).to.have.length(1);
      expect(reportLines(r, 'signed.zone', verify).failed).to.equal(verify);
    }
    expect(lines(check(s, false), false)[0]).to.equal(
      'signed.zone: zone test.example.: warning: the zone holds RRSIG records but no DNSKEY RRset at its apex test.example., so no signature can be validated: add the zone\'s DNSKEY records (the keys\' .key files) at the apex and re-sign the zone (dnssec-signzone, or your signer) and reload',
    );
  });

  it('the NSEC of a name removed: that name is missing from the chain', () => {
    const s = sign({});
    s.write(filterRecords(s.text(), (f) => !(f[0] === 'www.test.example.' && (f[3] === 'NSEC' || (f[3] === 'RRSIG' && f[4] === 'NSEC')))));
    expect(bindVerify(s.file, ORIGIN).ok).to.equal(false);
    for (const verify of [false, true]) expect(check(s, verify).findings).to.deep.equal([{ kind: 'nsec-missing', owner: 'www.test.example' }]);
  });

  it('an NSEC next name changed: the link names what it should point at (and the NSEC no longer verifies)', () => {
    const s = sign({});
    let original = '';
    s.write(
      editRecords(s.text(), (f) => {
        if (f[0] !== 'alias.test.example.' || f[3] !== 'NSEC') return null;
        original = f[4]!;
        return [...f.slice(0, 4), 'www.test.example.', ...f.slice(5)].join(' ');
      }),
    );
    expect(bindVerify(s.file, ORIGIN).ok).to.equal(false);
    expect(check(s, false).findings).to.deep.equal([{ kind: 'nsec-next-mismatch', owner: 'alias.test.example', found: 'www.test.example', expected: original.slice(0, -1), closes: false }]);
    expect(only(check(s, true), 'bad-signature')).to.deep.equal([{ kind: 'bad-signature', owner: 'alias.test.example', type: 47, keyTag: s.zsk, algorithm: 13 }]);
  });

  it('the last NSEC not pointing back at the apex: the chain does not close', () => {
    const s = sign({});
    let last = '';
    s.write(
      editRecords(s.text(), (f) => {
        if (f[3] !== 'NSEC' || f[4] !== 'test.example.') return null;
        last = f[0]!;
        return [...f.slice(0, 4), 'zzz.test.example.', ...f.slice(5)].join(' ');
      }),
    );
    expect(last).to.not.equal('');
    expect(bindVerify(s.file, ORIGIN).ok).to.equal(false);
    const r = check(s, false);
    expect(r.findings).to.deep.equal([{ kind: 'nsec-next-mismatch', owner: last.slice(0, -1), found: 'zzz.test.example', expected: 'test.example', closes: true }]);
    expect(lines(r, false)[0]).to.include('but this is the last name of the zone: its NSEC must point back at the apex test.example., or the chain does not close');
  });

  it('an NSEC3PARAM without an NSEC3 chain of its parameters', () => {
    const s = sign({});
    s.write(`${s.text()}\ntest.example. 0 IN NSEC3PARAM 1 0 5 AABBCCDD\n`);
    expect(bindVerify(s.file, ORIGIN).ok).to.equal(false);
    expect(only(check(s, false), 'nsec3param-without-chain')).to.deep.equal([{ kind: 'nsec3param-without-chain', params: '1 0 5 AABBCCDD' }]);
    const r = check(s, true);
    expect(only(r, 'nsec3param-without-chain', 'unsigned', 'nsec-bitmap-mismatch').map((f) => f.kind)).to.have.members(['nsec3param-without-chain', 'unsigned', 'nsec-bitmap-mismatch']);
    expect(lines(r, true).join('\n')).to.include('test.example. NSEC3PARAM 1 0 5 AABBCCDD: no NSEC3 records with these parameters');
  });

  it('an RRset added after signing: unsigned, and missing from its NSEC bitmap', () => {
    const s = sign({});
    s.write(`${s.text()}\nwww.test.example. 3600 IN TXT "added"\n`);
    expect(bindVerify(s.file, ORIGIN).ok).to.equal(false);
    expect(check(s, false).findings).to.deep.equal([{ kind: 'nsec-bitmap-mismatch', owner: 'www.test.example', found: [1, 28, 46, 47], expected: [1, 16, 28, 46, 47] }]);
    expect(only(check(s, true), 'unsigned')).to.deep.equal([{ kind: 'unsigned', owner: 'www.test.example', type: 16 }]);
  });

  it('an RRSIG naming a key the apex does not have', () => {
    const s = sign({});
    const other = [1, 2, 3].map((d) => (s.zsk + d) % 65536).find((t) => t !== s.ksk)!;
    s.write(editRecords(s.text(), (f) => (f[0] === 'www.test.example.' && f[3] === 'RRSIG' && f[4] === 'A' ? [...f.slice(0, 10), String(other), ...f.slice(11)].join(' ') : null)));
    expect(bindVerify(s.file, ORIGIN).ok).to.equal(false);
    expect(check(s, false).findings).to.deep.equal([]);
    expect(check(s, true).findings).to.deep.equal([{ kind: 'no-key', owner: 'www.test.example', type: 1, keyTag: other, algorithm: 13, signer: 'test.example' }]);
  });

  it('no KSK: the DNSKEY RRset is signed by a ZSK only, as dnssec-verify also refuses', () => {
    const s = sign({ zskOnly: true });
    const b = bindVerify(s.file, ORIGIN);
    expect(b.ok).to.equal(false);
    expect(b.output).to.include('No self-signed KSK DNSKEY found');
    expect(check(s, false).findings).to.deep.equal([]);
    expect(check(s, true).findings).to.deep.equal([{ kind: 'dnskey-not-self-signed' }]);
  });

  it('an algorithm shardns does not verify (RSASHA1) is a note, not a failure; beside ED25519 the ED25519 signatures are verified', () => {
    const s = sign({ algorithm: 'RSASHA1' });
    expect(bindVerify(s.file, ORIGIN).ok).to.equal(true);
    const r = check(s, true);
    expect(r.findings.map((f) => f.kind)).to.deep.equal(['unsupported-algorithm']);
    const out = reportLines(r, 'signed.zone', true);
    expect(out.failed).to.equal(false);
    expect(out.problems[0]).to.match(/^signed\.zone: zone test\.example\.: note: \d+ RRSIG\(s\) of RSASHA1 not verified: shardns verifies RSASHA256, /);
    expect(out.summary[0]).to.match(/^zone test\.example\.: DNSSEC not verified \(signed only with algorithms shardns does not verify\)/);

    const both = sign({ algorithm: 'ED25519', alsoAlgorithm: 'RSASHA1' });
    expect(bindVerify(both.file, ORIGIN).ok).to.equal(true);
    const rb = check(both, true);
    expect(rb.findings.map((f) => f.kind)).to.deep.equal(['unsupported-algorithm']);
    expect(rb.verify!.algorithms).to.deep.equal([15]);
    expect(rb.verify!.verified).to.equal(rb.verify!.rrsets);
  });
});

describe('dnssec check of zones written by hand', () => {
  const head = '$TTL 300\n@ SOA ns h 1 1 1 1 1\n@ NS ns\nns A 192.0.2.1\n';
  /** The tag of the DNSKEY `257 3 253 AAAA` (RFC 4034 Appendix B), which the private-algorithm RRSIGs name. */
  const tag = keyTag({ algorithm: 253, rdata: Buffer.from('010103fd000000', 'hex') });
  const cases: { name: string; body: string; kinds: Finding['kind'][] | 'unsigned'; verify?: false }[] = [
    { name: 'an unsigned zone', body: '', kinds: 'unsigned' },
    { name: 'DNSKEY records but no RRSIG', body: '@ DNSKEY 257 3 13 ' + 'A'.repeat(88) + '\n', kinds: ['keys-without-signatures'] },
    {
      name: 'RRSIGs but neither NSEC nor NSEC3PARAM, nor a DNSKEY',
      body: 'ns RRSIG A 13 3 300 20501231000000 20000101000000 1 example.com. AAAA\n',
      kinds: ['no-apex-dnskey', 'no-denial-chain'],
    },
    {
      name: 'a private algorithm (253): noted, not verified, not failed',
      body:
        '@ DNSKEY 257 3 253 AAAA\n@ NSEC ns NS SOA RRSIG NSEC DNSKEY\nns NSEC @ A RRSIG NSEC\n' +
        ['SOA', 'NS', 'DNSKEY', 'NSEC'].map((t) => `@ RRSIG ${t} 253 2 300 20501231000000 20000101000000 ${tag} example.com. AAAA\n`).join('') +
        ['A', 'NSEC'].map((t) => `ns RRSIG ${t} 253 3 300 20501231000000 20000101000000 ${tag} example.com. AAAA\n`).join(''),
      kinds: ['unsupported-algorithm'],
    },
    {
      name: 'an NSEC at glue below a zone cut: outside the chain, which skips it',
      body:
        '@ DNSKEY 257 3 253 AAAA\n@ RRSIG SOA 253 2 300 20501231000000 20000101000000 1 example.com. AAAA\n' +
        '@ NSEC ns NS SOA RRSIG NSEC DNSKEY\nns NSEC sub A NSEC\nsub NS ns.sub\nsub NSEC @ NS NSEC\nns.sub A 192.0.2.5\nns.sub NSEC @ A NSEC\n',
      kinds: ['nsec-unexpected'],
      verify: false,
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const verify = c.verify ?? true;
      const r = checkDnssec(load(head + c.body, 'example.com.'), { now: Date.UTC(2026, 0, 1) / 1000, verify });
      if (c.kinds === 'unsigned') {
        expect(r.kind).to.equal('unsigned');
        expect(reportLines(r, 'z', true).summary).to.deep.equal(['zone example.com.: not signed (no RRSIG or DNSKEY records): nothing to verify']);
        return;
      }
      if (r.kind !== 'signed') expect.fail('taken for unsigned');
      expect(r.findings.map((f) => f.kind)).to.deep.equal(c.kinds);
      expect(reportLines(r, 'z', true).failed).to.equal(c.kinds.some((k) => k !== 'unsupported-algorithm'));
      if (c.kinds.length > 0) expect(reportLines(r, 'z', verify).problems[0]).to.match(/^z: zone example\.com\.: /);
      expect(reportLines(r, 'z', false).failed).to.equal(false);
    });
  }

  it('at most 20 findings of a kind are printed; the rest are counted', () => {
    const body = Array.from({ length: 25 }, (_, i) => `h${i} A 192.0.2.9\nh${i} RRSIG A 13 3 300 20200101000000 20190101000000 1 example.com. AAAA\n`).join('');
    const r = checkDnssec(load(head + body, 'example.com.'), { now: Date.UTC(2026, 0, 1) / 1000, verify: false });
    const out = reportLines(r, 'z', false);
    expect(out.count).to.equal(27);
    expect(out.problems.filter((l) => l.includes('expired on'))).to.have.length(20);
    expect(out.problems).to.include('z: zone example.com.: warning: … and 5 more like the above (expired)');
    expect(out.problems.at(-1)).to.match(/^z: zone example\.com\.: warning: 27 DNSSEC problem\(s\): validating resolvers would answer SERVFAIL .* shardns serves the zone as it is \(as NSD does\), so this does not fail the check/);
  });
});
