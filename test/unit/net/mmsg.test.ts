import { expect } from 'chai';
import { serveUdpMmsg } from '../../../src/net/mmsg.js';
import { openReusePortSocket } from '../../../src/net/reuseport.js';
import { sockaddrText } from '../../../src/net/sockaddr.js';
import type { InPlaceHandler } from '../../../src/net/udp.js';
import { freePort } from '../../helpers/server.js';
import { udpExchange } from '../../helpers/dns-client.js';

describe('serveUdpMmsg: the in-place (reply cache) path', () => {
  it('writes in-place replies to the sender, hands -1 to the full handler, and survives an in-place handler that throws', async () => {
    const port = await freePort();
    const opened = openReusePortSocket({ address: '127.0.0.1', port, transport: 'udp' });
    if (!opened.ok) throw opened.error;
    const errors: string[] = [];
    const peers: string[] = [];
    // First octet of the datagram says what the in-place handler does: 1 answer, 2 decline, 3 throw.
    const inPlace: InPlaceHandler = (q, qOff, qLen, peer, peerOff, out, outOff, cap) => {
      peers.push(sockaddrText(peer, peerOff));
      if (q[qOff] === 3) throw new Error('bug in the hit path');
      if (q[qOff] !== 1 || cap < qLen + 1) return -1;
      out[outOff] = 0x49; // "I": answered in place, then the query echoed
      for (let i = 0; i < qLen; i++) out[outOff + 1 + i] = q[qOff + i]!;
      return qLen + 1;
    };
    const engine = await serveUdpMmsg(opened.socket, (msg) => Buffer.concat([Buffer.from('F'), msg]), (err) => errors.push(err.message), undefined, inPlace);
    try {
      const ask = async (first: number): Promise<string> => {
        const reply = await udpExchange(Buffer.from([first, 0x61, 0x62]), port);
        return reply === null ? 'none' : `${String.fromCharCode(reply[0]!)}${reply.subarray(1).toString('hex')}`;
      };
      expect(await ask(1)).to.equal('I016162');
      expect(await ask(2)).to.equal('F026162');
      expect(await ask(3)).to.equal('F036162');
      expect(errors).to.deep.equal(['bug in the hit path']);
      expect(await ask(1)).to.equal('I016162'); // and it answers on
      expect(peers.every((p) => p === '127.0.0.1')).to.equal(true);
      expect(engine.stats.sent).to.equal(4);
    } finally {
      await engine.close(100);
    }
  });
});
