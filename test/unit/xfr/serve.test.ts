import { expect } from 'chai';
import dnsPacket from 'dns-packet';
import { ZoneSet } from '../../../src/auth/zone-set.js';
import { answer, type AnswerContext, type AnswerOutcome } from '../../../src/dns/answer.js';
import { compileXfrAcl, type AclEntry } from '../../../src/xfr/acl.js';
import { recordChange, type Journal } from '../../../src/xfr/journal.js';
import { originKey } from '../../../src/xfr/policy.js';
import type { TransferContext, ZonePolicy } from '../../../src/xfr/serve.js';
import { findTsig, signRequest, tsigKey, TsigKeyring, TsigStreamVerifier, verifyResponse } from '../../../src/xfr/tsig.js';
import type { ZoneImage } from '../../../src/zone/image/image.js';
import { head, image, recordsOf } from './helpers.js';

const NOW = 1_800_000_000;
const key = tsigKey({ name: 'xfr-key', algorithm: 'hmac-sha256', secret: Buffer.alloc(32, 7).toString('base64') });

/** Hosts enough for several 16 KiB messages. */
const BIG = Array.from({ length: 2000 }, (_, i) => `h${i} A 10.9.${i >> 8}.${i & 255}\nh${i} TXT "host number ${i}"\n`).join('');

/** A server's context: example.com (primary, `allow`), sec.test (secondary, notify allowed from 192.0.2.53), the zone images given. */
function context(images: ZoneImage[], allow: AclEntry[], journal: Journal | null = null): { ctx: AnswerContext; logs: string[]; notified: string[] } {
  const logs: string[] = [];
  const notified: string[] = [];
  const policy = (origin: string, type: 'primary' | 'secondary', allowTransfer: AclEntry[], allowNotify: AclEntry[]): [string, ZonePolicy] => [
    originKey(origin),
    { origin, type, allowTransfer: compileXfrAcl(allowTransfer), allowNotify: compileXfrAcl(allowNotify) },
  ];
  const transfer: TransferContext = {
    keys: new TsigKeyring([key]),
    zones: new Map([policy('example.com.', 'primary', allow, []), policy('sec.test.', 'secondary', [], [{ address: '192.0.2.53', key: null }])]),
    journals: { journal: (img) => (journal !== null && journal.endHash === img.meta.source ? journal : null) },
    now: () => NOW,
    log: (level, m) => logs.push(`${level}: ${m}`),
    notified: (origin, client, serial) => notified.push(`${origin} ${client.address} ${serial}`),
  };
  const ctx: AnswerContext = { identity: { server: 'test', version: 'test' }, zones: new ZoneSet(images), recursion: null, ednsUdpSize: 1232, nsid: Buffer.from('t'), transfer };
  return { ctx, logs, notified };
}

/** A query; `serial`: an IXFR's SOA in authority; `opcode`: 4 for NOTIFY. */
function query(name: string, type: string, opts: { serial?: number; opcode?: number; edns?: boolean; id?: number } = {}): Buffer {
  const q = dnsPacket.encode({
    type: 'query',
    id: opts.id ?? 99,
    flags: (opts.opcode ?? 0) << 11,
    questions: [{ name, type: type as 'A', class: 'IN' }],
    authorities: opts.serial === undefined ? [] : [{ name, type: 'SOA', ttl: 0, data: { mname: 'a.', rname: 'b.', serial: opts.serial, refresh: 0, retry: 0, expire: 0, minimum: 0 } }],
    additionals: opts.edns ? [{ type: 'OPT', name: '.', udpPayloadSize: 1232, flags: 0, options: [] } as never] : [],
  });
  return q;
}

/** The messages of an outcome: one reply, or every message of a stream. */
function messages(out: AnswerOutcome): Buffer[] {
  if (out.kind === 'reply') return [out.bytes];
  if (out.kind !== 'stream') throw new Error(`outcome ${out.kind}`);
  const all: Buffer[] = [];
  for (let m = out.stream.next(); m !== null; m = out.stream.next()) all.push(m);
  out.stream.close();
  return all;
}

type Decoded = { rcode: string; flag_aa: boolean; flag_tc: boolean; answers: { name: string; type: string; ttl: number; data: unknown }[]; questions: unknown[]; additionals: { type: string; options?: { code: number; data?: Buffer }[] }[] };
const decode = (b: Buffer): Decoded => dnsPacket.decode(b) as unknown as Decoded;

describe('transfers in answer(): who gets what (src/xfr/serve.ts)', () => {
  const zone = image(head(1) + 'www A 192.0.2.10\nwww AAAA 2001:db8::10\nmail MX 10 www\n' + BIG);

  it('AXFR over TCP to an admitted client: a stream, SOA first and last, every record once, the question in the first message only, each ≤ 16 KiB', () => {
    const { ctx, logs } = context([zone], [{ address: '127.0.0.0/8', key: null }]);
    const out = answer(query('example.com', 'AXFR'), ctx, { transport: 'tcp', address: '127.0.0.1' });
    expect(out.kind).to.equal('stream');
    const all = messages(out);
    expect(all.length).to.be.greaterThan(3);
    const decoded = all.map(decode);
    expect(decoded.map((d) => d.questions.length)).to.deep.equal([1, ...all.slice(1).map(() => 0)]);
    for (const m of all) expect(m.length).to.be.at.most(16383);
    for (const d of decoded) expect({ rcode: d.rcode, aa: d.flag_aa }).to.deep.equal({ rcode: 'NOERROR', aa: true });
    const rrs = decoded.flatMap((d) => d.answers);
    expect(rrs[0]!.type).to.equal('SOA');
    expect(rrs.at(-1)).to.deep.equal(rrs[0]);
    expect(rrs.length - 1).to.equal(zone.recordCount);
    const names = new Set(rrs.slice(1, -1).map((r) => `${r.name.toLowerCase()} ${r.type} ${JSON.stringify(r.data)}`));
    expect(names.size, 'no record twice').to.equal(zone.recordCount - 1);
    expect(logs).to.include('info: AXFR of example.com. serial 1 to 127.0.0.1 (unsigned, allowed by 127.0.0.0/8)');
  });

  const refusals: { name: string; q: () => Buffer; transport: 'udp' | 'tcp'; address: string; allow: AclEntry[]; rcode: string; log?: RegExp }[] = [
    { name: 'AXFR of a zone without allow-transfer: REFUSED, logged', q: () => query('example.com', 'AXFR'), transport: 'tcp', address: '192.0.2.7', allow: [], rcode: 'REFUSED', log: /warn: AXFR of example\.com\. from 192\.0\.2\.7 \(unsigned\) refused: the zone has no allow-transfer/ },
    { name: 'AXFR from an address not admitted: REFUSED, logged', q: () => query('example.com', 'AXFR'), transport: 'tcp', address: '192.0.2.7', allow: [{ address: '10.0.0.0/8', key: null }], rcode: 'REFUSED', log: /from 192\.0\.2\.7 \(unsigned\) refused: not admitted by allow-transfer/ },
    { name: 'AXFR unsigned where the entry needs the key: REFUSED', q: () => query('example.com', 'AXFR'), transport: 'tcp', address: '10.1.1.1', allow: [{ address: '10.0.0.0/8', key: 'xfr-key.' }], rcode: 'REFUSED' },
    { name: 'AXFR over UDP, even when admitted: REFUSED (RFC 5936 §4.2)', q: () => query('example.com', 'AXFR'), transport: 'udp', address: '127.0.0.1', allow: [{ address: 'any', key: null }], rcode: 'REFUSED' },
    { name: 'AXFR of a name below the apex: NOTAUTH (not a zone, as NSD)', q: () => query('www.example.com', 'AXFR'), transport: 'tcp', address: '127.0.0.1', allow: [{ address: 'any', key: null }], rcode: 'NOTAUTH' },
    { name: 'AXFR of a zone we do not serve: NOTAUTH', q: () => query('example.org', 'AXFR'), transport: 'tcp', address: '127.0.0.1', allow: [{ address: 'any', key: null }], rcode: 'NOTAUTH' },
    { name: 'IXFR without the client\'s SOA: FORMERR (RFC 1995 §3, as NSD)', q: () => query('example.com', 'IXFR'), transport: 'tcp', address: '127.0.0.1', allow: [{ address: 'any', key: null }], rcode: 'FORMERR' },
  ];
  for (const c of refusals) {
    it(c.name, () => {
      const { ctx, logs } = context([zone], c.allow);
      const [reply] = messages(answer(c.q(), ctx, { transport: c.transport, address: c.address }));
      expect(decode(reply!).rcode).to.equal(c.rcode);
      expect(decode(reply!).answers).to.have.length(0);
      if (c.log) expect(logs.join('\n')).to.match(c.log);
    });
  }

  it('a configured zone with no data yet (a dark secondary): a client allow-transfer does not admit is REFUSED before it learns that; an admitted one gets NOTAUTH', () => {
    // example.com is configured (allow-transfer 127.0.0.1) but no image is served: a secondary before its first transfer, or expired.
    const { ctx, logs } = context([], [{ address: '127.0.0.1', key: null }]);
    const from = (address: string): string => decode(messages(answer(query('example.com', 'AXFR'), ctx, { transport: 'tcp', address }))[0]!).rcode;
    expect(from('192.0.2.7')).to.equal('REFUSED');
    expect(logs.at(-1)).to.match(/^warn: AXFR of example\.com\. from 192\.0\.2\.7 \(unsigned\) refused: not admitted by allow-transfer/);
    expect(from('127.0.0.1')).to.equal('NOTAUTH');
    expect(logs.at(-1)).to.match(/^info: AXFR of example\.com\. from 127\.0\.0\.1 \(unsigned\): the zone has no data yet; answered NOTAUTH/);
    // sec.test has no allow-transfer at all: nobody is told whether it has data.
    expect(decode(messages(answer(query('sec.test', 'IXFR', { serial: 1 }), ctx, { transport: 'tcp', address: '127.0.0.1' }))[0]!).rcode).to.equal('REFUSED');
  });

  it('REFUSED carries Extended DNS Error 18 (Prohibited) when the client speaks EDNS', () => {
    const { ctx } = context([zone], []);
    const [reply] = messages(answer(query('example.com', 'AXFR', { edns: true }), ctx, { transport: 'tcp', address: '192.0.2.7' }));
    const opt = decode(reply!).additionals.find((a) => a.type === 'OPT');
    expect(opt?.options?.find((o) => o.code === 15)?.data?.readUInt16BE(0)).to.equal(18);
  });

  it('signed with the key, from any address an entry "key" admits: every message signed, the stream verifies', () => {
    const { ctx } = context([zone], [{ address: null, key: 'xfr-key.' }]);
    const signed = signRequest(query('example.com', 'AXFR'), key, NOW);
    const all = messages(answer(signed.bytes, ctx, { transport: 'tcp', address: '203.0.113.1' }));
    expect(all.length).to.be.greaterThan(3);
    const v = new TsigStreamVerifier(key, signed.mac, () => NOW);
    for (const m of all) {
      expect(findTsig(m).kind, 'every message signed').to.equal('found');
      expect(v.next(m)).to.deep.equal({ kind: 'ok' });
    }
  });

  it('IXFR from a client as new as we are: our SOA alone', () => {
    const { ctx } = context([zone], [{ address: 'any', key: null }]);
    const [reply] = messages(answer(query('example.com', 'IXFR', { serial: 1 }), ctx, { transport: 'tcp', address: '127.0.0.1' }));
    expect(decode(reply!).answers.map((a) => a.type)).to.deep.equal(['SOA']);
  });

  it('IXFR with a journal: the condensed versions over TCP; over UDP the same when it fits; the whole zone when the journal has not the serial', () => {
    const v1 = image(head(1) + 'www A 192.0.2.10\n');
    const v2 = image(head(2) + 'www A 192.0.2.11\nnew TXT "n"\n');
    const j = recordChange(null, v1, v2);
    if (j.kind !== 'kept') throw new Error('no journal');
    const { ctx } = context([v2], [{ address: 'any', key: null }], j.journal);
    const tcp = messages(answer(query('example.com', 'IXFR', { serial: 1 }), ctx, { transport: 'tcp', address: '127.0.0.1' })).flatMap((m) => decode(m).answers);
    const show = (rrs: Decoded['answers']): string[] => rrs.map((r) => (r.type === 'SOA' ? `SOA ${(r.data as { serial: number }).serial}` : `${r.name} ${r.type} ${typeof r.data === 'string' ? r.data : JSON.stringify(r.data)}`));
    expect(show(tcp)).to.deep.equal(['SOA 2', 'SOA 1', 'www.example.com A 192.0.2.10', 'SOA 2', 'new.example.com TXT [{"type":"Buffer","data":[110]}]', 'www.example.com A 192.0.2.11', 'SOA 2']);
    const udp = messages(answer(query('example.com', 'IXFR', { serial: 1 }), ctx, { transport: 'udp', address: '127.0.0.1' }));
    expect(show(decode(udp[0]!).answers)).to.deep.equal(show(tcp));
    const full = messages(answer(query('example.com', 'IXFR', { serial: 4_000_000_000 }), ctx, { transport: 'tcp', address: '127.0.0.1' })).flatMap((m) => decode(m).answers);
    expect(full.length).to.equal(v2.recordCount + 1);
    expect(full[0]!.type).to.equal('SOA');
  });

  it('IXFR over UDP that does not fit: our SOA alone with TC (RFC 1995 §2, as NSD)', () => {
    const { ctx } = context([zone], [{ address: 'any', key: null }]);
    const [reply] = messages(answer(query('example.com', 'IXFR', { serial: 4_000_000_000 }), ctx, { transport: 'udp', address: '127.0.0.1' }));
    const d = decode(reply!);
    expect({ tc: d.flag_tc, types: d.answers.map((a) => a.type), size: reply!.length <= 512 }).to.deep.equal({ tc: true, types: ['SOA'], size: true });
  });

  it('streamStarted is told of every AXFR or IXFR stream handed out, and of nothing else (the worker stops its warm-up then)', () => {
    const { ctx } = context([zone], [{ address: '127.0.0.0/8', key: null }]);
    const started: string[] = [];
    ctx.transfer!.streamStarted = () => started.push('stream');
    const cases: { what: string; query: Buffer; transport: 'tcp' | 'udp'; address: string; kind: string; told: number }[] = [
      { what: 'AXFR admitted', query: query('example.com', 'AXFR'), transport: 'tcp', address: '127.0.0.1', kind: 'stream', told: 1 },
      { what: 'AXFR refused', query: query('example.com', 'AXFR'), transport: 'tcp', address: '192.0.2.99', kind: 'reply', told: 0 },
      { what: 'AXFR over UDP', query: query('example.com', 'AXFR'), transport: 'udp', address: '127.0.0.1', kind: 'reply', told: 0 },
      { what: 'IXFR from an old serial, no journal: the whole zone', query: query('example.com', 'IXFR', { serial: 0 }), transport: 'tcp', address: '127.0.0.1', kind: 'stream', told: 1 },
      { what: 'IXFR from our serial: our SOA alone', query: query('example.com', 'IXFR', { serial: 1 }), transport: 'tcp', address: '127.0.0.1', kind: 'reply', told: 0 },
      { what: 'a plain query', query: query('www.example.com', 'A'), transport: 'tcp', address: '127.0.0.1', kind: 'reply', told: 0 },
    ];
    for (const c of cases) {
      started.length = 0;
      const out = answer(c.query, ctx, { transport: c.transport, address: c.address });
      expect(out.kind, c.what).to.equal(c.kind);
      if (out.kind === 'stream') out.stream.close();
      expect(started.length, c.what).to.equal(c.told);
    }
  });

  it('a stream holds its image until closed (a reload cannot unmap it under the transfer)', () => {
    const { ctx } = context([zone], [{ address: 'any', key: null }]);
    const out = answer(query('example.com', 'AXFR'), ctx, { transport: 'tcp', address: '127.0.0.1' });
    expect(zone.held).to.equal(true);
    if (out.kind === 'stream') out.stream.close();
    expect(zone.held).to.equal(false);
  });

  it('a signed SOA query: answered as usual, the reply signed and fitted with room for the TSIG', () => {
    const { ctx } = context([zone], []);
    const signed = signRequest(query('example.com', 'SOA'), key, NOW);
    const [reply] = messages(answer(signed.bytes, ctx, { transport: 'udp', address: '192.0.2.1' }));
    expect(verifyResponse(reply!, key, signed.mac, NOW)).to.deep.include({ kind: 'ok' });
    expect(decode(reply!).answers.map((a) => a.type)).to.deep.equal(['SOA']);
    const bigSigned = signRequest(query('example.com', 'TXT'), key, NOW);
    expect(answer(bigSigned.bytes, ctx, { transport: 'udp', address: '192.0.2.1' }).kind).to.equal('reply');
  });

  it('a signed query for a name outside our zones is REFUSED, signed (never forwarded)', () => {
    const { ctx } = context([zone], []);
    const signed = signRequest(query('elsewhere.test', 'A'), key, NOW);
    const [reply] = messages(answer(signed.bytes, ctx, { transport: 'udp', address: '192.0.2.1' }));
    expect(decode(reply!).rcode).to.equal('REFUSED');
    expect(verifyResponse(reply!, key, signed.mac, NOW).kind).to.equal('ok');
  });
});

describe('NOTIFY in answer() (RFC 1996): by zone type', () => {
  const zone = image(head(1) + 'www A 192.0.2.10\n');

  it('for our primary zone: REFUSED; for a zone we do not have: NOTAUTH; never NOTIMP', () => {
    const { ctx, logs } = context([zone], []);
    expect(decode(messages(answer(query('example.com', 'SOA', { opcode: 4 }), ctx, { transport: 'udp', address: '192.0.2.53' }))[0]!).rcode).to.equal('REFUSED');
    expect(decode(messages(answer(query('nowhere.test', 'SOA', { opcode: 4 }), ctx, { transport: 'udp', address: '192.0.2.53' }))[0]!).rcode).to.equal('NOTAUTH');
    expect(logs.join('\n')).to.match(/NOTIFY for example\.com\. from 192\.0\.2\.53 \(unsigned\) refused: we are the zone's primary/);
  });

  it('for a secondary zone: NOERROR with AA from a sender allow-notify admits (the secondary side is told), REFUSED from another', () => {
    const { ctx, notified } = context([zone], []);
    const ok = decode(messages(answer(query('sec.test', 'SOA', { opcode: 4 }), ctx, { transport: 'udp', address: '192.0.2.53' }))[0]!);
    expect({ rcode: ok.rcode, aa: ok.flag_aa }).to.deep.equal({ rcode: 'NOERROR', aa: true });
    expect(notified).to.deep.equal(['sec.test. 192.0.2.53 null']);
    expect(decode(messages(answer(query('sec.test', 'SOA', { opcode: 4 }), ctx, { transport: 'udp', address: '192.0.2.99' }))[0]!).rcode).to.equal('REFUSED');
  });
});

describe('the records a transfer sends are the image\'s', () => {
  it('with names of any case and octet, wildcards and a record bigger than a 16 KiB message', () => {
    const huge = Array.from({ length: 100 }, (_, i) => `"${'x'.repeat(200)}${i}"`).join(' ');
    const text = head(1) + 'MiXeD A 192.0.2.1\n*.wild TXT "w"\nodd\\032name A 192.0.2.2\n' + Array.from({ length: 400 }, (_, i) => `many TXT "${'x'.repeat(100)}${i}"\n`).join('') + `big TXT ${huge}\n`;
    const zone = image(text);
    const { ctx } = context([zone], [{ address: 'any', key: null }]);
    const all = messages(answer(query('example.com', 'AXFR'), ctx, { transport: 'tcp', address: '127.0.0.1' }));
    // The 20 KiB record goes in a message of its own, above 16 KiB but within 64 KiB.
    expect(all.some((m) => m.length > 16383 && m.length <= 65535)).to.equal(true);
    const sent = all.flatMap((m) => decode(m).answers).slice(0, -1);
    expect(sent.length).to.equal(zone.recordCount);
    expect(sent.map((r) => r.name)).to.include('MiXeD.example.com').and.include('*.wild.example.com').and.include('odd name.example.com');
    expect(recordsOf(zone).length).to.equal(zone.recordCount - 1);
  });
});
