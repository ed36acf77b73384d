import { expect } from 'chai';
import { RCODE, headerOnlyReply } from '../../../src/dns/header.js';
import { addressOctets, decodeDnstap, DnstapEncoder, MESSAGE_TYPE, type Exchange } from '../../../src/ops/dnstap.js';
import { buildQuery } from '../../helpers/dns-client.js';

describe('dnstap messages', () => {
  const encoder = new DnstapEncoder({ identity: 'ns1.example', version: 'shardns 0.1.0' });
  const query = buildQuery('www.example.com', 'A', 'IN', { id: 4660 });
  const withFlags = (aa: boolean, ra: boolean): Buffer => {
    const r = Buffer.from(headerOnlyReply(query, RCODE.NOERROR));
    r[2] = (r[2]! & ~0x04) | (aa ? 0x04 : 0);
    r[3] = (r[3]! & ~0x80) | (ra ? 0x80 : 0);
    return r;
  };
  const exchange = (e: Partial<Exchange>): Exchange => ({
    query,
    reply: withFlags(true, false),
    transport: 'udp',
    client: '192.0.2.7',
    clientPort: 40007,
    server: { address: '127.0.0.1', port: 5353 },
    queryTime: 1_700_000_000_123.5,
    replyTime: 1_700_000_000_125.25,
    ...e,
  });

  it('writes a query and a response message with the fields dnstap.proto recommends', () => {
    const [q, r] = encoder.encode(exchange({})).map(decodeDnstap);
    expect(q).to.deep.include({ identity: 'ns1.example', version: 'shardns 0.1.0', type: MESSAGE_TYPE.AUTH_QUERY, socketFamily: 1, socketProtocol: 1, responsePort: 5353, responseTime: null, responseMessage: null });
    expect([...q!.queryAddress!]).to.deep.equal([192, 0, 2, 7]);
    expect([...q!.responseAddress!]).to.deep.equal([127, 0, 0, 1]);
    expect(Buffer.from(q!.queryMessage!).equals(query)).to.equal(true);
    expect(q!.queryTime).to.be.closeTo(1_700_000_000_123.5, 1e-3);
    expect(r).to.deep.include({ type: MESSAGE_TYPE.AUTH_RESPONSE, queryMessage: null });
    expect(r!.responseTime).to.be.closeTo(1_700_000_000_125.25, 1e-3);
    expect(Buffer.from(r!.responseMessage!).equals(withFlags(true, false))).to.equal(true);
  });

  const types: { name: string; e: Partial<Exchange>; want: number[] }[] = [
    { name: 'an authoritative answer (AA)', e: { reply: withFlags(true, true) }, want: [MESSAGE_TYPE.AUTH_QUERY, MESSAGE_TYPE.AUTH_RESPONSE] },
    { name: 'a forwarded answer (RA, no AA)', e: { reply: withFlags(false, true) }, want: [MESSAGE_TYPE.CLIENT_QUERY, MESSAGE_TYPE.CLIENT_RESPONSE] },
    { name: 'a referral to a client without recursion (no AA, no RA)', e: { reply: withFlags(false, false) }, want: [MESSAGE_TYPE.AUTH_QUERY, MESSAGE_TYPE.AUTH_RESPONSE] },
    { name: 'a dropped message (no reply): the query alone', e: { reply: null }, want: [MESSAGE_TYPE.AUTH_QUERY] },
  ];
  for (const c of types) {
    it(`types ${c.name}`, () => {
      expect(encoder.encode(exchange(c.e)).map((p) => decodeDnstap(p).type)).to.deep.equal(c.want);
    });
  }

  it('writes IPv6 clients as INET6 with 16 octets, over TCP', () => {
    const [q] = encoder.encode(exchange({ client: '2001:db8:0:0:0:0:0:1', server: { address: '::1', port: 53 }, transport: 'tcp' })).map(decodeDnstap);
    expect(q).to.deep.include({ socketFamily: 2, socketProtocol: 2 });
    expect(Buffer.from(q!.queryAddress!).toString('hex')).to.equal('20010db8000000000000000000000001');
    expect(Buffer.from(q!.responseAddress!).toString('hex')).to.equal('00000000000000000000000000000001');
  });

  it('leaves out an exchange whose client address cannot be read', () => {
    expect(encoder.encode(exchange({ client: 'not an address' }))).to.deep.equal([]);
  });

  const addresses: [string, string | null][] = [
    ['192.0.2.1', 'c0000201'],
    ['0.0.0.0', '00000000'],
    ['256.0.0.1', null],
    ['::1', '00000000000000000000000000000001'],
    ['fe80::1%eth0', 'fe800000000000000000000000000001'],
    ['::ffff:192.0.2.1', '00000000000000000000ffffc0000201'],
    ['example.com', null],
  ];
  for (const [text, hex] of addresses) {
    it(`reads the address ${text}`, () => {
      const b = addressOctets(text);
      expect(b === null ? null : Buffer.from(b).toString('hex')).to.equal(hex);
    });
  }
});
