/** The zone image: what compileZone() writes and ZoneImage reads back (order, empty non-terminals, flags, RRsets, integrity). */

import { expect } from 'chai';
import { compileZone, compileZoneParts, joinImage } from '../../../src/zone/image/compile.js';
import { H, HEADER_BYTES, imageChecksum, nameHash, NODE } from '../../../src/zone/image/format.js';
import { ImageError, ZoneImage } from '../../../src/zone/image/image.js';
import { nameKey, nameToWire } from '../../../src/zone/names.js';
import { text, wire } from '../auth/helpers.js';
import { load, loadBody, ok } from './helpers.js';
import { loadZoneFile } from '../../../src/zone/parse/load.js';
import { ROOT } from '../../helpers/server.js';

function compile(body: string): ZoneImage {
  const zone = ok(loadBody(body));
  return new ZoneImage(compileZone(zone, { origin: 'example.com.', source: 'test' }), { verify: true });
}

function find(img: ZoneImage, name: string): number {
  const w = wire(name.toLowerCase());
  return img.find(w, 0, w.length);
}

const BODY = [
  'Www A 192.0.2.10',
  'www TXT "hello"',
  'www RRSIG A 13 3 60 20300101000000 20200101000000 1 example.com. AAAA',
  'a.b.c A 192.0.2.2',
  '*.wild TXT "any"',
  'sub NS ns.sub',
  'ns.sub A 192.0.2.53',
  'alias CNAME www',
  'old DNAME example.net.',
  'z A 192.0.2.26',
  '0 A 192.0.2.48',
].join('\n') + '\n';

describe('zone image', () => {
  const img = compile(BODY);

  it('numbers nodes in canonical order (RFC 4034 §6.1), the apex first, empty non-terminals included', () => {
    const names: string[] = [];
    for (let n = 0; n < img.nodeCount; n++) names.push(text(img.key(n)));
    expect(names).to.deep.equal([
      'example.com.',
      '0.example.com.',
      'alias.example.com.',
      'c.example.com.',
      'b.c.example.com.',
      'a.b.c.example.com.',
      'ns1.example.com.',
      'old.example.com.',
      'sub.example.com.',
      'ns.sub.example.com.',
      'wild.example.com.',
      '*.wild.example.com.',
      'www.example.com.',
      'z.example.com.',
    ]);
  });

  it('finds every node through the hash index, and nothing else', () => {
    for (let n = 0; n < img.nodeCount; n++) {
      const key = img.key(n);
      expect(img.find(key, 0, key.length)).to.equal(n);
    }
    expect(find(img, 'nope.example.com.')).to.equal(-1);
    expect(find(img, 'example.org.')).to.equal(-1);
    const upper = wire('WWW.example.com.');
    expect(img.find(upper, 0, upper.length)).to.equal(-1); // the key is lower case; callers fold first
  });

  it('finds every node of a 20,000-name zone through its hash index (65,536 slots, collisions and wrapped probes among them)', () => {
    const lines: string[] = [];
    for (let k = 0; k < 10_000; k++) lines.push(`h${k} A 192.0.2.${k % 250}`, `x${k}.sub${k % 97} TXT "t"`);
    const big = compile(lines.join('\n') + '\n');
    expect(big.nodeCount).to.be.greaterThan(20_000);
    for (let n = 0; n < big.nodeCount; n++) {
      const key = big.key(n);
      expect(big.find(key, 0, key.length)).to.equal(n);
    }
    expect(find(big, 'h10000.example.com.')).to.equal(-1);
    expect(outOfOrder(big)).to.equal(null);
  });

  it('keeps the owner case of the file beside the lower-cased key', () => {
    const n = find(img, 'www.example.com.');
    expect(text(img.owner(n))).to.equal('Www.example.com.');
    expect(text(img.key(n))).to.equal('www.example.com.');
  });

  it('links parents and sets the flags lookup needs', () => {
    const flags = (name: string): number => img.nodeFlags(find(img, name));
    expect(img.parent(0)).to.equal(-1);
    expect(flags('example.com.') & NODE.apex).to.equal(NODE.apex);
    expect(img.parent(find(img, 'a.b.c.example.com.'))).to.equal(find(img, 'b.c.example.com.'));
    expect(flags('b.c.example.com.')).to.equal(NODE.emptyNonTerminal);
    expect(flags('c.example.com.')).to.equal(NODE.emptyNonTerminal);
    expect(flags('wild.example.com.')).to.equal(NODE.emptyNonTerminal | NODE.wildcardChild);
    expect(flags('*.wild.example.com.')).to.equal(NODE.wildcard);
    expect(flags('sub.example.com.')).to.equal(NODE.cut);
    expect(flags('ns.sub.example.com.')).to.equal(NODE.belowCut);
    expect(flags('alias.example.com.')).to.equal(NODE.cname);
    expect(flags('old.example.com.')).to.equal(NODE.dname);
    expect(flags('www.example.com.')).to.equal(0);
  });

  it('keeps RRsets in file order with wire RDATA, RRSIGs as their own set per covered type', () => {
    const n = find(img, 'www.example.com.');
    expect(img.setCount(n)).to.equal(3);
    const a = img.rrset(n, 1);
    expect(img.setType(a)).to.equal(1);
    expect(img.setTtl(a)).to.equal(3600);
    expect(img.rdatas(a).map((r) => [...r])).to.deep.equal([[192, 0, 2, 10]]);
    const txt = img.rrset(n, 16);
    expect(img.rdatas(txt).map((r) => Buffer.from(r).toString('latin1'))).to.deep.equal(['\u0005hello']);
    const sig = img.sigs(n, 1);
    expect(img.setType(sig)).to.equal(46);
    expect(img.setCovered(sig)).to.equal(1);
    expect(img.sigs(n, 16)).to.equal(-1);
    expect(img.rrset(n, 28)).to.equal(-1);
    // RDLENGTH precedes each record, big-endian as on the wire.
    const at = img.setRdataAt(a);
    expect([...img.bytes.subarray(at, at + 6)]).to.deep.equal([0, 4, 192, 0, 2, 10]);
    expect(img.setRdataBytes(a)).to.equal(6);
  });

  it('writes RDATA names uncompressed, in the case of the file', () => {
    const n = find(img, 'alias.example.com.');
    expect(text(img.rdatas(img.rrset(n, 5))[0]!)).to.equal('www.example.com.');
  });

  it('carries the serial, counts and meta in the header', () => {
    expect(img.serial).to.equal(1);
    expect(img.recordCount).to.equal(14);
    expect(img.meta.origin).to.equal('example.com.');
    expect(img.meta.source).to.equal('test');
    expect(img.soaSet()).to.equal(img.rrset(0, 6));
  });

  it('hashes names with the one function lookups use', () => {
    const w = wire('www.example.com.');
    const n = img.find(w, 0, w.length);
    expect(img.find(w, 0, w.length, nameHash(w, 0, w.length))).to.equal(n);
  });

  describe('refuses octets that are not a whole, intact image', () => {
    const good = compileZone(ok(loadBody(BODY)), { origin: 'example.com.', source: 'test' });
    const rdataAt = new DataView(good.buffer).getUint32(H.rdataOff, true);
    const copy = (): Uint8Array => {
      const c = new Uint8Array(new ArrayBuffer(good.length));
      c.set(good);
      return c;
    };
    const cases: [string, () => Uint8Array, RegExp][] = [
      ['truncated', () => copy().subarray(0, good.length - 8), /truncated/],
      ['shorter than the header', () => copy().subarray(0, 64), /header/],
      ['bad magic', () => { const c = copy(); c[0] = 0x78; return c; }, /bad magic/],
      ['another version', () => { const c = copy(); new DataView(c.buffer).setUint32(H.version, 99, true); return c; }, /version 99/],
      ['a flipped octet in the rdata', () => { const c = copy(); c[rdataAt + 3]! ^= 0x55; return c; }, /checksum/],
      ['a flipped octet in the node table', () => { const c = copy(); c[H.checksum + 200]! ^= 1; return c; }, /checksum/],
    ];
    for (const [what, make, message] of cases) {
      it(what, () => {
        expect(() => new ZoneImage(make(), { verify: true })).to.throw(ImageError, message);
      });
    }

    it('a flipped octet passes without verify (workers trust what the store verified) but not with it', () => {
      const c = copy();
      c[rdataAt + 3]! ^= 0x55;
      expect(() => new ZoneImage(c)).not.to.throw();
      expect(() => new ZoneImage(c, { verify: true })).to.throw(ImageError, /checksum/);
    });
  });

  it('refuses a name that is not at or below the apex, even one whose last octets spell the apex', () => {
    const zone = ok(loadBody(BODY));
    // `\007example.com` ends in the octets 07 "example" 03 "com" 00, the apex's wire form, but not on a label's start.
    for (const name of ['other.net', '\\007example.com', 'zz.\\007example.com', 'com']) {
      const nodes = new Map(zone.nodes);
      nodes.set(name, [{ name, type: 'A', class: 'IN', ttl: 300, data: '192.0.2.9' }]);
      expect(() => compileZone({ ...zone, nodes }, { origin: 'example.com.', source: 'x' }), name).to.throw(/is not below the apex/);
    }
  });

  it('compiles the same zone to the same octets apart from the build time', () => {
    const zone = ok(loadBody(BODY));
    const a = new ZoneImage(compileZone(zone, { origin: 'example.com.', source: 'x' }));
    const b = new ZoneImage(compileZone(zone, { origin: 'example.com.', source: 'x' }));
    const metaOff = new DataView(a.bytes.buffer).getUint32(H.metaOff, true);
    expect(Buffer.from(a.bytes.subarray(H.checksum + 4, metaOff)).equals(Buffer.from(b.bytes.subarray(H.checksum + 4, metaOff)))).to.equal(true);
  });
});

/**
 * Whether the image's names and RDATA are laid out in node order, each
 * region front to back with nothing between: node n's name entry (length,
 * lower-cased wire, wire as written) right after node n-1's, the NSEC3 nodes'
 * after the main ones', and RRset s's records right after RRset s-1's (a
 * node's sets are consecutive and nodes' sets follow node order). Says the
 * first place it is not so, or null.
 */
function outOfOrder(img: ZoneImage): string | null {
  const u32 = (off: number): number => new DataView(img.bytes.buffer, img.bytes.byteOffset).getUint32(off, true);
  let name = u32(H.namesOff);
  for (let n = 0; n < img.nodeCount + img.nsec3Count; n++) {
    if (img.keyAt(n) - 1 !== name) return `node ${n} (${text(img.key(n))}): its name at ${img.keyAt(n) - 1}, not ${name}`;
    name += 1 + 2 * img.nameLength(n);
  }
  if (name !== u32(H.namesOff) + u32(H.namesBytes)) return `the names end at ${name}, the region at ${u32(H.namesOff) + u32(H.namesBytes)}`;
  let rdata = u32(H.rdataOff);
  for (let s = 0; s < img.rrsetCount; s++) {
    if (img.setRdataAt(s) !== rdata) return `RRset ${s}: its records at ${img.setRdataAt(s)}, not ${rdata}`;
    rdata += img.setRdataBytes(s);
  }
  if (rdata !== u32(H.rdataOff) + u32(H.rdataBytes)) return `the RDATA ends at ${rdata}, the region at ${u32(H.rdataOff) + u32(H.rdataBytes)}`;
  return null;
}

describe('zone image: names and RDATA in node order (what an AXFR reads front to back)', () => {
  // Zone-file order far from canonical order: names out of order, a name's records apart in the file.
  const SCATTERED = ['z A 192.0.2.26', 'b.a TXT "late"', 'www A 192.0.2.10', 'a A 192.0.2.1', 'www TXT "back again"', 'Mid MX 10 www', 'a AAAA 2001:db8::1', 'z TXT "z"'].join('\n') + '\n';

  it('a zone written out of canonical order', () => {
    const img = compile(SCATTERED);
    expect(outOfOrder(img)).to.equal(null);
    // The records are the file's, each where its node and set say.
    const www = find(img, 'www.example.com.');
    const txt = img.rrset(www, 16);
    expect(Buffer.from(img.rdatas(txt)[0]!).toString('latin1')).to.equal('\x0aback again');
  });

  it('the zone the other tests use (empty non-terminals, a cut, glue, a wildcard, RRSIGs)', () => {
    expect(outOfOrder(img0)).to.equal(null);
  });

  it('a zone signed with NSEC3: the NSEC3 nodes after the main ones, in order too', () => {
    const loaded = loadZoneFile('example.com.', `${ROOT}test/fixtures/dnssec/signed-nsec3.zone`);
    if (!loaded.ok) expect.fail(JSON.stringify(loaded.errors.slice(0, 3)));
    const img = new ZoneImage(compileZone(loaded.zone, { origin: 'example.com.', source: 'test' }), { verify: true });
    expect(img.nsec3Count).to.be.greaterThan(3);
    expect(outOfOrder(img)).to.equal(null);
  });
});

const img0 = compile(BODY);

describe('zone image in pieces (compileZoneParts: what the builder writes with one writev)', () => {
  const zone = ok(loadBody(BODY));

  it('its pieces are the image: together as long, the checksum in the header verifies, the same octets as compileZone but for the build time', () => {
    const parts = compileZoneParts(zone, { origin: 'example.com.', source: 'x' });
    expect(parts.pieces.length).to.be.greaterThan(1);
    expect(parts.pieces.reduce((n, p) => n + p.length, 0)).to.equal(parts.length);
    const joined = joinImage(parts);
    const img = new ZoneImage(joined, { verify: true });
    const whole = compileZone(zone, { origin: 'example.com.', source: 'x' });
    expect(joined.length).to.equal(whole.length);
    const metaOff = new DataView(img.bytes.buffer).getUint32(H.metaOff, true);
    expect(Buffer.from(joined.subarray(H.checksum + 4, metaOff)).equals(Buffer.from(whole.subarray(H.checksum + 4, metaOff)))).to.equal(true);
  });

  it('imageChecksum over pieces equals the checksum over the joined octets, however they are cut', () => {
    const bytes = joinImage(compileZoneParts(zone, { origin: 'example.com.', source: 'x' }));
    const whole = imageChecksum(bytes);
    expect(whole).to.equal(new DataView(bytes.buffer).getUint32(H.checksum, true));
    for (const cuts of [[H.checksum + 4], [200, 201, 1000], [HEADER_BYTES, bytes.length - 1], [64, 65, 66, 67, 3000]]) {
      const pieces: Uint8Array[] = [];
      let at = 0;
      for (const c of [...cuts, bytes.length]) {
        pieces.push(bytes.subarray(at, c));
        at = c;
      }
      expect(imageChecksum(pieces), cuts.join(',')).to.equal(whole);
    }
  });
});

describe('zone image: names with any octet (RFC 4343) and the root zone', () => {
  it('keeps escaped dots, spaces and binary octets in labels, folding only ASCII letters', () => {
    const zone = ok(loadBody(['first\\.Last A 192.0.2.1', 'a\\032B A 192.0.2.2', '\\200\\255x A 192.0.2.3', 'X\\000 A 192.0.2.4'].join('\n') + '\n'));
    const img = new ZoneImage(compileZone(zone, { origin: 'example.com.', source: 't' }), { verify: true });
    const tail = [7, ...Buffer.from('example'), 3, ...Buffer.from('com'), 0];
    const cases: [number[], number[]][] = [
      [[10, ...Buffer.from('first.last')], [10, ...Buffer.from('first.Last')]],
      [[3, 0x61, 0x20, 0x62], [3, 0x61, 0x20, 0x42]],
      [[3, 200, 255, 0x78], [3, 200, 255, 0x78]],
      [[2, 0x78, 0x00], [2, 0x58, 0x00]],
    ];
    for (const [key, owner] of cases) {
      const w = Uint8Array.from([...key, ...tail]);
      const n = img.find(w, 0, w.length);
      expect(n, JSON.stringify(key)).to.be.greaterThan(0);
      expect([...img.owner(n)]).to.deep.equal([...owner, ...tail]);
    }
    // Canonical order compares octets: 'a b' < 'first.last' < 'ns1' < 'x\000' < octet 200
    const order: number[] = [];
    for (let n = 1; n < img.nodeCount; n++) order.push(img.key(n)[1]!);
    expect(order).to.deep.equal([0x61, 0x66, 0x6e, 0x78, 200]);
  });

  it('writes every owner as nameToWire does, lower-cased and as written, plain names and escaped ones alike', () => {
    // compileZone writes plain names (printable ASCII, no escapes) itself and hands the others to the
    // general encoder: both must give the octets nameToWire gives, for the key and for the owner.
    const owners = ['Mixed.Case', 'www', 'a-b_c.D9', '*', '*.Wild', '_sip._tcp.SRV', 'x.y.z.w.v', 'first\\.Last', 'a\\032B', '\\200x', '\\065b', 'Z'];
    const zone = ok(loadBody(owners.map((o, i) => `${o} A 192.0.2.${i + 1}`).join('\n') + '\n'));
    const img = new ZoneImage(compileZone(zone, { origin: 'example.com.', source: 't' }), { verify: true });
    let checked = 0;
    for (const [key, records] of zone.nodes) {
      const want = nameToWire(records[0]!.name);
      const lower = nameToWire(nameKey(key));
      const n = img.find(lower, 0, lower.length);
      expect(n, key).to.be.at.least(0);
      expect([...img.key(n)], key).to.deep.equal([...lower]);
      expect([...img.owner(n)], key).to.deep.equal([...want]);
      checked++;
    }
    expect(checked).to.equal(owners.length + 2); // the apex and ns1 too
  });

  it('compiles the root zone: the apex is the one-octet root name, TLDs are its children', () => {
    const text = [
      '$TTL 86400',
      '. SOA a.root-servers.net. nstld.verisign-grs.com. 1 1800 900 604800 86400',
      '. NS a.root-servers.net.',
      'a.root-servers.net. A 198.41.0.4',
      'com. NS a.gtld-servers.net.',
      'a.gtld-servers.net. A 192.5.6.30',
      'arpa. NS a.root-servers.net.',
    ].join('\n') + '\n';
    const zone = ok(load({ 'root.zone': text }, '.'));
    const img = new ZoneImage(compileZone(zone, { origin: '.', source: 't' }), { verify: true });
    const names: string[] = [];
    for (let n = 0; n < img.nodeCount; n++) names.push(text2(img.key(n)));
    expect(names).to.deep.equal(['.', 'arpa.', 'com.', 'gtld-servers.net.', 'a.gtld-servers.net.', 'net.', 'root-servers.net.', 'a.root-servers.net.'].sort(canonical));
    expect([...img.key(0)]).to.deep.equal([0]);
    expect(img.nodeFlags(0) & NODE.apex).to.equal(NODE.apex);
    expect(img.nodeFlags(find(img, 'com.'))).to.equal(NODE.cut);
    expect(img.nodeFlags(find(img, 'a.gtld-servers.net.'))).to.equal(0);
    expect(img.nodeFlags(find(img, 'net.'))).to.equal(NODE.emptyNonTerminal);
    expect(img.parent(find(img, 'com.'))).to.equal(0);
  });
});

/** Presentation form, the root as ".". */
function text2(w: Uint8Array): string {
  return w[0] === 0 ? '.' : text(w);
}

/** RFC 4034 §6.1 order of plain names, for expectations. */
function canonical(a: string, b: string): number {
  const la = a.split('.').filter(Boolean).reverse();
  const lb = b.split('.').filter(Boolean).reverse();
  for (let i = 0; i < Math.min(la.length, lb.length); i++) if (la[i] !== lb[i]) return la[i]! < lb[i]! ? -1 : 1;
  return la.length - lb.length;
}
