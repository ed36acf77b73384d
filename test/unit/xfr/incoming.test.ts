import { expect } from 'chai';
import { parseSoaReply, soaSerial, TransferReader, type TransferLimits, type TransferQuery, type TransferStep } from '../../../src/xfr/incoming.js';
import { wireLines } from './helpers.js';

/**
 * Messages crafted octet by octet: names as label lists (a label is a
 * latin1 string or raw octets, so '.' and any octet fit in one), ending in a
 * zero octet or a compression pointer; every record also written out
 * uncompressed by hand, as the reader must return it.
 */
type Label = string | number[];
const octets = (l: Label): number[] => (typeof l === 'string' ? [...Buffer.from(l, 'latin1')] : l);
/** A name: its labels, then the root or a pointer to `ptr`. */
const name = (labels: Label[], ptr?: number): number[] => [...labels.flatMap((l) => [octets(l).length, ...octets(l)]), ...(ptr === undefined ? [0] : [0xc0 | (ptr >> 8), ptr & 0xff])];
const u16 = (n: number): number[] => [n >> 8, n & 0xff];
const u32 = (n: number): number[] => [n >>> 24, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff];

const A = 1;
const NS = 2;
const SOA = 6;
const MX = 15;
const TXT = 16;
const RP = 17;
const SRV = 33;
const NAPTR = 35;
const DNAME = 39;
const AXFR = 252;
const IXFR = 251;

/** The origin as the question writes it, mixed case (the reader compares ignoring case, and keeps what it gets). */
const ORIGIN_Q: Label[] = ['Example', 'COM'];
/** The origin, lower-cased wire form (what a query gives the reader). */
const ORIGIN = Uint8Array.from(name(['example', 'com']));
/** Where the question's name starts: every pointer to the origin points here. */
const Q = 12;

/** One uncompressed record. */
function rec(owner: number[], type: number, ttl: number, rdata: number[]): number[] {
  return [...owner, ...u16(type), ...u16(1), ...u32(ttl), ...u16(rdata.length), ...rdata];
}

/** A message being written: header, the question, answer records (names as given, compressed or not), then extra sections. */
class Msg {
  readonly b: number[];
  private an = 0;
  private ar = 0;

  constructor(id: number, opts: { flags?: number; question?: boolean; qtype?: number; qname?: number[] } = {}) {
    const question = opts.question ?? true;
    this.b = [...u16(id), ...u16(opts.flags ?? 0x8400), ...u16(question ? 1 : 0), 0, 0, 0, 0, 0, 0];
    if (question) this.b.push(...(opts.qname ?? name(ORIGIN_Q)), ...u16(opts.qtype ?? AXFR), ...u16(1));
  }

  /** Where the next octet goes (a pointer target). */
  get at(): number {
    return this.b.length;
  }

  /** Appends one answer record; its RDLENGTH is that of `rdata` as written. */
  add(owner: number[], type: number, ttl: number, rdata: number[], klass = 1): this {
    this.b.push(...owner, ...u16(type), ...u16(klass), ...u32(ttl), ...u16(rdata.length), ...rdata);
    this.an++;
    return this;
  }

  /** Appends an additional record (written as given). */
  additional(bytes: number[]): this {
    this.b.push(...bytes);
    this.ar++;
    return this;
  }

  build(): Uint8Array {
    const out = Uint8Array.from(this.b);
    out[6] = this.an >> 8;
    out[7] = this.an & 0xff;
    out[10] = this.ar >> 8;
    out[11] = this.ar & 0xff;
    return out;
  }
}

/** SOA RDATA: MNAME ns1.<origin>, RNAME host\.master.<origin> (a '.' inside a label), both compressed to the question. */
const soaRdata = (serial: number): number[] => [...name(['ns1'], Q), ...name(['host.master'], Q), ...u32(serial), ...u32(7200), ...u32(3600), ...u32(1209600), ...u32(300)];
/** The same uncompressed, in the question's case. */
const soaRdataFull = (serial: number): number[] => [...name(['ns1', ...ORIGIN_Q]), ...name(['host.master', ...ORIGIN_Q]), ...u32(serial), ...u32(7200), ...u32(3600), ...u32(1209600), ...u32(300)];
const OWNER_APEX = name(ORIGIN_Q);
const soa = (serial: number): number[] => rec(OWNER_APEX, SOA, 3600, soaRdataFull(serial));

const ID = 0x4a1f;
const axfrQuery: TransferQuery = { origin: ORIGIN, qtype: 'axfr', id: ID };
const ixfrQuery = (serial: number): TransferQuery => ({ origin: ORIGIN, qtype: 'ixfr', serial, id: ID });

/** Pushes every message; the steps. */
function feed(reader: TransferReader, msgs: Uint8Array[]): TransferStep[] {
  return msgs.map((m) => reader.push(m));
}

/** The result of a transfer that must succeed on its last message (and not before). */
function done(query: TransferQuery, msgs: Uint8Array[], limits?: TransferLimits): Extract<TransferStep, { kind: 'done' }>['result'] {
  const steps = feed(new TransferReader(query, limits), msgs);
  for (const s of steps.slice(0, -1)) expect(s).to.deep.equal({ kind: 'more' });
  const last = steps.at(-1)!;
  if (last.kind !== 'done') expect.fail(`expected done, got ${JSON.stringify(last)}`);
  return last.result;
}

/** The error a transfer must end in (at whichever message). */
function failure(query: TransferQuery, msgs: Uint8Array[], limits?: TransferLimits): { why: string; rcode?: number } {
  const steps = feed(new TransferReader(query, limits), msgs);
  const err = steps.find((s) => s.kind === 'error');
  if (err === undefined || err.kind !== 'error') expect.fail(`expected an error, got ${JSON.stringify(steps.map((s) => s.kind))}`);
  // Nothing after a failure is taken.
  expect(steps.slice(steps.indexOf(err) + 1).every((s) => s.kind === 'error')).to.equal(true);
  return err;
}

const hex = (b: Uint8Array | number[]): string => Buffer.from(b).toString('hex');

describe('transfers in: the response reader (RFC 5936, RFC 1995)', () => {
  describe('AXFR: records decompressed, every octet and the case kept', () => {
    // Labels with a '.', a space, octets that are not UTF-8, and a zero octet.
    const odd: Label[] = ['a.b', 'sp ce', [0xff, 0x00, 0x80, 0x2e], 'MiXeD'];
    /** Builds the transfer: two messages, each record with the compression a primary may use. */
    function transfer(): { msgs: Uint8Array[]; expected: number[][] } {
      const expected: number[][] = [];
      const m1 = new Msg(ID);
      m1.add(name([], Q), SOA, 3600, soaRdata(7));
      const soaRecord = soa(7);
      // NS: owner a pointer to the question, the target compressed against it.
      m1.add(name([], Q), NS, 3600, name(['ns1'], Q));
      expected.push(rec(OWNER_APEX, NS, 3600, name(['ns1', ...ORIGIN_Q])));
      // An owner of odd labels, compressed to the origin.
      const oddAt = m1.at;
      m1.add(name(odd, Q), A, 300, [192, 0, 2, 1]);
      expected.push(rec(name([...odd, ...ORIGIN_Q]), A, 300, [192, 0, 2, 1]));
      // MX: the owner points at the odd name; the exchange too, with one more label.
      m1.add(name([], oddAt), MX, 300, [...u16(10), ...name(['mx'], oddAt)]);
      expected.push(rec(name([...odd, ...ORIGIN_Q]), MX, 300, [...u16(10), ...name(['mx', ...odd, ...ORIGIN_Q])]));
      // SRV compressed, as RFC 2052 senders did.
      m1.add(name(['_sip', '_tcp'], Q), SRV, 60, [...u16(1), ...u16(2), ...u16(5060), ...name(['sip'], Q)]);
      expected.push(rec(name(['_sip', '_tcp', ...ORIGIN_Q]), SRV, 60, [...u16(1), ...u16(2), ...u16(5060), ...name(['sip', ...ORIGIN_Q])]));
      // TXT whose octets look like a pointer: copied as they are.
      m1.add(name(['txt'], Q), TXT, 60, [4, 0xc0, 0x0c, 0x00, 0x41]);
      expected.push(rec(name(['txt', ...ORIGIN_Q]), TXT, 60, [4, 0xc0, 0x0c, 0x00, 0x41]));
      // Second message: no question (RFC 5936 §2.2.1 allows it), names compressed within this message only.
      const m2 = new Msg(ID, { question: false });
      const ownerAt = m2.at;
      m2.add(name(['naptr', ...ORIGIN_Q]), NAPTR, 60, [...u16(100), ...u16(10), 1, ...octets('u'), 7, ...octets('E2U+sip'), 0, ...name(['_sip', '_udp'], ownerAt + 6)]);
      expected.push(rec(name(['naptr', ...ORIGIN_Q]), NAPTR, 60, [...u16(100), ...u16(10), 1, ...octets('u'), 7, ...octets('E2U+sip'), 0, ...name(['_sip', '_udp', ...ORIGIN_Q])]));
      m2.add(name(['rp'], ownerAt + 6), RP, 60, [...name(['admin'], ownerAt + 6), ...name(['info'], ownerAt + 6)]);
      expected.push(rec(name(['rp', ...ORIGIN_Q]), RP, 60, [...name(['admin', ...ORIGIN_Q]), ...name(['info', ...ORIGIN_Q])]));
      m2.add(name(['old'], ownerAt + 6), DNAME, 60, name(['new'], ownerAt + 6));
      expected.push(rec(name(['old', ...ORIGIN_Q]), DNAME, 60, name(['new', ...ORIGIN_Q])));
      // An unknown type's RDATA is never touched (RFC 3597 §4), pointer-like octets or not.
      m2.add(name(['unk'], ownerAt + 6), 65280, 60, [0xc0, 0x0c]);
      expected.push(rec(name(['unk', ...ORIGIN_Q]), 65280, 60, [0xc0, 0x0c]));
      m2.add(name([], ownerAt + 6), SOA, 3600, [...name(['ns1'], ownerAt + 6), ...name(['host.master'], ownerAt + 6), ...u32(7), ...u32(7200), ...u32(3600), ...u32(1209600), ...u32(300)]);
      return { msgs: [m1.build(), m2.build()], expected: [soaRecord, ...expected] };
    }

    it('two messages: the SOA apart, the zone uncompressed in order, the closing SOA dropped', () => {
      const { msgs, expected } = transfer();
      const r = done(axfrQuery, msgs);
      if (r.kind !== 'axfr') expect.fail(r.kind);
      expect(r.serial).to.equal(7);
      expect(hex(r.soa)).to.equal(hex(expected[0]!));
      expect(soaSerial(r.soa)).to.equal(7);
      expect(r.count).to.equal(expected.length - 1);
      expect(hex(r.records)).to.equal(hex(expected.slice(1).flat()));
    });

    it('a zone of the SOA alone (SOA, SOA)', () => {
      const m = new Msg(ID).add(name([], Q), SOA, 3600, soaRdata(1)).add(name([], Q), SOA, 3600, soaRdata(1)).build();
      const r = done(axfrQuery, [m]);
      expect(r).to.deep.include({ kind: 'axfr', serial: 1, count: 0 });
    });

    it('the first message may hold the SOA alone; the question may come again (the same one) in later messages', () => {
      const m1 = new Msg(ID).add(name([], Q), SOA, 3600, soaRdata(2)).build();
      const m2 = new Msg(ID).add(name(['www'], Q), A, 60, [10, 0, 0, 1]).build();
      const m3 = new Msg(ID).add(name([], Q), SOA, 3600, soaRdata(2)).build();
      const r = done(axfrQuery, [m1, m2, m3]);
      if (r.kind !== 'axfr') expect.fail(r.kind);
      expect(hex(r.records)).to.equal(hex(rec(name(['www', ...ORIGIN_Q]), A, 60, [10, 0, 0, 1])));
    });
  });

  describe('IXFR', () => {
    const www = (last: number): number[] => rec(name(['www', ...ORIGIN_Q]), A, 60, [192, 0, 2, last]);
    const wwwC = (m: Msg, last: number): Msg => m.add(name(['www'], Q), A, 60, [192, 0, 2, last]);

    it('two versions (RFC 1995 §4): SOA 3, [SOA 1, -www .1, SOA 2, +www .2], [SOA 2, -www .2, SOA 3, +www .3 +www .4], SOA 3', () => {
      const m1 = new Msg(ID, { qtype: IXFR }).add(name([], Q), SOA, 3600, soaRdata(3)).add(name([], Q), SOA, 3600, soaRdata(1));
      wwwC(m1, 1).add(name([], Q), SOA, 3600, soaRdata(2));
      wwwC(m1, 2);
      const m2 = new Msg(ID, { qtype: IXFR }).add(name([], Q), SOA, 3600, soaRdata(2));
      wwwC(m2, 2).add(name([], Q), SOA, 3600, soaRdata(3));
      wwwC(wwwC(m2, 3), 4).add(name([], Q), SOA, 3600, soaRdata(3));
      const r = done(ixfrQuery(1), [m1.build(), m2.build()]);
      if (r.kind !== 'ixfr') expect.fail(r.kind);
      expect(r.versions.map((v) => ({ from: v.from, to: v.to, oldSoa: hex(v.oldSoa), newSoa: hex(v.newSoa), deleted: hex(v.deleted), deletedCount: v.deletedCount, added: hex(v.added), addedCount: v.addedCount }))).to.deep.equal([
        { from: 1, to: 2, oldSoa: hex(soa(1)), newSoa: hex(soa(2)), deleted: hex(www(1)), deletedCount: 1, added: hex(www(2)), addedCount: 1 },
        { from: 2, to: 3, oldSoa: hex(soa(2)), newSoa: hex(soa(3)), deleted: hex(www(2)), deletedCount: 1, added: hex([...www(3), ...www(4)]), addedCount: 2 },
      ]);
    });

    it('a version that only deletes, or only adds', () => {
      const m = new Msg(ID, { qtype: IXFR }).add(name([], Q), SOA, 3600, soaRdata(9)).add(name([], Q), SOA, 3600, soaRdata(8));
      wwwC(m, 1).add(name([], Q), SOA, 3600, soaRdata(9)).add(name([], Q), SOA, 3600, soaRdata(9));
      const r = done(ixfrQuery(8), [m.build()]);
      if (r.kind !== 'ixfr') expect.fail(r.kind);
      expect(r.versions.map((v) => [v.deletedCount, v.addedCount, v.added.length])).to.deep.equal([[1, 0, 0]]);
    });

    it('answered in AXFR form (RFC 1995 §4: no history for our serial): the whole zone', () => {
      const m = new Msg(ID, { qtype: IXFR }).add(name([], Q), SOA, 3600, soaRdata(5)).add(name([], Q), NS, 3600, name(['ns1'], Q));
      wwwC(m, 7).add(name([], Q), SOA, 3600, soaRdata(5));
      const r = done(ixfrQuery(1), [m.build()]);
      if (r.kind !== 'axfr') expect.fail(r.kind);
      expect({ serial: r.serial, count: r.count }).to.deep.equal({ serial: 5, count: 2 });
      expect(hex(r.records)).to.equal(hex([...rec(OWNER_APEX, NS, 3600, name(['ns1', ...ORIGIN_Q])), ...www(7)]));
    });

    it('the SOA alone, not newer than ours: current (RFC 1995 §4); our serial newer by RFC 1982 wrap-around too', () => {
      const same = new Msg(ID, { qtype: IXFR }).add(name([], Q), SOA, 3600, soaRdata(4)).build();
      expect(done(ixfrQuery(4), [same])).to.deep.include({ kind: 'current', serial: 4 });
      const older = new Msg(ID, { qtype: IXFR }).add(name([], Q), SOA, 3600, soaRdata(0xfffffff0)).build();
      const r = done(ixfrQuery(5), [older]);
      expect(r).to.deep.include({ kind: 'current', serial: 0xfffffff0 });
      if (r.kind === 'current') expect(hex(r.soa)).to.equal(hex(soa(0xfffffff0)));
    });

    it('the SOA alone but newer: what follows decides (here the AXFR form)', () => {
      const m1 = new Msg(ID, { qtype: IXFR }).add(name([], Q), SOA, 3600, soaRdata(6)).build();
      const m2 = wwwC(new Msg(ID, { qtype: IXFR }), 1).add(name(['example', 'com']), SOA, 3600, soaRdata(6)).build();
      const reader = new TransferReader(ixfrQuery(5));
      expect(reader.push(m1)).to.deep.equal({ kind: 'more' });
      expect(reader.describeProgress()).to.equal('after 1 message (1 record), before the closing SOA');
      const r = reader.push(m2);
      expect(r).to.have.property('kind', 'done');
      if (r.kind === 'done') expect(r.result).to.deep.include({ kind: 'axfr', serial: 6, count: 1 });
    });
  });

  describe('errors say what and where', () => {
    const soaMsg = (serial: number, opts: ConstructorParameters<typeof Msg>[1] = {}, id = ID): Msg => new Msg(id, opts).add(name([], Q), SOA, 3600, soaRdata(serial));
    const cases: { name: string; query?: TransferQuery; msgs: () => Uint8Array[]; limits?: TransferLimits; why: RegExp; rcode?: number }[] = [
      { name: 'another ID', msgs: () => [soaMsg(1, {}, ID + 1).build()], why: /^message 1: ID 18976, the query's was 18975/ },
      { name: 'a later message with another ID', msgs: () => [soaMsg(1).build(), soaMsg(1, {}, 7).build()], why: /^message 2: ID 7, the query's was 18975/ },
      { name: 'REFUSED', msgs: () => [new Msg(ID, { flags: 0x8005 }).build()], why: /^message 1: the primary answered REFUSED \(the primary does not allow us/, rcode: 5 },
      { name: 'NOTIMP to an IXFR (the caller falls back to AXFR)', query: ixfrQuery(1), msgs: () => [new Msg(ID, { flags: 0x8004, qtype: IXFR }).build()], why: /NOTIMP \(the primary does not do this kind of transfer; for IXFR, try AXFR/, rcode: 4 },
      { name: 'NOTAUTH', msgs: () => [new Msg(ID, { flags: 0x8009 }).build()], why: /the primary answered NOTAUTH/, rcode: 9 },
      { name: 'FORMERR to an IXFR', query: ixfrQuery(1), msgs: () => [new Msg(ID, { flags: 0x8001, qtype: IXFR }).build()], why: /FORMERR/, rcode: 1 },
      { name: 'not a response', msgs: () => [soaMsg(1, { flags: 0x0400 }).build()], why: /^message 1: not a response \(QR clear\)/ },
      { name: 'another opcode', msgs: () => [soaMsg(1, { flags: 0x8400 | (4 << 11) }).build()], why: /^message 1: opcode 4, not QUERY/ },
      { name: 'TC set', msgs: () => [soaMsg(1, { flags: 0x8600 }).build()], why: /^message 1: TC set/ },
      { name: 'no question in the first message', msgs: () => [soaMsg(1, { question: false }).build()], why: /^message 1: no question section/ },
      { name: 'another question name', msgs: () => [soaMsg(1, { qname: name(['example', 'org']) }).build()], why: /^message 1: the question is example\.org\. IN AXFR, not example\.com\. IN AXFR/ },
      { name: 'another question type', msgs: () => [soaMsg(1, { qtype: IXFR }).build()], why: /^message 1: the question is Example\.COM\. IN IXFR, not example\.com\. IN AXFR/ },
      { name: 'NOERROR without records', msgs: () => [new Msg(ID).build()], why: /^message 1: NOERROR but no records/ },
      { name: 'the first record not an SOA', msgs: () => [new Msg(ID).add(name(['www'], Q), A, 60, [1, 2, 3, 4]).build()], why: /^message 1, record 1: the first record is www\.Example\.COM\. A, not the zone's SOA/ },
      {
        name: 'an owner outside the zone (a sibling that merely ends alike, too)',
        msgs: () => [soaMsg(1).add(name(['evil', 'org']), A, 60, [1, 2, 3, 4]).build()],
        why: /^message 1, record 2: evil\.org\. A is outside the zone example\.com\.; out-of-zone data is refused/,
      },
      { name: 'a sibling name ending in the same octets', msgs: () => [soaMsg(1).add(name(['notexample', 'com']), A, 60, [1, 2, 3, 4]).build()], why: /record 2: notexample\.com\. A is outside the zone/ },
      { name: 'class CH', msgs: () => [soaMsg(1).add(name(['www'], Q), TXT, 60, [1, 0x41], 3).build()], why: /^message 1, record 2: www\.Example\.COM\. TXT is of class CH; only IN/ },
      { name: 'a meta type in the zone', msgs: () => [soaMsg(1).add(name([], Q), 250, 0, [0]).build()], why: /record 2: Example\.COM\. has type TSIG, which cannot be zone data/ },
      { name: 'an SOA below the origin', msgs: () => [soaMsg(1).add(name(['child'], Q), SOA, 60, soaRdata(1)).build()], why: /record 2: an SOA record at child\.Example\.COM\., below the origin/ },
      { name: 'a closing SOA of another serial', msgs: () => [soaMsg(1).add(name(['www'], Q), A, 60, [1, 2, 3, 4]).add(name([], Q), SOA, 3600, soaRdata(2)).build()], why: /record 3: the closing SOA has serial 2, the first had 1/ },
      { name: 'a record after the closing SOA, in the same message', msgs: () => [soaMsg(1).add(name(['www'], Q), A, 60, [1, 2, 3, 4]).add(name([], Q), SOA, 3600, soaRdata(1)).add(name(['late'], Q), A, 60, [1, 2, 3, 4]).build()], why: /^message 1, record 4: a record after the closing SOA \(RFC 5936 §2\.2\)/ },
      { name: 'a message after the closing SOA', msgs: () => [soaMsg(1).add(name([], Q), SOA, 3600, soaRdata(1)).build(), soaMsg(1).build()], why: /^message 2: a message after the transfer ended/ },
      { name: 'a message cut short inside a record', msgs: () => [soaMsg(1).add(name(['www'], Q), A, 60, [1, 2, 3, 4]).build().subarray(0, -3)], why: /^message 1, record 2: the RDATA \(4 octets\) runs past the end of the message \(cut short\?\)/ },
      { name: 'a message cut short before a record', msgs: () => { const m = soaMsg(1).build(); m[7] = 2; return [m]; }, why: /^message 1, record 2: the message ends before this record/ },
      { name: 'a compression pointer forwards (a loop, or garbage)', msgs: () => [soaMsg(1).add([0xc0, 0xff], A, 60, [1, 2, 3, 4]).build()], why: /record 2: the owner name does not parse/ },
      { name: 'an MX whose exchange does not fit its RDLENGTH', msgs: () => [soaMsg(1).add(name(['m'], Q), MX, 60, [0, 10, 3, 0x61]).build()], why: /record 2: the RDATA of m\.Example\.COM\. MX holds a name that does not parse/ },
      { name: 'an SOA with octets past its last field', msgs: () => [new Msg(ID).add(name([], Q), SOA, 60, [...soaRdata(1), 0]).build()], why: /record 1: the RDATA of Example\.COM\. SOA has 1 octets past its last field/ },
      {
        name: 'a SIG whose signer, decompressed, takes the RDATA past 65535 octets',
        msgs: () => {
          const long: Label[] = ['x'.repeat(60), 'x'.repeat(60), 'x'.repeat(60), 'y'.repeat(50)];
          const m = soaMsg(1);
          const at = m.at;
          m.add(name(long, Q), A, 60, [1, 2, 3, 4]);
          return [m.add(name([], at), 24, 60, [...new Array<number>(18).fill(0), 0xc0 | (at >> 8), at & 0xff, ...new Array<number>(65515).fill(7)]).build()];
        },
        why: /record 3: the RDATA of x{60}\.x{60}\.x{60}\.y{50}\.Example\.COM\. SIG is longer than 65535 octets once decompressed/,
      },
      { name: 'trailing octets after the last record', msgs: () => [Uint8Array.from([...soaMsg(1).build(), 0, 0])], why: /^message 1: 2 octets after the last record/ },
      { name: 'more records than the limit', msgs: () => [soaMsg(1).add(name(['a'], Q), A, 60, [1, 2, 3, 4]).add(name(['b'], Q), A, 60, [1, 2, 3, 4]).build()], limits: { maxRecords: 2, maxBytes: 1e6 }, why: /^message 1, record 3: more than 2 records, the limit for one transfer/ },
      { name: 'more octets than the limit', msgs: () => [soaMsg(1).add(name(['a'], Q), TXT, 60, [200, ...new Array<number>(200).fill(0x41)]).build()], limits: { maxRecords: 100, maxBytes: 200 }, why: /^message 1, record 2: more than 200 octets of records/ },
      {
        name: 'IXFR: the changes do not start at our serial',
        query: ixfrQuery(1),
        msgs: () => [soaMsg(3, { qtype: IXFR }).add(name([], Q), SOA, 3600, soaRdata(2)).build()],
        why: /record 2: the changes start at serial 2, but we hold serial 1/,
      },
      {
        name: 'IXFR: a broken chain (1→2, then 4→3)',
        query: ixfrQuery(1),
        msgs: () => [soaMsg(3, { qtype: IXFR }).add(name([], Q), SOA, 3600, soaRdata(1)).add(name([], Q), SOA, 3600, soaRdata(2)).add(name([], Q), SOA, 3600, soaRdata(4)).build()],
        why: /record 4: the changes do not chain: one ends at serial 2, the next starts at 4/,
      },
      {
        name: 'IXFR: a version that goes back (RFC 1982)',
        query: ixfrQuery(5),
        msgs: () => [soaMsg(6, { qtype: IXFR }).add(name([], Q), SOA, 3600, soaRdata(5)).add(name([], Q), SOA, 3600, soaRdata(4)).build()],
        why: /record 3: a change from serial 5 to 4, which is not newer/,
      },
      {
        name: 'IXFR: a record after the final SOA',
        query: ixfrQuery(1),
        msgs: () => [soaMsg(2, { qtype: IXFR }).add(name([], Q), SOA, 3600, soaRdata(1)).add(name([], Q), SOA, 3600, soaRdata(2)).add(name([], Q), SOA, 3600, soaRdata(2)).add(name(['x'], Q), A, 1, [1, 1, 1, 1]).build()],
        why: /record 5: a record after the closing SOA/,
      },
      { name: 'an extended RCODE in the OPT record', msgs: () => [soaMsg(1).additional([0, ...u16(41), ...u16(1232), 1, 0, 0, 0, 0, 0]).build()], why: /^message 1: the primary answered extended RCODE 16 \(BADVERS/ },
    ];
    for (const c of cases) {
      it(c.name, () => {
        const err = failure(c.query ?? axfrQuery, c.msgs(), c.limits);
        expect(err.why).to.match(c.why);
        expect(err.rcode).to.equal(c.rcode);
      });
    }

    it('after a failure, every message is refused, saying why', () => {
      const reader = new TransferReader(axfrQuery);
      expect(reader.push(soaMsg(1, {}, 1).build())).to.have.property('kind', 'error');
      const again = reader.push(soaMsg(1).build());
      expect(again).to.deep.equal({ kind: 'error', why: "message 2: the transfer already failed: message 1: ID 1, the query's was 18975 (RFC 5936 §2.2.1)" });
      expect(reader.describeProgress()).to.equal('after 2 messages (0 records), failed');
    });

    it('a stream that stops early: where it stopped', () => {
      const reader = new TransferReader(axfrQuery);
      expect(reader.describeProgress()).to.equal('before the first message');
      reader.push(soaMsg(1).add(name(['www'], Q), A, 60, [1, 2, 3, 4]).build());
      reader.push(new Msg(ID, { question: false }).add(name(['www', ...ORIGIN_Q]), A, 60, [1, 2, 3, 5]).build());
      expect(reader.describeProgress()).to.equal('after 2 messages (3 records), before the closing SOA');
    });
  });

  describe('damaged messages never throw (seeded mutations of real-looking ones)', () => {
    /** mulberry32: the same mutations every run. */
    function random(seed: number): () => number {
      let a = seed >>> 0;
      return () => {
        a = (a + 0x6d2b79f5) >>> 0;
        let t = a;
        t = Math.imul(t ^ (t >>> 15), t | 1);
        t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
        return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
      };
    }
    /** A message with 1–4 octets changed, or cut short. */
    function mutate(msg: Uint8Array, next: () => number): Uint8Array {
      if (next() < 0.2) return msg.slice(0, Math.floor(next() * msg.length));
      const out = msg.slice();
      for (let k = 1 + Math.floor(next() * 4); k > 0; k--) out[Math.floor(next() * out.length)] = Math.floor(next() * 256);
      return out;
    }

    it('5000 damaged transfers and SOA replies: every outcome a value', () => {
      const next = random(15);
      const ixfr = new Msg(ID, { qtype: IXFR }).add(name([], Q), SOA, 3600, soaRdata(3)).add(name([], Q), SOA, 3600, soaRdata(1));
      ixfr.add(name(['mx'], Q), MX, 60, [0, 5, ...name(['mail'], Q)]).add(name([], Q), SOA, 3600, soaRdata(3));
      ixfr.add(name(['srv'], Q), SRV, 60, [0, 1, 0, 2, 0, 3, ...name(['t'], Q)]).add(name([], Q), SOA, 3600, soaRdata(3));
      const axfr = new Msg(ID).add(name([], Q), SOA, 3600, soaRdata(3)).add(name(['n'], Q), NAPTR, 60, [0, 1, 0, 2, 1, 0x75, 0, 0, ...name(['r'], Q)]);
      axfr.add(name(['rp'], Q), RP, 60, [...name(['a'], Q), ...name(['b'], Q)]).add(name([], Q), SOA, 3600, soaRdata(3));
      const soaOnly = new Msg(ID, { qtype: SOA }).add(name([], Q), SOA, 3600, soaRdata(3)).build();
      const kinds = new Set<string>();
      for (let i = 0; i < 5000; i++) {
        const [query, msg] = i % 2 === 0 ? [ixfrQuery(1), ixfr.build()] : [axfrQuery, axfr.build()];
        const step = new TransferReader(query).push(mutate(msg, next));
        kinds.add(step.kind);
        if (step.kind === 'error') expect(step.why).to.match(/^message 1[:,]/);
        if (step.kind === 'done') {
          // What a completed transfer holds is well-formed uncompressed records.
          const r = step.result;
          const regions = r.kind === 'axfr' ? [r.soa, r.records] : r.kind === 'ixfr' ? r.versions.flatMap((v) => [v.oldSoa, v.deleted, v.newSoa, v.added]) : [r.soa];
          for (const region of regions) expect(wireLines(region).length).to.be.at.most(region.length);
        }
        const soaStep = parseSoaReply(mutate(soaOnly, next), { origin: ORIGIN, id: ID });
        expect(['ok', 'truncated', 'other', 'error']).to.include(soaStep.kind);
      }
      // The mutations reach past the header: some transfers still complete, most fail.
      expect(kinds.has('error') && kinds.has('done')).to.equal(true);
    });
  });

  describe('the reply to an SOA query', () => {
    const soaReply = (opts: ConstructorParameters<typeof Msg>[1] = {}, id = ID): Msg => new Msg(id, { qtype: SOA, ...opts });
    const query = { origin: ORIGIN, id: ID };

    it('the SOA, decompressed (other answer records, and the additional section, are passed over)', () => {
      const m = soaReply().add(name([], Q), 46, 3600, [0, 6, 8, 2]).add(name([], Q), SOA, 3600, soaRdata(2024010101));
      m.additional([...name([], Q), ...u16(NS), ...u16(1), ...u32(1), ...u16(2), 0xc0, Q]);
      const r = parseSoaReply(m.build(), query);
      if (r.kind !== 'ok') expect.fail(JSON.stringify(r));
      expect(r.serial).to.equal(2024010101);
      expect(hex(r.soa)).to.equal(hex(soa(2024010101)));
    });

    const cases: { name: string; msg: () => Uint8Array; kind: string; why?: RegExp }[] = [
      { name: 'TC: ask over TCP', msg: () => soaReply({ flags: 0x8600 }).build(), kind: 'truncated' },
      { name: 'another ID: not ours', msg: () => soaReply({}, ID ^ 1).add(name([], Q), SOA, 1, soaRdata(1)).build(), kind: 'other', why: /^ID 18974, the query's was 18975/ },
      { name: 'another question: not ours', msg: () => soaReply({ qname: name(['example', 'net']) }).add(name([], Q), SOA, 1, soaRdata(1)).build(), kind: 'other', why: /the question is example\.net\. IN SOA/ },
      { name: 'a query, not a reply', msg: () => soaReply({ flags: 0 }).build(), kind: 'other', why: /QR clear/ },
      { name: 'REFUSED', msg: () => soaReply({ flags: 0x8405 }).build(), kind: 'error', why: /^the primary answered REFUSED/ },
      { name: 'NOTAUTH without the question (NSD leaves it out of TSIG errors)', msg: () => soaReply({ flags: 0x8009, question: false }).build(), kind: 'error', why: /^the primary answered NOTAUTH/ },
      { name: 'NOERROR without the question: not ours', msg: () => soaReply({ question: false }).build(), kind: 'other', why: /^0 questions/ },
      { name: 'not authoritative', msg: () => soaReply({ flags: 0x8000 }).add(name([], Q), SOA, 1, soaRdata(1)).build(), kind: 'error', why: /not authoritative \(AA clear\)/ },
      { name: 'no SOA in the answer', msg: () => soaReply().add(name(['www'], Q), A, 1, [1, 2, 3, 4]).build(), kind: 'error', why: /^the answer holds no SOA record for example\.com\./ },
      { name: 'an SOA of another name only', msg: () => soaReply().add(name(['sub'], Q), SOA, 1, soaRdata(1)).build(), kind: 'error', why: /no SOA record for example\.com\./ },
      { name: 'a reply cut short', msg: () => soaReply().add(name([], Q), SOA, 1, soaRdata(1)).build().subarray(0, -5), kind: 'error', why: /^answer record 1: the RDATA \(\d+ octets\) runs past the end/ },
    ];
    for (const c of cases) {
      it(c.name, () => {
        const r = parseSoaReply(c.msg(), query);
        expect(r.kind).to.equal(c.kind);
        if (c.why) expect((r as { why: string }).why).to.match(c.why);
      });
    }
  });
});
