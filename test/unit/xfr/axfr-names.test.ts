import { expect } from 'chai';
import { axfrStream, TransferStream, type RecordCursor } from '../../../src/xfr/axfr.js';
import { TransferReader } from '../../../src/xfr/incoming.js';
import type { MessageWriter } from '../../../src/xfr/packer.js';
import type { ZoneImage } from '../../../src/zone/image/image.js';
import { head, image, recordsOf, wireLines } from './helpers.js';

/** An NSEC3 owner label (base32hex, 32 characters). */
const H = (c: string): string => c.repeat(32);

/** A zone whose names test owner compression by node: deep names, empty non-terminals, any octet, wildcards, NSEC3 owners one and two labels below the apex, and enough records for many messages. */
const TEXT =
  head(7) +
  'a.b.c.d A 192.0.2.10\n' +
  'x.B.c.d A 192.0.2.11\n' +
  'B.c.d TXT "parent after its children in the file"\n' +
  'MiXeD A 192.0.2.1\nmixed AAAA 2001:db8::1\nsub.MiXeD A 192.0.2.3\n' +
  'odd\\032name A 192.0.2.2\na\\.b.sub TXT "a dot inside a label"\nnul\\000.sub A 192.0.2.4\n' +
  '*.wild TXT "w"\nx.*.wild A 192.0.2.5\n' +
  `${H('0')} NSEC3 1 0 0 - ${H('1')} A\n` +
  `${H('2')}.deeper NSEC3 1 0 0 - ${H('3')} A\n` +
  'alias CNAME a.b.c.d\nmx MX 10 MiXeD\n' +
  Array.from({ length: 1500 }, (_, i) => `h${i}.L${i % 7}.many A 192.0.${i >> 8}.${i & 255}\nh${i}.L${i % 7}.many TXT "${'t'.repeat(i % 50)}"\n`).join('');

/** The messages of an AXFR of `img`. */
function transfer(img: ZoneImage, cursor?: RecordCursor): Buffer[] {
  const question = Buffer.from([...img.originKey, 0, 252, 0, 1]);
  const options = { head: { id: 9, flags: 0, question }, opt: null, signer: null };
  const stream = cursor === undefined ? axfrStream(img, options) : new TransferStream(cursor, options);
  const out: Buffer[] = [];
  for (let m = stream.next(); m !== null; m = stream.next()) out.push(m);
  return out;
}

/** What a secondary reads from the messages (our reader: it decompresses every name and keeps its case). */
function received(img: ZoneImage, msgs: Buffer[]): { soa: Uint8Array; records: Uint8Array; count: number } {
  const reader = new TransferReader({ origin: img.originKey, qtype: 'axfr', id: 9 });
  let step = reader.push(msgs[0]!);
  for (const m of msgs.slice(1)) step = reader.push(m);
  if (step.kind !== 'done' || step.result.kind !== 'axfr') expect.fail(`the transfer did not complete: ${JSON.stringify(step)}`);
  return step.result;
}

/** Where a name at `m[at]` ends, with the pointer it ends in (its position and target), if any. */
function walkName(m: Uint8Array, at: number, found: [number, number][]): number {
  for (;;) {
    const l = m[at]!;
    if ((l & 0xc0) === 0xc0) {
      const target = ((l & 0x3f) << 8) | m[at + 1]!;
      expect(target, `the pointer at ${at} points forward`).to.be.below(at);
      found.push([at, target]);
      return at + 2;
    }
    if (l === 0) return at + 1;
    at += l + 1;
  }
}

/** Every compression pointer of a transfer message: [where, target], in owner names and in the RDATA names of the RFC 1035 types. */
function pointers(m: Uint8Array): [number, number][] {
  const found: [number, number][] = [];
  const u16 = (at: number): number => (m[at]! << 8) | m[at + 1]!;
  let at = 12;
  for (let q = u16(4); q > 0; q--) at = walkName(m, at, found) + 4;
  for (let r = u16(6); r > 0; r--) {
    at = walkName(m, at, found);
    const type = u16(at);
    const rdata = at + 10;
    at = rdata + u16(at + 8);
    if (type === 2 || type === 5 || type === 12) walkName(m, rdata, found);
    else if (type === 15) walkName(m, rdata + 2, found);
    else if (type === 6) walkName(m, walkName(m, rdata, found), found);
  }
  expect(at).to.equal(m.length);
  return found;
}

/** Every record of the image, its owner named in full (no node compression): what the writer did before it compressed by node. */
class PlainCursor implements RecordCursor {
  private readonly records: { node: number; set: number; at: number }[] = [];
  private next = 0;
  constructor(private readonly img: ZoneImage) {
    const soa = img.soaSet();
    const all = [{ node: 0, set: soa, at: img.setRdataAt(soa) }];
    for (let n = 0; n < img.nodeCount + img.nsec3Count; n++) {
      for (let s = img.firstSet(n); s < img.firstSet(n) + img.setCount(n); s++) {
        if (s === soa) continue;
        let at = img.setRdataAt(s);
        for (let r = 0; r < img.setSize(s); r++, at += 2 + ((img.bytes[at]! << 8) | img.bytes[at + 1]!)) all.push({ node: n, set: s, at });
      }
    }
    all.push(all[0]!);
    this.records = all;
  }
  fill(w: MessageWriter): boolean {
    const img = this.img;
    for (; this.next < this.records.length; this.next++) {
      const r = this.records[this.next]!;
      if (!w.add(img.bytes, img.ownerAt(r.node), img.setType(r.set), 1, img.setTtl(r.set), img.bytes, r.at)) return false;
    }
    return true;
  }
}

describe('AXFR owner names compressed by node (src/xfr/packer.ts addOwnedBy)', () => {
  for (const [what, text, origin] of [
    ['a zone with deep names, odd octets, wildcards and NSEC3 owners', TEXT, 'example.com.'],
    ['the root zone', '$ORIGIN .\n$TTL 86400\n. SOA a.root-servers.net. nstld.verisign-grs.com. 1 1800 900 604800 86400\n. NS a.root-servers.net.\ncom. NS a.gtld-servers.net.\nCOM. DS 1 8 2 ' + 'ab'.repeat(32) + '\nnet. NS a.gtld-servers.net.\na.gtld-servers.net. A 192.0.2.53\na.root-servers.net. A 198.41.0.4\n', '.'],
  ] as const) {
    it(`${what}: a secondary reads every record back, the SOA first and last`, () => {
      const img = image(text, origin);
      const msgs = transfer(img);
      if (origin !== '.') expect(msgs.length).to.be.greaterThan(3);
      const got = received(img, msgs);
      expect(got.count).to.equal(img.recordCount - 1);
      expect(wireLines(got.records).sort()).to.deep.equal(recordsOf(img));
      expect(wireLines(got.soa)).to.deep.equal(recordsOf(img, true).filter((l) => / 6 1 /.test(l)));
    });
  }

  it('a name is written in its own case up to where it points at an earlier one; never a pointer to a pointer', () => {
    const img = image(TEXT);
    const msgs = transfer(img);
    const reader = new TransferReader({ origin: img.originKey, qtype: 'axfr', id: 9 });
    let step = reader.push(msgs[0]!);
    for (const m of msgs.slice(1)) step = reader.push(m);
    if (step.kind !== 'done' || step.result.kind !== 'axfr') expect.fail('no transfer');
    const text = Buffer.from(step.result.records).toString('latin1');
    expect(text).to.include('\x05MiXeD\x07example\x03com\x00');
    expect(text).to.include('\x03sub\x05MiXeD');
    for (const m of msgs) for (const [at, target] of pointers(m)) expect(m[target]! & 0xc0, `the pointer at ${at} points at a pointer`).to.equal(0);
  });

  it('messages no larger than with each owner name compressed by its labels', () => {
    const img = image(TEXT);
    const byNode = transfer(img).reduce((n, m) => n + m.length, 0);
    const plain = transfer(img, new PlainCursor(img));
    expect(wireLines(received(img, plain).records).sort()).to.deep.equal(recordsOf(img));
    const byLabels = plain.reduce((n, m) => n + m.length, 0);
    expect(byNode).to.be.at.most(byLabels);
  });

  it('a name late in a full message is still a compression target: an RDATA name points at an owner written 450 names before (NSD remembers every name of a message)', () => {
    const text = head(3) + Array.from({ length: 500 }, (_, i) => `a${String(i).padStart(4, '0')} A 192.0.2.${i & 255}\n`).join('') + 'zz CNAME a0450\n';
    const img = image(text);
    const msgs = transfer(img);
    expect(msgs).to.have.length(1);
    const m = msgs[0]!;
    // The last record but the closing SOA is zz's CNAME: its RDATA is a pointer alone (RDLENGTH 2).
    const records: { type: number; rdlength: number }[] = [];
    let at = 12;
    at = walkName(m, at, []) + 4;
    for (let r = (m[6]! << 8) | m[7]!; r > 0; r--) {
      at = walkName(m, at, []);
      const type = (m[at]! << 8) | m[at + 1]!;
      const rdlength = (m[at + 8]! << 8) | m[at + 9]!;
      records.push({ type, rdlength });
      at += 10 + rdlength;
    }
    expect(records.at(-2)).to.deep.equal({ type: 5, rdlength: 2 });
  });
});
