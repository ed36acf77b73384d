import { expect } from 'chai';
import { sockaddrIpv4, sockaddrText } from '../../../src/net/sockaddr.js';

/** A struct sockaddr_in / sockaddr_in6 as the kernel writes it (family in host order, port and address in network order). */
function sockaddr(address: string, port: number): Buffer {
  if (address.includes('.')) {
    const b = Buffer.alloc(16);
    b.writeUInt16LE(2, 0);
    b.writeUInt16BE(port, 2);
    address.split('.').forEach((o, i) => (b[4 + i] = Number(o)));
    return b;
  }
  const b = Buffer.alloc(28);
  b.writeUInt16LE(10, 0);
  b.writeUInt16BE(port, 2);
  const [head = '', tail = ''] = address.split('::');
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const words = [...h, ...new Array<string>(8 - h.length - t.length).fill('0'), ...t];
  words.forEach((w, i) => b.writeUInt16BE(parseInt(w, 16), 8 + i * 2));
  return b;
}

describe('sockaddr', () => {
  it('reads IPv4 as a number and as text, at an offset', () => {
    const b = Buffer.concat([Buffer.alloc(5, 0xff), sockaddr('192.0.2.250', 53)]);
    expect(sockaddrIpv4(b, 5)).to.equal(0xc00002fa);
    expect(sockaddrText(b, 5)).to.equal('192.0.2.250');
  });
  it('reads IPv6 as text; it is not IPv4', () => {
    const b = sockaddr('2001:db8::1', 5353);
    expect(sockaddrIpv4(b, 0)).to.equal(-1);
    expect(sockaddrText(b, 0)).to.equal('2001:db8:0:0:0:0:0:1');
    expect(sockaddrText(sockaddr('::1', 1), 0)).to.equal('0:0:0:0:0:0:0:1');
  });
});
