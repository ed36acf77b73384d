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
