/** The real libc module: each call's result convention (SysResult, or a count / -errno on the datagram path), memory, and the readable watch. */

import { expect } from 'chai';
import dgram from 'node:dgram';
import { ERRNO, libc, MMSG_LAYOUT } from '../../../src/sys/libc.js';
import { freePort, until } from '../../helpers/server.js';

const AF_INET = 2;
const SOCK_DGRAM = 2;
const SOCK_NONBLOCK = 0o4000;
const MSG_DONTWAIT = 0x40;

/** A non-blocking UDP socket bound to 127.0.0.1:`port` (0: none bound). */
function udpSocket(port = 0): { fd: number } {
  const s = libc.socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
  if (s.kind !== 'ok') throw new Error(`socket: errno ${s.errno}`);
  if (port > 0) {
    const sa = Buffer.alloc(16);
    sa.writeUInt16LE(AF_INET, 0);
    sa.writeUInt16BE(port, 2);
    expect(libc.inetPton(AF_INET, '127.0.0.1', sa.subarray(4, 8))).to.equal(true);
    expect(libc.bind(s.value, sa)).to.deep.equal({ kind: 'ok', value: undefined });
  }
  return { fd: s.value };
}

describe('libc (the real one, through koffi)', () => {
  // A descriptor that is never open is -1: closing a real one twice could close another test's newer descriptor.
  it('SysResult calls: a descriptor and ok, or the errno', () => {
    const { fd } = udpSocket();
    expect(fd).to.be.at.least(0);
    expect(libc.close(fd)).to.deep.equal({ kind: 'ok', value: undefined });
    expect(libc.close(-1)).to.deep.equal({ kind: 'errno', errno: ERRNO.EBADF });
    expect(libc.socket(AF_INET, 99, 0).kind).to.equal('errno');
    expect(libc.strerror(ERRNO.EBADF)).to.equal('Bad file descriptor');
  });

  it('getsockopt writes the value and says how many octets', () => {
    const { fd } = udpSocket();
    try {
      const value = Buffer.alloc(4);
      expect(libc.getsockopt(fd, 1 /* SOL_SOCKET */, 3 /* SO_TYPE */, value)).to.deep.equal({ kind: 'ok', value: 4 });
      expect(value.readInt32LE(0)).to.equal(SOCK_DGRAM);
    } finally {
      libc.close(fd);
    }
  });

  it('addresses and interfaces: inet_pton refuses what is not an address; if_nametoindex is 0 for no interface', () => {
    expect(libc.inetPton(AF_INET, '10.0.0.256', Buffer.alloc(4))).to.equal(false);
    expect(libc.ifNameToIndex('lo')).to.be.above(0);
    expect(libc.ifNameToIndex('nosuchif0')).to.equal(0);
  });

  it('recvmmsg and sendmmsg return minus the errno: EBADF on no descriptor, EAGAIN on an empty socket', () => {
    const vec = libc.alloc(MMSG_LAYOUT.mmsghdr);
    const { fd } = udpSocket();
    try {
      expect(libc.recvmmsg(fd, vec, 1, MSG_DONTWAIT)).to.equal(-ERRNO.EAGAIN);
    } finally {
      libc.close(fd);
    }
    expect(libc.recvmmsg(-1, vec, 1, MSG_DONTWAIT)).to.equal(-ERRNO.EBADF);
    expect(libc.sendmmsg(-1, vec, 1, MSG_DONTWAIT)).to.equal(-ERRNO.EBADF);
    libc.free(vec);
  });

  it('alloc gives zero-filled memory that a view reads and writes', () => {
    const at = libc.alloc(256);
    const bytes = new Uint8Array(libc.view(at, 256));
    expect(bytes.every((b) => b === 0)).to.equal(true);
    bytes[255] = 7;
    expect(new Uint8Array(libc.view(at, 256))[255]).to.equal(7);
    libc.free(at);
  });

  it('watchReadable calls back when a datagram waits; recvmmsg reads it through the struct layout', async () => {
    const port = await freePort();
    const { fd } = udpSocket(port);
    const L = MMSG_LAYOUT;
    const size = L.mmsghdr + L.iovec + 64;
    const vec = libc.alloc(size);
    const v = new DataView(libc.view(vec, size));
    // One mmsghdr (no sender address asked for) with one iovec of 64 octets.
    v.setBigUint64(L.iov, vec + BigInt(L.mmsghdr), true);
    v.setBigUint64(L.iovlen, 1n, true);
    v.setBigUint64(L.mmsghdr, vec + BigInt(L.mmsghdr + L.iovec), true);
    v.setBigUint64(L.mmsghdr + 8, 64n, true);
    const got: string[] = [];
    const watch = libc.watchReadable(fd, () => {
      // Drain, so the level-triggered watch quietens.
      while (libc.recvmmsg(fd, vec, 1, MSG_DONTWAIT) === 1) {
        got.push(Buffer.from(libc.view(vec, size)).subarray(L.mmsghdr + L.iovec, L.mmsghdr + L.iovec + v.getUint32(L.len, true)).toString());
      }
    });
    const peer = dgram.createSocket('udp4');
    try {
      peer.send('hello', port, '127.0.0.1');
      expect(await until(() => got.length === 1, 2000, 5)).to.equal(true);
      expect(got).to.deep.equal(['hello']);
      watch.stop();
      peer.send('unread', port, '127.0.0.1');
      await new Promise((r) => setTimeout(r, 50));
      expect(got, 'no call back after stop').to.deep.equal(['hello']);
      expect(libc.recvmmsg(fd, vec, 1, MSG_DONTWAIT)).to.equal(1);
    } finally {
      watch.close();
      peer.close();
      libc.close(fd);
      libc.free(vec);
    }
  });
});
