import { expect } from 'chai';
import dgram from 'node:dgram';
import net from 'node:net';
import {
  SOL_SOCKET,
  SO_REUSEADDR,
  SO_REUSEPORT,
  closeFd,
  getIntOption,
  IPPROTO_IP,
  IPPROTO_IPV6,
  IPV6_MTU_DISCOVER,
  IP_MTU_DISCOVER,
  PMTUDISC_OMIT,
  openReusePortSocket,
  type OpenSocket,
} from '../../../src/net/reuseport.js';
import { serveUdp } from '../../../src/net/udp.js';
import { freePort } from '../../helpers/server.js';
import { udpExchange } from '../../helpers/dns-client.js';
import { NOBODY, bindAsOtherUser, otherUserUnavailable } from '../../helpers/other-user.js';

function open(address: string, port: number, transport: 'udp' | 'tcp'): OpenSocket {
  const r = openReusePortSocket({ address, port, transport });
  if (!r.ok) throw r.error;
  return r.socket;
}

describe('openReusePortSocket', () => {
  const toClose: number[] = [];
  afterEach(() => {
    for (const fd of toClose.splice(0)) closeFd(fd);
  });

  it('two reuseport UDP sockets in one process bind the same port, SO_REUSEPORT on, SO_REUSEADDR off', async () => {
    const port = await freePort();
    const a = open('127.0.0.1', port, 'udp');
    const b = open('127.0.0.1', port, 'udp');
    toClose.push(a.fd, b.fd);
    expect(getIntOption(a.fd, SOL_SOCKET, SO_REUSEPORT)).to.equal(1);
    expect(getIntOption(b.fd, SOL_SOCKET, SO_REUSEADDR)).to.equal(0);
    // Path-MTU data is ignored and DF never set (replies are not fragmented on a forged ICMP's word).
    expect(getIntOption(a.fd, IPPROTO_IP, IP_MTU_DISCOVER)).to.equal(PMTUDISC_OMIT);
  });

  it('two reuseport TCP listeners bind the same port', async () => {
    const port = await freePort();
    const a = open('127.0.0.1', port, 'tcp');
    const b = open('127.0.0.1', port, 'tcp');
    toClose.push(a.fd, b.fd);
    expect(a.fd).to.not.equal(b.fd);
  });

  it('IPv6: ::1 binds, and with IPV6_V6ONLY 0.0.0.0 and :: share a port', async () => {
    const port = await freePort();
    const v6 = open('::1', port, 'udp');
    const any4 = open('0.0.0.0', port, 'udp');
    const any6 = open('::', port, 'udp');
    toClose.push(v6.fd, any4.fd, any6.fd);
    expect(v6.family).to.equal(6);
    expect(any4.family).to.equal(4);
    expect(getIntOption(v6.fd, IPPROTO_IPV6, IPV6_MTU_DISCOVER)).to.equal(PMTUDISC_OMIT);
  });

  const held: { name: string; transport: 'udp' | 'tcp'; hold: (port: number) => Promise<() => void> }[] = [
    {
      name: 'UDP held by a plain socket',
      transport: 'udp',
      hold: (port) =>
        new Promise((resolve) => {
          const s = dgram.createSocket('udp4');
          s.bind(port, '127.0.0.1', () => resolve(() => s.close()));
        }),
    },
    {
      name: 'TCP held by a plain listener',
      transport: 'tcp',
      hold: (port) =>
        new Promise((resolve) => {
          const s = net.createServer();
          s.listen(port, '127.0.0.1', () => resolve(() => s.close()));
        }),
    },
  ];
  for (const h of held) {
    it(`EADDRINUSE when the port is ${h.name}, with a hint`, async () => {
      const port = await freePort();
      const release = await h.hold(port);
      try {
        const r = openReusePortSocket({ address: '127.0.0.1', port, transport: h.transport });
        expect(r.ok).to.equal(false);
        if (r.ok) return;
        expect(r.error.code).to.equal('E_BIND_IN_USE');
        expect(r.error.message).to.equal(`cannot bind 127.0.0.1:${port}/${h.transport}: address already in use (errno 98)`);
        expect(r.error.hint).to.include('without SO_REUSEPORT, or runs as another user');
      } finally {
        release();
      }
    });
  }

  it('EADDRNOTAVAIL for an address this host does not have', async () => {
    const r = openReusePortSocket({ address: '192.0.2.1', port: await freePort(), transport: 'udp' });
    expect(!r.ok && r.error.code).to.equal('E_BIND_NO_ADDR');
    expect(!r.ok && r.error.hint).to.include('check --listen against "ip addr"');
  });

  it('an unknown IPv6 zone is refused before any system call', () => {
    const r = openReusePortSocket({ address: 'fe80::1%nosuchif0', port: 5353, transport: 'udp' });
    expect(!r.ok && r.error.message).to.include('no network interface "nosuchif0"');
  });

  it('EACCES below 1024 as another user, with the CAP_NET_BIND_SERVICE hint', function () {
    const why = otherUserUnavailable();
    if (why) {
      console.log(`      skip: ${why}`);
      this.skip();
    }
    expect(bindAsOtherUser('reuseport', '127.0.0.1', 53)).to.equal('E_BIND_ACCESS');
  });
});

describe('hijack guard: SO_REUSEADDR after Node adopts the socket', () => {
  it('libuv turns SO_REUSEADDR on when dgram adopts a descriptor (why the guard exists)', async () => {
    const sock = open('127.0.0.1', await freePort(), 'udp');
    const s = dgram.createSocket('udp4');
    await new Promise<void>((resolve) => s.bind({ fd: sock.fd }, resolve));
    try {
      expect(getIntOption(sock.fd, SOL_SOCKET, SO_REUSEADDR)).to.equal(1);
    } finally {
      s.close();
    }
  });

  it('serveUdp clears it again, and still answers', async () => {
    const port = await freePort();
    const sock = open('127.0.0.1', port, 'udp');
    const endpoint = await serveUdp(sock, (m) => Buffer.from(m).reverse(), () => undefined);
    try {
      expect(getIntOption(sock.fd, SOL_SOCKET, SO_REUSEADDR)).to.equal(0);
      const reply = await udpExchange(Buffer.from('abc'), port);
      expect(reply?.toString()).to.equal('cba');
    } finally {
      await endpoint.close(100);
    }
  });

  describe(`as another user (uid ${NOBODY})`, () => {
    before(function () {
      const why = otherUserUnavailable();
      if (why) {
        console.log(`      skip: ${why}`);
        this.skip();
      }
    });

    it('control: without the guard, SO_REUSEADDR alone lets another user bind our port', async () => {
      const port = await freePort();
      const sock = open('127.0.0.1', port, 'udp');
      const s = dgram.createSocket('udp4');
      await new Promise<void>((resolve) => s.bind({ fd: sock.fd }, resolve));
      try {
        expect(bindAsOtherUser('reuseaddr', '127.0.0.1', port)).to.equal('bound');
      } finally {
        s.close();
      }
    });

    for (const how of ['reuseaddr', 'reuseport', 'plain'] as const) {
      it(`with the guard, a ${how} bind by another user fails`, async () => {
        const port = await freePort();
        const sock = open('127.0.0.1', port, 'udp');
        const endpoint = await serveUdp(sock, () => null, () => undefined);
        try {
          expect(bindAsOtherUser(how, '127.0.0.1', port)).to.equal(how === 'reuseport' ? 'E_BIND_IN_USE' : 'EADDRINUSE');
        } finally {
          await endpoint.close(100);
        }
      });
    }
  });
});
