import { expect } from 'chai';
import dnsPacket from 'dns-packet';
import { RCODE, headerOnlyReply } from '../../../src/dns/header.js';
import type { Exchange } from '../../../src/ops/dnstap.js';
import { queryLogLine, readQuestion, Sampler, type QueryLogRecord } from '../../../src/ops/query-log.js';
import { buildQuery } from '../../helpers/dns-client.js';

/** A line of the query log, parsed (every line must be JSON). */
function queryLogRecord(e: Exchange, worker: number, waited: boolean): QueryLogRecord {
  const line = queryLogLine(e, worker, waited);
  expect(line.endsWith('}\n') && !line.slice(0, -1).includes('\n'), line).to.equal(true);
  return JSON.parse(line) as QueryLogRecord;
}

describe('query log', () => {
  const questions: { name: string; msg: Buffer; want: ReturnType<typeof readQuestion> }[] = [
    { name: 'a plain query', msg: buildQuery('www.Example.com', 'AAAA'), want: { name: 'www.Example.com.', type: 'AAAA', class: 'IN' } },
    { name: 'the root, CH class', msg: buildQuery('.', 'NS', 'CH'), want: { name: '.', type: 'NS', class: 'CH' } },
    { name: 'a label with a space in it', msg: Buffer.from('0000010000010000000000000361206203636f6d0000100001', 'hex'), want: { name: 'a\\032b.com.', type: 'TXT', class: 'IN' } },
    { name: 'an unknown type', msg: Buffer.from('000001000001000000000000016100fde90001', 'hex'), want: { name: 'a.', type: 'TYPE65001', class: 'IN' } },
    { name: 'no question', msg: Buffer.from('000001000000000000000000', 'hex'), want: { name: null, type: null, class: null } },
    { name: 'a compressed question name', msg: Buffer.from('000001000001000000000000c00c00010001', 'hex'), want: { name: null, type: null, class: null } },
    { name: 'a name running past the end', msg: Buffer.from('0000010000010000000000000561', 'hex'), want: { name: null, type: null, class: null } },
    { name: 'a header cut short', msg: Buffer.from('0000', 'hex'), want: { name: null, type: null, class: null } },
  ];
  for (const c of questions) {
    it(`reads the question of ${c.name}`, () => {
      expect(readQuestion(c.msg)).to.deep.equal(c.want);
    });
  }

  const query = buildQuery('www.example.com', 'A', 'IN', { id: 513 });
  const reply = dnsPacket.encode({
    type: 'response',
    id: 513,
    flags: dnsPacket.AUTHORITATIVE_ANSWER | dnsPacket.RECURSION_DESIRED,
    questions: [{ name: 'www.example.com', type: 'A', class: 'IN' }],
    answers: [
      { name: 'www.example.com', type: 'A', ttl: 60, data: '192.0.2.1' },
      { name: 'www.example.com', type: 'A', ttl: 60, data: '192.0.2.2' },
    ],
  });
  const exchange = (e: Partial<Exchange>): Exchange => ({
    query,
    reply,
    clientPort: 40007,
    transport: 'udp',
    client: '192.0.2.9',
    server: { address: '127.0.0.1', port: 53 },
    queryTime: Date.UTC(2026, 0, 2, 3, 4, 5, 678),
    replyTime: Date.UTC(2026, 0, 2, 3, 4, 5, 678),
    ...e,
  });

  it('writes what a reply said, in the fields the README lists', () => {
    expect(queryLogRecord(exchange({}), 3, false)).to.deep.equal({
      time: '2026-01-02T03:04:05.678Z',
      worker: 3,
      client: '192.0.2.9',
      port: 40007,
      transport: 'udp',
      id: 513,
      name: 'www.example.com.',
      type: 'A',
      class: 'IN',
      rcode: 'NOERROR',
      flags: 'qr aa rd',
      answers: 2,
      size: reply.length,
    });
  });

  it('writes any question name as valid JSON, escapes and all', () => {
    const odd = Buffer.from('000001000001000000000000' + '04' + Buffer.from('a"b\\').toString('hex') + '0100' + '00' + '00010001', 'hex');
    expect(queryLogRecord(exchange({ query: odd, reply: null }), 0, false).name).to.equal('a\\"b\\\\.\\000.');
  });

  it('writes times to the millisecond across second boundaries', () => {
    const at = Date.UTC(2026, 0, 2, 3, 4, 5, 999);
    expect(queryLogRecord(exchange({ queryTime: at }), 0, false).time).to.equal('2026-01-02T03:04:05.999Z');
    expect(queryLogRecord(exchange({ queryTime: at + 2.5 }), 0, false).time).to.equal('2026-01-02T03:04:06.001Z');
    expect(queryLogRecord(exchange({ queryTime: at - 999 }), 0, false).time).to.equal('2026-01-02T03:04:05.000Z');
  });

  it('tells the delay of a reply that waited on an upstream, and writes IPv6 clients abbreviated', () => {
    const r = queryLogRecord(exchange({ client: '2001:db8:0:0:0:0:0:5', transport: 'tcp', replyTime: Date.UTC(2026, 0, 2, 3, 4, 5, 678) + 12.34 }), 0, true);
    expect(r).to.deep.include({ client: '2001:db8::5', transport: 'tcp', ms: 12.3 });
  });

  it('writes a dropped message as rcode "dropped", size 0', () => {
    expect(queryLogRecord(exchange({ reply: null }), 0, false)).to.deep.include({ rcode: 'dropped', flags: '', answers: 0, size: 0 });
  });

  it('names rcodes, and numbers one without a name', () => {
    const refused = headerOnlyReply(query, RCODE.REFUSED);
    expect(queryLogRecord(exchange({ reply: refused }), 0, false).rcode).to.equal('REFUSED');
    const odd = Buffer.from(refused);
    odd[3] = (odd[3]! & 0xf0) | 12;
    expect(queryLogRecord(exchange({ reply: odd }), 0, false).rcode).to.equal('RCODE12');
  });

  const samples: [number, number, number][] = [
    [1, 10, 10],
    [3, 10, 4], // messages 1, 4, 7, 10
    [10, 100, 10],
    [1000, 999, 1],
  ];
  for (const [n, messages, taken] of samples) {
    it(`takes ${taken} of ${messages} messages sampling one in ${n}, the first included`, () => {
      const s = new Sampler(n);
      const picks = Array.from({ length: messages }, () => s.take());
      expect(picks.filter(Boolean)).to.have.length(taken);
      expect(picks[0]).to.equal(true);
    });
  }
});
