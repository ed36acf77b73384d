import { expect } from 'chai';
import { paramsText, readDnskey, readNsec, readNsec3, readNsec3Params, readRrsig, readTypeBitmap, sameHash } from '../../../src/dnssec/records.js';
import { absoluteTime, dateText, windowState } from '../../../src/dnssec/sig-time.js';
import { nameToWire } from '../../../src/zone/names.js';

describe('dnssec records and validity windows', () => {
  it('type bitmaps (RFC 4034 §4.1.2): windows in order, 1 to 32 octets; anything else is malformed', () => {
    const cases: { hex: string; types: number[] | null }[] = [
      { hex: '', types: [] },
      // RFC 4034 §4.3's example: A MX RRSIG NSEC TYPE1234.
      { hex: '0006400100000003' + '041b' + '00'.repeat(26) + '20', types: [1, 15, 46, 47, 1234] },
      { hex: '000100', types: [] },
      { hex: '0001', types: null },
      { hex: '0000', types: null },
      { hex: '0101400001', types: null },
      { hex: '00014000014000', types: null },
      { hex: '0021' + '00'.repeat(33), types: null },
    ];
    for (const c of cases) expect(readTypeBitmap(Buffer.from(c.hex, 'hex')), c.hex).to.deep.equal(c.types);
  });

  it('RRSIG, DNSKEY, NSEC, NSEC3 and NSEC3PARAM fields from wire RDATA; short ones are null', () => {
    const signer = nameToWire('Example.com');
    const rrsig = Buffer.concat([Buffer.from('0001' + '0d' + '02' + '00000e10' + '70000000' + '60000000' + '3039', 'hex'), signer, Buffer.from('abcd', 'hex')]);
    const sig = readRrsig(rrsig)!;
    expect([sig.typeCovered, sig.algorithm, sig.labels, sig.originalTtl, sig.expiration, sig.inception, sig.keyTag, sig.signer]).to.deep.equal([1, 13, 2, 3600, 0x70000000, 0x60000000, 12345, 'Example.com']);
    expect(sig.signature.toString('hex')).to.equal('abcd');
    expect(sig.signedFields.length).to.equal(18 + signer.length);
    expect(readRrsig(rrsig.subarray(0, 20))).to.equal(null);

    const key = readDnskey(Buffer.from('0101030d' + 'aa'.repeat(64), 'hex'))!;
    expect([key.flags, key.protocol, key.algorithm, key.publicKey.length]).to.deep.equal([257, 3, 13, 64]);
    expect(readDnskey(Buffer.from('0101', 'hex'))).to.equal(null);

    expect(readNsec(Buffer.concat([nameToWire('b.Example'), Buffer.from('000140', 'hex')]))).to.deep.equal({ next: 'b.Example', types: [1] });
    expect(readNsec(Buffer.from('03616263', 'hex'))).to.equal(null);

    const nsec3 = readNsec3(Buffer.from('01' + '01' + '000a' + '02aabb' + '04deadbeef' + '000120', 'hex'))!;
    expect([nsec3.hashAlgorithm, nsec3.flags, nsec3.iterations, nsec3.salt.toString('hex'), nsec3.nextHash.toString('hex'), nsec3.types]).to.deep.equal([1, 1, 10, 'aabb', 'deadbeef', [2]]);
    expect(readNsec3(Buffer.from('0101000a02aabb09dead', 'hex'))).to.equal(null);
    const param = readNsec3Params(Buffer.from('0100000a02aabb', 'hex'))!;
    expect(paramsText(param)).to.equal('1 0 10 AABB');
    expect(paramsText(readNsec3Params(Buffer.from('0100000000', 'hex'))!)).to.equal('1 0 0 -');
    expect(sameHash(param, nsec3)).to.equal(true);
    expect(sameHash(param, { ...nsec3, iterations: 11 })).to.equal(false);
    expect(readNsec3Params(Buffer.from('0100000a05aabb', 'hex'))).to.equal(null);
  });

  it('validity windows in serial arithmetic (RFC 4034 §3.1.5, RFC 4035 §5.3.1)', () => {
    const t = (iso: string): number => Date.parse(iso) / 1000;
    const now = t('2026-06-01T00:00:00Z');
    const cases: { inception: number; expiration: number; now: number; want: string; at?: string }[] = [
      { inception: t('2026-05-01T00:00:00Z'), expiration: t('2026-07-01T00:00:00Z'), now, want: 'valid' },
      { inception: t('2026-05-01T00:00:00Z'), expiration: now, now, want: 'valid' },
      { inception: now, expiration: t('2026-07-01T00:00:00Z'), now, want: 'valid' },
      { inception: t('2026-05-01T00:00:00Z'), expiration: now - 1, now, want: 'expired', at: '2026-05-31T23:59:59.000Z' },
      { inception: now + 1, expiration: t('2026-07-01T00:00:00Z'), now, want: 'not-yet-valid', at: '2026-06-01T00:00:01.000Z' },
      // After 2106 the 32-bit field wraps: a small value then is a time after the wrap, not 1970.
      { inception: t('2106-01-01T00:00:00Z'), expiration: (t('2106-03-01T00:00:00Z') % 2 ** 32), now: t('2106-02-08T00:00:00Z'), want: 'valid' },
      { inception: t('2106-01-01T00:00:00Z'), expiration: (t('2106-02-07T00:00:00Z') % 2 ** 32), now: t('2106-02-08T00:00:00Z'), want: 'expired', at: '2106-02-07T00:00:00.000Z' },
    ];
    for (const c of cases) {
      const got = windowState(c.inception % 2 ** 32, c.expiration, c.now);
      expect(got.kind, JSON.stringify(c)).to.equal(c.want);
      if (c.at !== undefined && got.kind !== 'valid') expect(new Date(got.at * 1000).toISOString()).to.equal(c.at);
    }
    expect(absoluteTime(5, 2 ** 32 + 10)).to.equal(2 ** 32 + 5);
    expect(absoluteTime(2 ** 32 - 5, 2 ** 32 + 10)).to.equal(2 ** 32 - 5);
    expect(dateText(t('2024-02-29T13:04:05Z'))).to.equal('20240229130405 (2024-02-29T13:04:05Z)');
  });
});
