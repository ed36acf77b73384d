import { expect } from 'chai';
import { Counters } from '../../../src/dns/counters.js';
import { RCODE, headerOnlyReply } from '../../../src/dns/header.js';
import { buildQuery } from '../../helpers/dns-client.js';

describe('Counters', () => {
  it('counts queries by transport, rcodes, truncation, drops, internal errors and questions over forward-max', () => {
    const c = new Counters();
    const q = buildQuery('a.example', 'A');
    const refused = headerOnlyReply(q, RCODE.REFUSED);
    const truncated = Buffer.from(headerOnlyReply(q, RCODE.NOERROR));
    truncated[2] = truncated[2]! | 0x02;
    c.record('udp', refused);
    c.record('udp', truncated);
    c.record('tcp', headerOnlyReply(q, RCODE.NXDOMAIN));
    c.record('udp', null);
    c.internalError();
    c.forwardOverMax();
    expect(c.snapshot()).to.deep.equal({
      queries: 4,
      udp: 3,
      tcp: 1,
      dropped: 1,
      truncated: 1,
      internalErrors: 1,
      forwardOverMax: 1,
      rcodes: { REFUSED: 1, NOERROR: 1, NXDOMAIN: 1 },
      byTransport: {
        udp: { rcodes: { REFUSED: 1, NOERROR: 1 }, opcodes: { QUERY: 2 } },
        tcp: { rcodes: { NXDOMAIN: 1 }, opcodes: { QUERY: 1 } },
      },
      transfers: {},
      rrl: { limited: 0, slipped: 0 },
      cookies: { clientOnly: 0, valid: 0, bad: 0, malformed: 0 },
    });
  });
  it('counts zone transfers asked over TCP by the rcode of their reply (UDP is not looked at)', () => {
    const c = new Counters();
    // A reply with the question kept: the query's octets, QR set, the rcode.
    const reply = (q: Buffer, rcode: number): Buffer => {
      const r = Buffer.from(q);
      r[2] = r[2]! | 0x80;
      r[3] = (r[3]! & 0xf0) | rcode;
      return r;
    };
    const axfr = buildQuery('example.com', 'AXFR');
    const ixfr = buildQuery('example.com', 'IXFR');
    c.record('tcp', reply(axfr, RCODE.NOERROR)); // given: its first message
    c.record('tcp', reply(axfr, RCODE.REFUSED));
    c.record('tcp', reply(axfr, 9)); // NOTAUTH: not our zone, or TSIG failed
    c.record('tcp', reply(ixfr, RCODE.NOERROR));
    c.record('tcp', reply(buildQuery('example.com', 'SOA'), RCODE.NOERROR));
    c.record('udp', reply(ixfr, RCODE.NOERROR));
    c.record('tcp', headerOnlyReply(axfr, RCODE.FORMERR)); // no question in the reply
    expect(c.snapshot().transfers).to.deep.equal({ AXFR: { NOERROR: 1, REFUSED: 1, NOTAUTH: 1 }, IXFR: { NOERROR: 1 } });
  });
  it('counts replies by the opcode they echo, per transport (dropped messages have none)', () => {
    const c = new Counters();
    const q = buildQuery('a.example', 'A');
    const withOpcode = (opcode: number, rcode: number): Uint8Array => {
      const r = Buffer.from(headerOnlyReply(q, rcode));
      r[2] = (r[2]! & 0x87) | (opcode << 3);
      return r;
    };
    c.record('udp', withOpcode(4, RCODE.NOTIMP)); // NOTIFY
    c.record('udp', withOpcode(5, RCODE.NOTIMP)); // UPDATE
    c.record('tcp', withOpcode(5, RCODE.NOTIMP));
    c.record('tcp', withOpcode(9, RCODE.NOTIMP)); // unassigned
    c.record('tcp', null);
    const area = Buffer.alloc(64);
    Buffer.from(withOpcode(2, RCODE.NOTIMP)).copy(area, 10); // STATUS, in the engine's send area
    c.recordUdpAt(area, 10);
    expect(c.snapshot().byTransport).to.deep.equal({
      udp: { rcodes: { NOTIMP: 3 }, opcodes: { NOTIFY: 1, UPDATE: 1, STATUS: 1 } },
      tcp: { rcodes: { NOTIMP: 2 }, opcodes: { UPDATE: 1, OPCODE9: 1 } },
    });
  });
  it('recordUdpAt counts a reply written inside a larger buffer the same as record()', () => {
    const q = buildQuery('a.example', 'A');
    const truncated = Buffer.from(headerOnlyReply(q, RCODE.NXDOMAIN));
    truncated[2] = truncated[2]! | 0x02;
    const area = Buffer.alloc(200);
    truncated.copy(area, 100);
    const a = new Counters();
    const b = new Counters();
    a.recordUdpAt(area, 100);
    b.record('udp', truncated);
    expect(a.snapshot()).to.deep.equal(b.snapshot());
    expect(a.snapshot().rcodes).to.deep.equal({ NXDOMAIN: 1 });
  });
});

describe('Counters over shared memory (the UDP thread counts, the worker reads)', () => {
  it('two Counters over one SharedArrayBuffer see the same counts, and snapshot(...others) gives the sums', () => {
    const shared = Counters.sharedBuffer();
    const writer = new Counters(shared);
    const reader = new Counters(shared);
    const own = new Counters();
    const q = buildQuery('a.example', 'A');
    const reply = Buffer.from(headerOnlyReply(q, RCODE.NOERROR));
    writer.recordUdpAt(reply, 0);
    writer.recordUdpAt(reply, 0);
    writer.limited(true);
    writer.cookie('valid');
    own.record('tcp', headerOnlyReply(q, RCODE.NXDOMAIN));
    own.record('udp', null);
    expect(reader.snapshot().queries).to.equal(2);
    const sum = own.snapshot(reader);
    expect({ queries: sum.queries, udp: sum.udp, tcp: sum.tcp, dropped: sum.dropped, rcodes: sum.rcodes, rrl: sum.rrl, cookies: sum.cookies, byTransport: sum.byTransport }).to.deep.equal({
      queries: 4,
      udp: 3,
      tcp: 1,
      dropped: 1,
      rcodes: { NOERROR: 2, NXDOMAIN: 1 },
      rrl: { limited: 1, slipped: 1 },
      cookies: { clientOnly: 0, valid: 1, bad: 0, malformed: 0 },
      byTransport: { udp: { rcodes: { NOERROR: 2 }, opcodes: { QUERY: 2 } }, tcp: { rcodes: { NXDOMAIN: 1 }, opcodes: { QUERY: 1 } } },
    });
    // Each keeps its own counts.
    expect(own.snapshot().queries).to.equal(2);
  });
});
