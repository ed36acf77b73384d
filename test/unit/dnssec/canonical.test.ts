import { expect } from 'chai';
import { canonicalName, canonicalOrder, canonicalRecordRdata, lowerWire, signedData, signedOwner } from '../../../src/dnssec/canonical.js';
import { readRrsig } from '../../../src/dnssec/records.js';
import { nameToWire } from '../../../src/zone/names.js';
import { recordRdata } from '../../../src/zone/rdata/rdata.js';
import { parseZoneText, type ZoneRecord } from '../../../src/zone/index.js';

/** Wire octets of a presentation name (test names hold no escapes but `\.`). */
function wire(name: string): Buffer {
  return nameToWire(name);
}

/** The one record `line` makes in a small zone at example.com. */
function record(line: string): ZoneRecord {
  const r = parseZoneText('example.com.', `$TTL 60\n@ SOA ns host 1 1 1 1 1\n@ NS ns\nns A 192.0.2.1\n${line}\n`);
  if (!r.ok) throw new Error(r.errors.map((e) => e.message).join('\n'));
  const owner = line.split(/\s+/)[0]!;
  const type = line.split(/\s+/)[1]!;
  const key = owner === '@' ? 'example.com' : `${owner.toLowerCase()}.example.com`;
  return r.zone.nodes.get(key)!.find((x) => x.type === type)!;
}

describe('dnssec canonical forms (RFC 4034 §6)', () => {
  it('names: lower case, uncompressed; only A-Z fold (RFC 4343 §3)', () => {
    const cases: [string, Buffer][] = [
      ['WWW.Example.COM', wire('www.example.com')],
      ['.', Buffer.from([0])],
      ['a\\.B.example', Buffer.from('03612e62076578616d706c6500', 'hex')],
      ['\\200X.example', Buffer.from('02c878076578616d706c6500', 'hex')],
    ];
    for (const [name, want] of cases) expect(canonicalName(name).toString('hex'), name).to.equal(want.toString('hex'));
    // A length octet is never a letter: 65 octets cannot be a label.
    expect(lowerWire(Buffer.from([0x41, 0x5a, 0x5b, 0x40])).toString('hex')).to.equal('617a5b40');
  });

  it('RDATA: names lower-cased for the RFC 4034 §6.2 types, not for NSEC (RFC 6840 §5.1)', () => {
    const cases: { line: string; code: number; want: Buffer }[] = [
      { line: 'mx MX 10 MAIL.Example.COM.', code: 15, want: Buffer.concat([Buffer.from([0, 10]), wire('mail.example.com')]) },
      { line: 'c CNAME WWW.Example.COM.', code: 5, want: wire('www.example.com') },
      { line: 'n NSEC WWW.Example.COM. A', code: 47, want: Buffer.concat([wire('WWW.Example.COM'), Buffer.from([0, 1, 0x40])]) },
      { line: 't TXT "MixedCase"', code: 16, want: Buffer.from('\u0009MixedCase', 'latin1') },
      { line: 's SRV 0 5 443 WWW.Example.COM.', code: 33, want: Buffer.concat([Buffer.from([0, 0, 0, 5, 1, 0xbb]), wire('www.example.com')]) },
    ];
    for (const c of cases) expect(canonicalRecordRdata(c.code, recordRdata(record(c.line))).toString('hex'), c.line).to.equal(c.want.toString('hex'));
    // NXT (30) and A6 (38), held as RFC 3597 octets, still have their names lower-cased.
    const nxt = Buffer.concat([wire('A.Example'), Buffer.from([0x40])]);
    expect(canonicalRecordRdata(30, nxt).toString('hex')).to.equal(Buffer.concat([wire('a.example'), Buffer.from([0x40])]).toString('hex'));
    const a6 = Buffer.concat([Buffer.from([64]), Buffer.alloc(8, 0xab), wire('P.Example')]);
    expect(canonicalRecordRdata(38, a6).toString('hex')).to.equal(Buffer.concat([Buffer.from([64]), Buffer.alloc(8, 0xab), wire('p.example')]).toString('hex'));
  });

  it('RR order: octet order, a prefix first, duplicates once (§6.3)', () => {
    const got = canonicalOrder([Buffer.from('0102', 'hex'), Buffer.from('01', 'hex'), Buffer.from('ff', 'hex'), Buffer.from('0102', 'hex'), Buffer.from('0003', 'hex')]);
    expect(got.map((b) => b.toString('hex'))).to.deep.equal(['0003', '01', '0102', 'ff']);
  });

  it('the signed owner: the owner, or the wildcard it was expanded from (RFC 4035 §5.3.2)', () => {
    const cases: { owner: string; labels: number; want: string | null }[] = [
      { owner: 'www.Example.com', labels: 3, want: 'www.example.com' },
      { owner: 'a.b.example.com', labels: 2, want: '*.example.com' },
      { owner: 'x.example.com', labels: 2, want: '*.example.com' },
      { owner: '*.example.com', labels: 2, want: '*.example.com' },
      { owner: '*.Wild.example.com', labels: 3, want: '*.wild.example.com' },
      { owner: 'example.com', labels: 3, want: null },
      { owner: '*.example.com', labels: 3, want: null },
      { owner: '.', labels: 0, want: '.' },
    ];
    for (const c of cases) {
      const got = signedOwner(c.owner, c.labels);
      expect(got === null ? null : got.toString('hex'), `${c.owner} labels ${c.labels}`).to.equal(c.want === null ? null : wire(c.want).toString('hex'));
    }
  });

  it('the signed data: RRSIG fields (signer lower-cased, no signature), then each RR in canonical order with the original TTL (§3.1.8.1)', () => {
    const sig = readRrsig(recordRdata(record('www RRSIG A 13 3 600 20300101000000 20200101000000 4242 Example.COM. AAAA')))!;
    const rdatas = [Buffer.from([192, 0, 2, 2]), Buffer.from([192, 0, 2, 1])];
    const data = signedData(sig, 'WWW.example.com', 1, rdatas)!;
    const head = Buffer.concat([Buffer.from('0001' + '0d' + '03' + '00000258', 'hex'), Buffer.alloc(8), Buffer.from('1092', 'hex'), wire('example.com')]);
    head.writeUInt32BE(Date.UTC(2030, 0, 1) / 1000, 8);
    head.writeUInt32BE(Date.UTC(2020, 0, 1) / 1000, 12);
    const rr = (a: number[]): Buffer => Buffer.concat([wire('www.example.com'), Buffer.from('0001' + '0001' + '00000258' + '0004', 'hex'), Buffer.from(a)]);
    expect(data.toString('hex')).to.equal(Buffer.concat([head, rr([192, 0, 2, 1]), rr([192, 0, 2, 2])]).toString('hex'));
    // A labels field the owner cannot have: nothing to verify.
    expect(signedData({ ...sig, labels: 4 }, 'www.example.com', 1, rdatas)).to.equal(null);
  });
});
