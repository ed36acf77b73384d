/** ClientAddress: an address read from text and from a struct sockaddr gives the same words and octets. */

import { expect } from 'chai';
import { ClientAddress } from '../../../src/abuse/client-address.js';

/** A sockaddr_in / sockaddr_in6 as the kernel writes it (family in host order, address in network order). */
function sockaddr(octets: number[]): Buffer {
  if (octets.length === 4) {
    const b = Buffer.alloc(16);
    b.writeUInt16LE(2, 0);
    b.set(octets, 4);
    return b;
  }
  const b = Buffer.alloc(28);
  b.writeUInt16LE(10, 0);
  b.set(octets, 8);
  return b;
}

describe('ClientAddress', () => {
  const cases: { text: string; octets: string; family: 4 | 6 }[] = [
    { text: '192.0.2.1', octets: 'c0000201', family: 4 },
    { text: '0.0.0.0', octets: '00000000', family: 4 },
    { text: '255.255.255.255', octets: 'ffffffff', family: 4 },
    { text: '::1', octets: '00000000000000000000000000000001', family: 6 },
    { text: '::', octets: '00000000000000000000000000000000', family: 6 },
    { text: '2001:db8::', octets: '20010db8000000000000000000000000', family: 6 },
    { text: '2001:db8:220:1:59de:d0f4:8769:82b8', octets: '20010db80220000159ded0f4876982b8', family: 6 },
    { text: '2001:DB8:0:0:0:0:0:1', octets: '20010db8000000000000000000000001', family: 6 },
    { text: 'fe80::1%eth0', octets: 'fe800000000000000000000000000001', family: 6 },
    { text: '64:ff9b::192.0.2.33', octets: '0064ff9b0000000000000000c0000221', family: 6 },
    { text: '::ffff:192.0.2.1', octets: 'c0000201', family: 4 },
    { text: '::ffff:c000:201', octets: 'c0000201', family: 4 },
  ];
  for (const c of cases) {
    it(`${c.text}: IPv${c.family} ${c.octets}, alike from text and from a sockaddr`, () => {
      const a = new ClientAddress();
      expect(a.fromText(c.text)).to.equal(true);
      expect(a.family).to.equal(c.family);
      const out = Buffer.alloc(16);
      expect(out.subarray(0, a.writeOctets(out, 0)).toString('hex')).to.equal(c.octets);
      const raw = [...Buffer.from(c.text.includes(':') && c.family === 4 ? `00000000000000000000ffff${c.octets}` : c.octets, 'hex')];
      const b = new ClientAddress();
      expect(b.fromSockaddr(Buffer.concat([Buffer.alloc(3), sockaddr(raw)]), 3)).to.equal(true);
      expect([...b.words]).to.deep.equal([...a.words]);
      expect(b.family).to.equal(a.family);
    });
  }
  for (const bad of ['', 'localhost', '1.2.3', '1.2.3.4.5', '1.2.3.4.', '1..2.3', ' 1.2.3.4', '1.2.3.1000', '256.1.1.1', '01.2.3.4', '1::2::3', '12345::', ':::', '1:2:3:4:5:6:7:8:9', '1:2:3:4:5:6:7', 'g::1', '::1.2.3']) {
    it(`${JSON.stringify(bad)} is not an address`, () => {
      const a = new ClientAddress();
      expect(a.fromText(bad)).to.equal(false);
      expect(a.family).to.equal(0);
    });
  }
  it('a sockaddr of another family is not read', () => {
    const b = Buffer.alloc(16);
    b.writeUInt16LE(1, 0); // AF_UNIX
    expect(new ClientAddress().fromSockaddr(b, 0)).to.equal(false);
  });
});
