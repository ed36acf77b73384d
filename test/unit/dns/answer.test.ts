import { expect } from 'chai';
import dnsPacket from 'dns-packet';
import { answer, servfail, type AnswerContext } from '../../../src/dns/answer.js';
import { compileAcl, type Acl } from '../../../src/forward/acl.js';
import { ZoneImage } from '../../../src/zone/image/image.js';
import { packetDecodeRecord } from '../../../src/zone/rdata/packet.js';
import { loadZones } from '../../../src/zones.js';
import { ROOT } from '../../helpers/server.js';
import { authoritativeOnly } from '../../helpers/answer.js';
import { ZoneSet } from '../../../src/auth/zone-set.js';
import { buildQuery, decodeReply } from '../../helpers/dns-client.js';

const ctx: AnswerContext = {
  identity: { server: 'worker-7 pid 1 host test', version: 'shardns 9.9.9' },
  zones: new ZoneSet([]),
  ednsUdpSize: 1232,
  nsid: Buffer.from('worker-7'),
  recursion: null,
};
const run = authoritativeOnly(ctx);

/** A query with arbitrary header fields over a valid question. */
function raw(opts: { id?: number; flags?: number; qd?: number; ar?: number; body?: Buffer }): Buffer {
  const q = buildQuery('Example.COM', 'A', 'IN', { id: 1 });
  const h = Buffer.alloc(12);
  h.writeUInt16BE(opts.id ?? 0x1234, 0);
  h.writeUInt16BE(opts.flags ?? 0x0100, 2);
  h.writeUInt16BE(opts.qd ?? 1, 4);
  h.writeUInt16BE(opts.ar ?? 0, 10);
  return Buffer.concat([h, opts.body ?? q.subarray(12)]);
}

const rcodeOf = (b: Buffer): number => b[3]! & 0xf;
/** A question (type A, class IN) whose name takes `octets` octets in all, its final zero included: labels of 63 and one shorter. */
function nameOf(octets: number): Buffer {
  const labels: Buffer[] = [];
  for (let left = octets - 1; left > 0; ) {
    const n = Math.min(63, left - 1);
    labels.push(Buffer.concat([Buffer.from([n]), Buffer.alloc(n, 0x61)]));
    left -= n + 1;
  }
  return Buffer.concat([...labels, Buffer.from([0, 0, 1, 0, 1])]);
}
/** A forwarded chain's wire record as [owner, type, data] (dns-packet reads it). */
const recordText = (r: Buffer): [string, string, unknown] => {
  const a = packetDecodeRecord(r) as unknown as { name: string; type: string; data: unknown };
  return [a.name, a.type, a.data];
};

describe('answer(): message checks in NSD order', () => {
  const cases: { name: string; query: Buffer; expect: null | { rcode: number; qd: number } }[] = [
    { name: 'empty datagram is dropped', query: Buffer.alloc(0), expect: null },
    { name: '11 bytes (shorter than a header) is dropped', query: Buffer.alloc(11), expect: null },
    { name: 'QR=1 (a response) is dropped', query: raw({ flags: 0x8100 }), expect: null },
    { name: 'opcode NOTIFY for a zone we do not have → NOTAUTH with the question echoed (src/xfr/serve.ts, as NSD)', query: raw({ flags: 4 << 11 }), expect: { rcode: 9, qd: 1 } },
    { name: 'opcode UPDATE → NOTIMP', query: raw({ flags: 5 << 11 }), expect: { rcode: 4, qd: 1 } },
    { name: 'opcode IQUERY with no question → NOTIMP, header only', query: raw({ flags: 1 << 11, qd: 0, body: Buffer.alloc(0) }), expect: { rcode: 4, qd: 0 } },
    { name: 'QDCOUNT 0 → FORMERR', query: raw({ qd: 0, body: Buffer.alloc(0) }), expect: { rcode: 1, qd: 0 } },
    { name: 'QDCOUNT 2 → FORMERR', query: raw({ qd: 2 }), expect: { rcode: 1, qd: 0 } },
    { name: 'question cut short → FORMERR', query: raw({ body: Buffer.from([7, 0x65, 0x78]) }), expect: { rcode: 1, qd: 0 } },
    { name: 'label longer than 63 → FORMERR', query: raw({ body: Buffer.concat([Buffer.from([64]), Buffer.alloc(64, 0x61), Buffer.from([0, 0, 1, 0, 1])]) }), expect: { rcode: 1, qd: 0 } },
    { name: 'ARCOUNT 1 with nothing there → FORMERR, question echoed', query: raw({ ar: 1 }), expect: { rcode: 1, qd: 1 } },
    // RFC 1035 §2.3.4: 255 octets at most, the final zero octet included. NSD 4.6: FORMERR, header only, for 256.
    { name: 'a name of 256 octets → FORMERR, header only (as NSD)', query: raw({ body: nameOf(256) }), expect: { rcode: 1, qd: 0 } },
    { name: 'a name of 256 octets, not a plain query (ARCOUNT 1, nothing there) → FORMERR, header only (the reply could not be read)', query: raw({ ar: 1, body: nameOf(256) }), expect: { rcode: 1, qd: 0 } },
    { name: 'a name of 256 octets, opcode UPDATE → NOTIMP, header only', query: raw({ flags: 5 << 11, body: nameOf(256) }), expect: { rcode: 4, qd: 0 } },
    { name: 'a name of 255 octets is a name: REFUSED (not ours), the question echoed', query: raw({ body: nameOf(255) }), expect: { rcode: 5, qd: 1 } },
    { name: 'IN query outside every zone → REFUSED', query: raw({}), expect: { rcode: 5, qd: 1 } },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const reply = run(c.query);
      if (c.expect === null) {
        expect(reply).to.equal(null);
        return;
      }
      expect(reply).to.not.equal(null);
      expect(reply!.readUInt16BE(0), 'ID kept').to.equal(c.query.readUInt16BE(0));
      expect(reply![2]! & 0x80, 'QR set').to.equal(0x80);
      expect((reply![2]! >> 3) & 0xf, 'opcode kept').to.equal((c.query[2]! >> 3) & 0xf);
      expect(rcodeOf(reply!)).to.equal(c.expect.rcode);
      expect(reply!.readUInt16BE(4), 'QDCOUNT').to.equal(c.expect.qd);
      if (c.expect.qd === 1) expect(reply!.subarray(12)).to.deep.equal(c.query.subarray(12, 12 + reply!.length - 12));
    });
  }

  it('two OPT records → FORMERR (RFC 6891 §6.1.1)', () => {
    const q = dnsPacket.encode({
      type: 'query',
      id: 9,
      questions: [{ name: 'a.example', type: 'A', class: 'IN' }],
      additionals: [
        { type: 'OPT', name: '.', udpPayloadSize: 1232, flags: 0, options: [] } as never,
        { type: 'OPT', name: '.', udpPayloadSize: 1232, flags: 0, options: [] } as never,
      ],
    });
    expect(rcodeOf(run(q)!)).to.equal(1);
  });
});

describe('answer(): class CH identity', () => {
  const cases = [
    { qname: 'id.server', qtype: 'TXT', text: 'worker-7 pid 1 host test' },
    { qname: 'ID.Server.', qtype: 'TXT', text: 'worker-7 pid 1 host test' },
    { qname: 'hostname.bind', qtype: 'TXT', text: 'worker-7 pid 1 host test' },
    { qname: 'version.bind', qtype: 'TXT', text: 'shardns 9.9.9' },
    { qname: 'version.server', qtype: 'ANY', text: 'shardns 9.9.9' },
  ];
  for (const c of cases) {
    it(`${c.qname} CH ${c.qtype} → "${c.text}"`, () => {
      const reply = decodeReply(run(buildQuery(c.qname, c.qtype, 'CH', { id: 4711 }))!);
      expect(reply.id).to.equal(4711);
      expect(reply.rcode).to.equal('NOERROR');
      expect(reply.flag_aa).to.equal(true);
      expect(reply.questions?.[0]?.name, 'question echoed as asked').to.equal(c.qname.replace(/\.$/, ''));
      expect(reply.answers).to.have.length(1);
      const a = reply.answers![0]!;
      expect(a.class).to.equal('CH');
      expect((a.data as Buffer[]).map(String).join('')).to.equal(c.text);
    });
  }
  it('id.server CH A → NOERROR with no answer', () => {
    const reply = decodeReply(run(buildQuery('id.server', 'A', 'CH'))!);
    expect(reply.rcode).to.equal('NOERROR');
    expect(reply.answers).to.have.length(0);
  });
  it('another name in CH → REFUSED', () => {
    const reply = decodeReply(run(buildQuery('authors.bind', 'TXT', 'CH'))!);
    expect(reply.rcode).to.equal('REFUSED');
  });
});

describe('answer(): header and EDNS echo', () => {
  it('copies RD, keeps ID and question case, sets no AA on REFUSED', () => {
    const reply = decodeReply(run(buildQuery('MiXeD.Example', 'AAAA', 'IN', { id: 77, rd: true }))!);
    expect(reply.id).to.equal(77);
    expect(reply.flag_rd).to.equal(true);
    expect(reply.flag_aa).to.equal(false);
    expect(reply.flag_ra).to.equal(false);
    expect(reply.questions?.[0]).to.include({ name: 'MiXeD.Example', type: 'AAAA' });
  });
  it('REFUSED for a name outside our zones says why with EDNS: Extended DNS Error 20, Not Authoritative (RFC 8914 §4.21), as NSD does', () => {
    const reply = decodeReply(run(buildQuery('nowhere.invalid', 'A', 'IN', { edns: true }))!);
    expect(reply.rcode).to.equal('REFUSED');
    const opt = reply.additionals?.find((r) => r.type === 'OPT') as unknown as { options: { code: number; data: Buffer }[] };
    expect(opt.options.map((o) => [o.code, o.data.toString('hex')])).to.deep.equal([[15, '0014']]);
    // Without EDNS there is nowhere to say it; another refusal (CH) carries no such code.
    expect(decodeReply(run(buildQuery('nowhere.invalid', 'A', 'IN'))!).additionals).to.have.length(0);
    const ch = decodeReply(run(buildQuery('authors.bind', 'TXT', 'CH', { edns: true }))!);
    expect((ch.additionals?.find((r) => r.type === 'OPT') as unknown as { options: unknown[] }).options).to.deep.equal([]);
  });
  it('RD clear stays clear', () => {
    expect(decodeReply(run(buildQuery('a.example', 'A', 'IN', { rd: false }))!).flag_rd).to.equal(false);
  });
  it('OPT echoed with our UDP size when the query had one, absent otherwise', () => {
    const withOpt = decodeReply(run(buildQuery('id.server', 'TXT', 'CH', { edns: true }))!);
    const opt = withOpt.additionals?.find((r) => r.type === 'OPT') as unknown as { udpPayloadSize: number } | undefined;
    expect(opt?.udpPayloadSize).to.equal(1232);
    const without = decodeReply(run(buildQuery('id.server', 'TXT', 'CH'))!);
    expect(without.additionals).to.have.length(0);
  });
});

describe('servfail()', () => {
  it('answers SERVFAIL with the question when it can be found', () => {
    const q = buildQuery('x.example', 'A', 'IN', { id: 5 });
    const r = servfail(q)!;
    expect(rcodeOf(r)).to.equal(2);
    expect(r.readUInt16BE(0)).to.equal(5);
    expect(r.readUInt16BE(4)).to.equal(1);
  });
  it('drops what is not a query', () => {
    expect(servfail(Buffer.alloc(5))).to.equal(null);
  });
});

describe('answer(): outcomes owe nothing to the zone images', () => {
  const loaded = loadZones([
    { name: 'example.com.', file: `${ROOT}test/fixtures/answers/example.com.zone` },
    { name: 'other.test.', file: `${ROOT}test/fixtures/answers/other.test.zone` },
  ]);
  if (!loaded.ok) throw new Error(loaded.errors.join('\n'));
  const fresh = (): AnswerContext => {
    // A set of its own, over copies of the images, so wiping them hurts no other test.
    const images = loaded.zones.images().map((z) => new ZoneImage(z.bytes.slice()));
    return { ...ctx, zones: new ZoneSet(images), recursion: compileAcl(['127.0.0.0/8']) as Acl };
  };
  const wipe = (c: AnswerContext): void => {
    for (const z of c.zones.images()) z.bytes.fill(0);
  };

  it('a chain leading out of our zones is forwarded as copies: wiping the images after answer() changes nothing', () => {
    const c = fresh();
    const out = answer(buildQuery('external.example.com', 'A', 'IN', { id: 3 }), c, { transport: 'udp', address: '127.0.0.1' });
    expect(out.kind).to.equal('forward');
    if (out.kind !== 'forward') return;
    const before = JSON.stringify(out.chain);
    wipe(c);
    expect(JSON.stringify(out.chain)).to.equal(before);
    expect(out.target).to.equal('www.elsewhere.invalid');
    expect(out.chain.map(recordText)).to.deep.equal([['external.example.com', 'CNAME', 'www.elsewhere.invalid']]);
  });
  it('a question forwarded keeps the AD bit the client set (RFC 6840 §5.7: it asks for AD in the reply), and our own answers never set it', () => {
    const c = fresh();
    const q = buildQuery('name.elsewhere.invalid', 'A', 'IN', { id: 4 });
    q[3] = q[3]! | 0x20;
    const out = answer(q, c, { transport: 'udp', address: '127.0.0.1' });
    if (out.kind !== 'forward') throw new Error(`expected a forward, got ${out.kind}`);
    expect(out.flags & 0x20, 'AD asked').to.equal(0x20);
    const plain = answer(buildQuery('name.elsewhere.invalid', 'A', 'IN', { id: 5 }), c, { transport: 'udp', address: '127.0.0.1' });
    if (plain.kind !== 'forward') throw new Error(`expected a forward, got ${plain.kind}`);
    expect(plain.flags & 0x20, 'AD not asked').to.equal(0);
    const q2 = buildQuery('www.example.com', 'A', 'IN', { id: 6 });
    q2[3] = q2[3]! | 0x20;
    const own = answer(q2, c, { transport: 'udp', address: '127.0.0.1' });
    if (own.kind !== 'reply') throw new Error(own.kind);
    expect(own.bytes[3]! & 0x20, 'AD on an authoritative answer').to.equal(0);
  });
  it('a DNAME chain leading out: the DNAME and the synthesized CNAME, copied', () => {
    const c = fresh();
    const zones = loadZones([{ name: 'example.com.', file: `${ROOT}test/fixtures/answers/example.com.zone` }]);
    if (!zones.ok) throw new Error('zone');
    // dn.example.com DNAME other.test., with other.test not served here: the chain leads out.
    c.zones = new ZoneSet(zones.zones.images().map((z) => new ZoneImage(z.bytes.slice())));
    const out = answer(buildQuery('a.B.dn.example.com', 'A', 'IN'), c, { transport: 'udp', address: '127.0.0.1' });
    if (out.kind !== 'forward') throw new Error(`expected a forward, got ${out.kind}`);
    wipe(c);
    expect(out.chain.map(recordText)).to.deep.equal([
      ['dn.example.com', 'DNAME', 'other.test'],
      ['a.B.dn.example.com', 'CNAME', 'a.B.other.test'],
    ]);
    expect(out.target).to.equal('a.B.other.test');
  });
  it('a reply is its own Buffer: wiping the images leaves it as it was', () => {
    const c = fresh();
    const out = answer(buildQuery('www.example.com', 'A', 'IN'), c, { transport: 'udp', address: '127.0.0.1' });
    if (out.kind !== 'reply') throw new Error(out.kind);
    const before = out.bytes.toString('hex');
    wipe(c);
    expect(out.bytes.toString('hex')).to.equal(before);
    expect(out.bytes.buffer).to.not.equal(c.zones.images()[0]!.bytes.buffer);
  });
});

describe('answer(): the question echoed octet for octet', () => {
  const question = (reply: Buffer): string => reply.subarray(12, reply.length).toString('hex');
  const cases: { what: string; name: number[]; type: number; klass: number; rcode: number }[] = [
    { what: 'an unknown class (dns-packet would have written 0)', name: [1, 0x61, 0], type: 1, klass: 254, rcode: 5 },
    { what: 'a label holding a dot and a zero octet', name: [3, 0x61, 0x2e, 0x00, 7, ...Buffer.from('invalid'), 0], type: 1, klass: 1, rcode: 5 },
    { what: 'octets that are not UTF-8, in mixed case', name: [3, 0xff, 0x41, 0x62, 0], type: 16, klass: 1, rcode: 5 },
  ];
  for (const c of cases) {
    it(c.what, () => {
      const q = Buffer.from([0, 9, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, ...c.name, c.type >> 8, c.type & 0xff, c.klass >> 8, c.klass & 0xff]);
      const reply = run(q)!;
      expect(reply[3]! & 0xf).to.equal(c.rcode);
      expect(question(reply)).to.equal(q.subarray(12).toString('hex'));
    });
  }
});

describe('answer(): a forwarded question keeps its octets (fuzz finding Q2)', () => {
  const loaded = loadZones([{ name: 'escaped.test.', file: `${ROOT}test/fixtures/zones/escaped-names.zone` }]);
  if (!loaded.ok) throw new Error(loaded.errors.join('\n'));
  const c: AnswerContext = { ...ctx, zones: loaded.zones, recursion: compileAcl(['127.0.0.0/8']) as Acl };
  const query = (name: number[], type = 1): Buffer => Buffer.from([0, 9, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, ...name, type >> 8, type & 0xff, 0, 1]);
  const label = (s: string | number[]): number[] => (typeof s === 'string' ? [s.length, ...Buffer.from(s, 'latin1')] : [s.length, ...s]);

  const cases: [string, number[], string][] = [
    ['a label holding a dot, mixed case', [...label('a.B'), ...label('elsewhere'), ...label('invalid'), 0], 'a\\.B.elsewhere.invalid'],
    ['octets that are not UTF-8', [...label([0xff, 0x80]), ...label('invalid'), 0], '\\255\\128.invalid'],
    ['a type dns-packet has no name for', [...label('x'), ...label('invalid'), 0], 'x.invalid'],
  ];
  for (const [what, name, text] of cases) {
    it(`${what}: the request carries the question's octets, and the name to ask as a name string (${text})`, () => {
      const q = query(name, what.includes('type') ? 65280 : 1);
      const out = answer(q, c, { transport: 'udp', address: '127.0.0.1' });
      if (out.kind !== 'forward') throw new Error(`expected a forward, got ${out.kind}`);
      expect(out.question.wire.toString('hex')).to.equal(q.subarray(12).toString('hex'));
      expect([out.question.name, out.target, out.question.type]).to.deep.equal([text, text, what.includes('type') ? 'UNKNOWN_65280' : 'A']);
      // A copy: the query's memory is reused for the next datagram.
      q.fill(0);
      expect(out.question.wire.toString('hex')).to.not.equal(q.subarray(12).toString('hex'));
    });
  }

  it('a chain of ours leading out: its records as their octets, the target as a name string (soa2\\.x.escaped.test CNAME \\000.)', () => {
    const q = query([...label('soa2.x'), ...label('escaped'), ...label('test'), 0]);
    const out = answer(q, c, { transport: 'udp', address: '127.0.0.1' });
    if (out.kind !== 'forward') throw new Error(`expected a forward, got ${out.kind}`);
    expect(out.target).to.equal('\\000');
    expect(out.chain.map((r) => r.toString('hex'))).to.deep.equal([Buffer.from([...q.subarray(12, q.length - 4), 0, 5, 0, 1, 0, 0, 0x0e, 0x10, 0, 3, 1, 0, 0]).toString('hex')]);
  });
});
