import { expect } from 'chai';
import { Counters } from '../../../src/dns/counters.js';
import { RCODE, headerOnlyReply } from '../../../src/dns/header.js';
import { buildQuery } from '../../helpers/dns-client.js';

describe('Counters', () => {
  it('counts queries by transport, rcodes, truncation, drops and internal errors', () => {
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
    expect(c.snapshot()).to.deep.equal({
      queries: 4,
      udp: 3,
      tcp: 1,
      dropped: 1,
      truncated: 1,
      internalErrors: 1,
      rcodes: { REFUSED: 1, NOERROR: 1, NXDOMAIN: 1 },
    });
  });
});
