import { expect } from 'chai';
import { generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { algorithmName, keyTag, publicKey, supportedAlgorithm, verifySignature } from '../../../src/dnssec/verify.js';

/** A key pair made by node:crypto, with its public key in the DNSKEY format of its algorithm. */
interface Made {
  algorithm: number;
  privateKey: KeyObject;
  dnskey: Buffer;
  /** How node:crypto signs for this algorithm (RFC 6605: ECDSA as r | s). */
  sign(data: Buffer): Buffer;
}

function jwkOctets(k: KeyObject, field: 'n' | 'e' | 'x' | 'y'): Buffer {
  return Buffer.from(k.export({ format: 'jwk' })[field] as string, 'base64url');
}

/** RFC 3110 §2: exponent length (one octet, or zero and two), exponent, modulus. */
function rsaDnskey(pub: KeyObject, long: boolean): Buffer {
  const e = jwkOctets(pub, 'e');
  const head = long ? Buffer.from([0, e.length >> 8, e.length & 0xff]) : Buffer.from([e.length]);
  return Buffer.concat([head, e, jwkOctets(pub, 'n')]);
}

function make(algorithm: number, options: { long?: boolean } = {}): Made {
  switch (algorithm) {
    case 8:
    case 10: {
      const { publicKey: pub, privateKey } = generateKeyPairSync('rsa', { modulusLength: 1024 });
      const digest = algorithm === 8 ? 'sha256' : 'sha512';
      return { algorithm, privateKey, dnskey: rsaDnskey(pub, options.long === true), sign: (d) => sign(digest, d, privateKey) };
    }
    case 13:
    case 14: {
      const { publicKey: pub, privateKey } = generateKeyPairSync('ec', { namedCurve: algorithm === 13 ? 'P-256' : 'P-384' });
      const digest = algorithm === 13 ? 'sha256' : 'sha384';
      return { algorithm, privateKey, dnskey: Buffer.concat([jwkOctets(pub, 'x'), jwkOctets(pub, 'y')]), sign: (d) => sign(digest, d, { key: privateKey, dsaEncoding: 'ieee-p1363' }) };
    }
    default: {
      const { publicKey: pub, privateKey } = algorithm === 15 ? generateKeyPairSync('ed25519') : generateKeyPairSync('ed448');
      return { algorithm, privateKey, dnskey: jwkOctets(pub, 'x'), sign: (d) => sign(null, d, privateKey) };
    }
  }
}

describe('dnssec signature verification with node:crypto', () => {
  it('key tag (RFC 4034 Appendix B): the RFC 4034 §5.4 example key is 60485', () => {
    const key = Buffer.from(
      'AQOeiiR0GOMYkDshWoSKz9XzfwJr1AYtsmx3TGkJaNXVbfi/2pHm822aJ5iI9BMzNXxeYCmZDRD99WYwYqUSdjMmmAphXdvxegXd/M5+X7OrzKBaMbCVdFLUUh6DhweJBjEVv5f2wwjM9XzcnOf+EPbtG9DMBmADjFDc2w/rljwvFw==',
      'base64',
    );
    expect(keyTag({ algorithm: 5, rdata: Buffer.concat([Buffer.from([1, 0, 3, 5]), key]) })).to.equal(60485);
    // Appendix B.1: algorithm 1 takes the modulus's octets before the last.
    expect(keyTag({ algorithm: 1, rdata: Buffer.from([1, 0, 3, 1, 9, 0x12, 0x34, 0x56]) })).to.equal(0x1234);
  });

  const algorithms = [
    { algorithm: 8, name: 'RSASHA256' },
    { algorithm: 8, name: 'RSASHA256', long: true },
    { algorithm: 10, name: 'RSASHA512' },
    { algorithm: 13, name: 'ECDSAP256SHA256' },
    { algorithm: 14, name: 'ECDSAP384SHA384' },
    { algorithm: 15, name: 'ED25519' },
    { algorithm: 16, name: 'ED448' },
  ];
  for (const c of algorithms) {
    it(`${c.name}${c.long ? ' (RFC 3110 long exponent length)' : ''}: a DNSKEY becomes a key that verifies its own signature and no other`, () => {
      expect(supportedAlgorithm(c.algorithm)).to.equal(true);
      expect(algorithmName(c.algorithm)).to.equal(c.name);
      const made = make(c.algorithm, { long: c.long === true });
      const key = publicKey(c.algorithm, made.dnskey);
      if (key.kind !== 'key') expect.fail(`no key: ${JSON.stringify(key)}`);
      const data = Buffer.from('the signed octets');
      const signature = made.sign(data);
      expect(verifySignature(c.algorithm, key.key, data, signature)).to.equal(true);
      expect(verifySignature(c.algorithm, key.key, Buffer.from('the signed octetS'), signature)).to.equal(false);
      const flipped = Buffer.from(signature);
      flipped[flipped.length - 1]! ^= 1;
      expect(verifySignature(c.algorithm, key.key, data, flipped)).to.equal(false);
      expect(verifySignature(c.algorithm, key.key, data, signature.subarray(1))).to.equal(false);
      // Another key of the same algorithm does not verify it.
      const other = publicKey(c.algorithm, make(c.algorithm).dnskey);
      if (other.kind !== 'key') expect.fail('no second key');
      expect(verifySignature(c.algorithm, other.key, data, signature)).to.equal(false);
    });
  }

  it('keys that cannot be: unsupported algorithms, wrong lengths, RSA without a modulus', () => {
    const cases: { algorithm: number; key: Buffer; kind: string; reason?: RegExp }[] = [
      { algorithm: 5, key: Buffer.alloc(64, 1), kind: 'unsupported' },
      { algorithm: 253, key: Buffer.alloc(8), kind: 'unsupported' },
      { algorithm: 13, key: Buffer.alloc(63, 1), kind: 'bad-key', reason: /ECDSAP256SHA256 public key has 64 octets, this one 63/ },
      { algorithm: 15, key: Buffer.alloc(33, 1), kind: 'bad-key', reason: /ED25519 public key has 32 octets/ },
      { algorithm: 8, key: Buffer.from([3, 1, 0, 1]), kind: 'bad-key', reason: /exponent and a modulus/ },
      { algorithm: 8, key: Buffer.from([0, 0]), kind: 'bad-key', reason: /shorter than its exponent length/ },
      { algorithm: 13, key: Buffer.alloc(64, 0xff), kind: 'bad-key', reason: /node:crypto refuses the key/ },
    ];
    for (const c of cases) {
      const got = publicKey(c.algorithm, c.key);
      expect(got.kind, `${c.algorithm} ${c.key.toString('hex')}`).to.equal(c.kind);
      if (c.reason && got.kind === 'bad-key') expect(got.reason).to.match(c.reason);
    }
    expect(algorithmName(5)).to.equal('RSASHA1');
    expect(algorithmName(200)).to.equal('algorithm 200');
  });
});
