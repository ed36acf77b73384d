import { expect } from 'chai';
import { denialLabel, keygenArgs, recordTypes, signzoneArgs } from '../../../bench/signzone.js';

describe('bench zone signing (dnssec-keygen, dnssec-signzone command lines)', () => {
  const flag = (args: string[], f: string): string | undefined => (args.includes(f) ? args[args.indexOf(f) + 1] : undefined);

  it('makes an ECDSA P-256 KSK and ZSK for the zone in the key folder', () => {
    const ksk = keygenArgs({ origin: 'example.com.', keyDir: '/k', ksk: true });
    const zsk = keygenArgs({ origin: 'example.com.', keyDir: '/k', ksk: false });
    for (const a of [ksk, zsk]) {
      expect(flag(a, '-a')).to.equal('ECDSAP256SHA256');
      expect(flag(a, '-K')).to.equal('/k');
      expect(flag(a, '-n')).to.equal('ZONE');
      expect(a.at(-1)).to.equal('example.com.');
    }
    expect(flag(ksk, '-f')).to.equal('KSK');
    expect(zsk).to.not.include('-f');
  });

  it('signs NSEC3 with no salt, no extra iterations and no opt-out (RFC 9276 §3.1); NSEC without -3', () => {
    const base = { origin: 'example.com.', input: '/z/example.com.zone', output: '/o/example.com.signed', keyDir: '/k' };
    const n3 = signzoneArgs({ ...base, denial: 'nsec3' });
    expect(flag(n3, '-3')).to.equal('-');
    expect(flag(n3, '-H')).to.equal('0');
    expect(n3).to.not.include('-A');
    const n = signzoneArgs({ ...base, denial: 'nsec' });
    expect(n).to.not.include('-3');
    expect(n).to.not.include('-H');
    for (const a of [n, n3]) {
      // Smart signing with the keys made for it, serial kept, one record a line, the input last.
      expect(a).to.include('-S');
      expect(flag(a, '-K')).to.equal('/k');
      expect(flag(a, '-o')).to.equal('example.com.');
      expect(flag(a, '-f')).to.equal('/o/example.com.signed');
      expect(flag(a, '-O')).to.equal('full');
      expect(flag(a, '-N')).to.equal('keep');
      expect(a.at(-1)).to.equal('/z/example.com.zone');
    }
    expect(denialLabel('nsec3')).to.match(/NSEC3, no salt, 0 extra iterations/);
    expect(denialLabel('nsec')).to.equal('NSEC');
  });

  it('counts the records of a signed file per type, skipping comments', () => {
    // As dnssec-signzone -O full writes it: one record a line, full names, `;` comments.
    const text = [
      '; File written on Mon Nov 30 04:37:28 2026',
      '; dnssec_signzone version 9.18.49-1~deb12u3-Debian',
      'example.com.\t3600 IN SOA\tns1.example.com. hostmaster.example.com. 2024010101 7200 3600 1209600 300',
      'example.com.\t3600 IN RRSIG\tSOA 13 2 3600 20261230033728 20261130033728 32786 example.com. EUJRNmDGTW+VrTPFX3Ocu hHClOBc4mPEp9xE44fUehh3oM1XSTw==',
      '; resign=20261230033728',
      'example.com.\t3600 IN DNSKEY\t256 3 13 abc',
      'example.com.\t3600 IN DNSKEY\t257 3 13 def',
      'example.com.\t0 IN NSEC3PARAM\t1 0 0 -',
      'i4rhierjtdeltcdad5105bq6nemarie2.example.com. 300 IN NSEC3 1 0 0 - ILOE43T9047L0FITUNVMF0LVHD23153N A RRSIG',
      '',
    ].join('\n');
    expect(recordTypes(text)).to.deep.equal({ SOA: 1, RRSIG: 1, DNSKEY: 2, NSEC3PARAM: 1, NSEC3: 1 });
    expect(recordTypes('')).to.deep.equal({});
  });
});
