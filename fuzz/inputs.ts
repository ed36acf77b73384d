/**
 * The inputs the fuzz runner tries, as fast-check arbitraries: seeds from the
 * corpus mutated (bit flips, interesting values, inserted and deleted runs,
 * compression pointers, splices of two seeds), DNS messages built field by
 * field and then mutated, TCP streams of such messages, and zone file text
 * mutated by lines and zone-file tokens. fast-check draws them and shrinks a
 * failing one.
 */

import fc from 'fast-check';
import dnsPacket from 'dns-packet';
import type { FuzzTarget } from './targets.js';

/** One mutation of a byte string; positions are taken modulo its length. */
type Mutation =
  | { op: 'flip'; at: number; bit: number }
  | { op: 'set'; at: number; value: number }
  | { op: 'set16'; at: number; value: number }
  | { op: 'insert'; at: number; bytes: Uint8Array }
  | { op: 'delete'; at: number; length: number }
  | { op: 'repeat'; at: number; length: number; times: number }
  | { op: 'pointer'; at: number; target: number }
  | { op: 'truncate'; at: number }
  | { op: 'splice'; at: number; from: number; other: number };

/** Octet values that sit at the edges of DNS fields: lengths, label types, pointer bits, counts. */
const INTERESTING_8 = [0, 1, 2, 0x3f, 0x40, 0x7f, 0x80, 0xc0, 0xc1, 0xfe, 0xff];
/** 16-bit ones: counts, types (OPT 41, RRSIG 46, NSEC3 50, ANY 255, AXFR 252), classes, sizes. */
const INTERESTING_16 = [0, 1, 2, 3, 5, 6, 12, 41, 46, 47, 50, 51, 63, 64, 252, 255, 256, 511, 512, 513, 1232, 4096, 0x7fff, 0x8000, 0xc00c, 0xfffe, 0xffff];

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ op: fc.constant('flip' as const), at: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }),
  fc.record({ op: fc.constant('set' as const), at: fc.nat(), value: fc.oneof(fc.constantFrom(...INTERESTING_8), fc.integer({ min: 0, max: 255 })) }),
  fc.record({ op: fc.constant('set16' as const), at: fc.nat(), value: fc.oneof(fc.constantFrom(...INTERESTING_16), fc.integer({ min: 0, max: 0xffff })) }),
  fc.record({ op: fc.constant('insert' as const), at: fc.nat(), bytes: fc.uint8Array({ minLength: 1, maxLength: 8 }) }),
  fc.record({ op: fc.constant('delete' as const), at: fc.nat(), length: fc.integer({ min: 1, max: 16 }) }),
  fc.record({ op: fc.constant('repeat' as const), at: fc.nat(), length: fc.integer({ min: 1, max: 32 }), times: fc.integer({ min: 1, max: 40 }) }),
  fc.record({ op: fc.constant('pointer' as const), at: fc.nat(), target: fc.integer({ min: 0, max: 0x3fff }) }),
  fc.record({ op: fc.constant('truncate' as const), at: fc.nat() }),
  fc.record({ op: fc.constant('splice' as const), at: fc.nat(), from: fc.nat(), other: fc.nat() }),
);

/** Applies mutations to a copy of `seed`; `others` are the seeds a splice takes a tail from. */
export function mutate(seed: Uint8Array, ops: readonly Mutation[], others: readonly Uint8Array[], maxLength: number): Buffer {
  let b = Buffer.from(seed);
  for (const m of ops) {
    const at = b.length === 0 ? 0 : m.at % b.length;
    switch (m.op) {
      case 'flip':
        if (b.length > 0) b[at] = b[at]! ^ (1 << m.bit);
        break;
      case 'set':
        if (b.length > 0) b[at] = m.value;
        break;
      case 'set16':
        if (b.length > 1) b.writeUInt16BE(m.value, Math.min(at, b.length - 2));
        break;
      case 'insert':
        b = Buffer.concat([b.subarray(0, at), m.bytes, b.subarray(at)]);
        break;
      case 'delete':
        b = Buffer.concat([b.subarray(0, at), b.subarray(at + m.length)]);
        break;
      case 'repeat': {
        const run = b.subarray(at, at + m.length);
        b = Buffer.concat([b.subarray(0, at), ...Array<Buffer>(m.times).fill(run), b.subarray(at)]);
        break;
      }
      case 'pointer':
        // A compression pointer (RFC 1035 §4.1.4) anywhere, pointing anywhere.
        if (b.length > 1) b.writeUInt16BE(0xc000 | m.target % Math.max(1, b.length), Math.min(at, b.length - 2));
        break;
      case 'truncate':
        b = b.subarray(0, at);
        break;
      case 'splice': {
        const other = others.length > 0 ? others[m.other % others.length]! : b;
        b = Buffer.concat([b.subarray(0, at), other.subarray(other.length === 0 ? 0 : m.from % other.length)]);
        break;
      }
    }
    if (b.length > maxLength) b = b.subarray(0, maxLength);
  }
  return Buffer.from(b);
}

/** Seeds with a few mutations each (most often few: a nearly valid input goes deepest). */
function mutatedSeeds(seeds: readonly Uint8Array[], maxLength: number, base?: fc.Arbitrary<Uint8Array>): fc.Arbitrary<Buffer> {
  const from = seeds.length === 0 ? (base ?? fc.uint8Array({ maxLength })) : base ? fc.oneof(fc.constantFrom(...seeds), base) : fc.constantFrom(...seeds);
  return fc.tuple(from, fc.array(mutation, { minLength: 0, maxLength: 6, size: 'small' })).map(([seed, ops]) => mutate(seed, ops, seeds, maxLength));
}

/** Labels: ordinary ones, the names of our zones, and odd ones (escaped octets, 63 octets, empty, wildcard). */
const label: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom('www', 'example', 'com', 'child', 'other', 'test', 'nsec', 'nsec3', 'escaped', 'wild', '*', 'dn', 'alias', 'chain1', 'external', 'big', 'huge', 'deleg', 'ns1', 'mail', 'secure', 'x', 'Www', 'ExAmPlE', 'id', 'server', 'version', 'bind', 'hostname'),
  fc.stringMatching(/^[a-z0-9-]{1,12}$/),
  fc.constantFrom('a'.repeat(63), '\\000', 'a\\.b', '\\255\\128', 'xn--nxasmq6b', '_tcp', '_443'),
);

/** Names under our zones and elsewhere. */
const name: fc.Arbitrary<string> = fc.oneof(
  fc.array(label, { minLength: 0, maxLength: 6 }).map((ls) => (ls.length === 0 ? '.' : ls.join('.'))),
  fc.tuple(fc.array(label, { maxLength: 3 }), fc.constantFrom('example.com', 'child.example.com', 'other.test', 'escaped.test', 'nsec.example', 'nsec3.example', 'example.net', '')).map(([ls, z]) => [...ls, z].filter((s) => s !== '').join('.') || '.'),
);

const TYPES = ['A', 'NS', 'CNAME', 'SOA', 'PTR', 'MX', 'TXT', 'AAAA', 'SRV', 'NAPTR', 'DS', 'RRSIG', 'NSEC', 'DNSKEY', 'NSEC3', 'NSEC3PARAM', 'TLSA', 'SVCB', 'HTTPS', 'CAA', 'ANY', 'AXFR', 'IXFR', 'OPT', 'DNAME', 'HINFO', 'SSHFP', 'SPF', 'NULL', 'TSIG'];

/** A DNS query built field by field: any flags, our names and others, every type, IN/CH/ANY/other classes, EDNS with options or not, extra records sometimes. */
const structuredQuery: fc.Arbitrary<Uint8Array> = fc
  .record({
    id: fc.integer({ min: 0, max: 0xffff }),
    flags: fc.oneof(fc.constant(0x0100), fc.integer({ min: 0, max: 0x7fff })),
    name,
    type: fc.oneof(fc.constantFrom(...TYPES), fc.integer({ min: 0, max: 0xffff }).map((n) => `TYPE${n}`)),
    klass: fc.oneof(fc.constantFrom('IN', 'CH', 'ANY', 'HS', 'NONE'), fc.integer({ min: 0, max: 0xffff }).map((n) => `CLASS${n}`)),
    edns: fc.option(
      fc.record({
        udp: fc.oneof(fc.constantFrom(0, 511, 512, 1232, 1400, 4096, 65535), fc.integer({ min: 0, max: 0xffff })),
        version: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 255 })),
        flags: fc.constantFrom(0, 0x8000, 0xffff),
        options: fc.array(fc.record({ code: fc.oneof(fc.constantFrom(3, 8, 10, 12, 15), fc.integer({ min: 0, max: 0xffff })), data: fc.uint8Array({ maxLength: 24 }) }), { maxLength: 3 }),
      }),
    ),
    extra: fc.option(fc.record({ section: fc.constantFrom('answers', 'authorities', 'additionals'), name, data: fc.ipV4() })),
  })
  .map((q) => {
    const packet = {
      type: 'query' as const,
      id: q.id,
      flags: q.flags,
      questions: [{ name: q.name, type: q.type as 'A', class: q.klass as 'IN' }],
      answers: [] as never[],
      authorities: [] as never[],
      additionals: [] as never[],
    };
    if (q.edns) packet.additionals.push({ type: 'OPT', name: '.', udpPayloadSize: q.edns.udp, extendedRcode: 0, ednsVersion: q.edns.version, flags: q.edns.flags, options: q.edns.options.map((o) => ({ code: o.code, data: Buffer.from(o.data) })) } as never);
    if (q.extra) packet[q.extra.section as 'answers'].push({ type: 'A', name: q.extra.name, ttl: 60, class: 'IN', data: q.extra.data } as never);
    try {
      return new Uint8Array(dnsPacket.encode(packet));
    } catch {
      // A field dns-packet cannot write (a name with an empty label, say): the header alone.
      return new Uint8Array(dnsPacket.encode({ type: 'query', id: q.id, flags: q.flags, questions: [] }));
    }
  });

/** A TCP stream: messages, each with its 2-octet length, sometimes a length that lies. */
function stream(messages: fc.Arbitrary<Uint8Array>): fc.Arbitrary<Buffer> {
  return fc.tuple(fc.array(messages, { minLength: 1, maxLength: 4 }), fc.option(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 0xffff })))).map(([msgs, lie]) => {
    const parts = msgs.map((m) => Buffer.concat([Buffer.from([m.length >> 8, m.length & 0xff]), m]));
    if (lie && parts.length > 0) parts[lie[0] % parts.length]!.writeUInt16BE(lie[1], 0);
    return Buffer.concat(parts);
  });
}

/** Tokens of zone files: directives, classes, types, RDATA shapes, escapes, parentheses, quotes, comments. */
const ZONE_TOKENS = [
  '$ORIGIN', '$TTL', '$INCLUDE', '$GENERATE', '$INCLUDE inc.zone', '$GENERATE 1-3 h$ A 192.0.2.$', '$GENERATE 1-2/1 ${+1,3,x} CNAME h${-1,2,o}', '@', '*', '.', 'IN', 'CH', 'CLASS1', 'TYPE1', 'TYPE65534', '\\#', '\\# 0', '\\# 4 c0000201',
  'A', 'AAAA', 'NS', 'CNAME', 'DNAME', 'SOA', 'MX', 'TXT', 'SRV', 'NAPTR', 'DS', 'DNSKEY', 'RRSIG', 'NSEC', 'NSEC3', 'NSEC3PARAM', 'TLSA', 'SVCB', 'HTTPS', 'CAA', 'LOC', 'SSHFP', 'HINFO', 'RP', 'AFSDB', 'APL', 'WKS', 'CERT', 'OPENPGPKEY', 'ZONEMD', 'CSYNC', 'URI', 'SMIMEA', 'NID', 'L32', 'L64', 'LP', 'EUI48', 'EUI64', 'KX', 'DHCID',
  '(', ')', '"', '"\\"', ';', '\\', '\\.', '\\000', '\\255', '\\9', '1w2d3h4m5s', '2147483647', '2147483648', '4294967295', '4294967296', '-1', '0', '65535', '65536', '192.0.2.1', '2001:db8::1', '::ffff:1.2.3.4', 'a'.repeat(63), 'a'.repeat(64), 'alpn=h2,h3', 'mandatory=alpn', 'key65535=x', 'ipv4hint=1.2.3.4', 'port=53', 'ech=AAAA',
  '52 22 23.000 N 97 44 25.000 W 264.00m', '0 issue "ca.example"', 'aabbccdd', 'AAECAw==', '=', '\t', ' ', '\n', '\r\n', '\n\t', '\u00e9', '\u0000',
];

/** Zone file text: the fixture files mutated by lines (deleted, repeated, swapped, spliced) and tokens, then perhaps by octets. */
function zoneText(seeds: readonly Uint8Array[], maxLength: number): fc.Arbitrary<Buffer> {
  const lineOp = fc.oneof(
    fc.record({ op: fc.constant('token' as const), line: fc.nat(), at: fc.nat(), token: fc.constantFrom(...ZONE_TOKENS) }),
    fc.record({ op: fc.constant('drop' as const), line: fc.nat() }),
    fc.record({ op: fc.constant('copy' as const), line: fc.nat(), to: fc.nat() }),
    fc.record({ op: fc.constant('word' as const), line: fc.nat(), word: fc.nat(), token: fc.constantFrom(...ZONE_TOKENS) }),
    fc.record({ op: fc.constant('graft' as const), line: fc.nat(), seed: fc.nat(), from: fc.nat() }),
  );
  const texts = seeds.map((s) => Buffer.from(s).toString('latin1'));
  const base = texts.length > 0 ? fc.constantFrom(...texts) : fc.constant('$TTL 300\n@ SOA ns hm 1 2 3 4 5\n@ NS ns\nns A 192.0.2.1\n');
  return fc.tuple(base, fc.array(lineOp, { minLength: 1, maxLength: 8, size: 'small' }), fc.array(mutation, { maxLength: 2, size: 'small' })).map(([text, ops, byteOps]) => {
    const lines = text.split('\n');
    for (const o of ops) {
      const i = o.line % Math.max(1, lines.length);
      const line = lines[i] ?? '';
      switch (o.op) {
        case 'token': {
          const at = o.at % (line.length + 1);
          lines[i] = `${line.slice(0, at)}${o.token}${line.slice(at)}`;
          break;
        }
        case 'drop':
          lines.splice(i, 1);
          break;
        case 'copy':
          lines.splice(o.to % (lines.length + 1), 0, line);
          break;
        case 'word': {
          const words = line.split(/(\s+)/);
          if (words.length > 0) words[(o.word % words.length) & ~1] = o.token;
          lines[i] = words.join('');
          break;
        }
        case 'graft': {
          const other = texts.length > 0 ? texts[o.seed % texts.length]!.split('\n') : [];
          if (other.length > 0) lines.splice(i, 0, other[o.from % other.length]!);
          break;
        }
      }
    }
    const out = Buffer.from(lines.join('\n'), 'latin1');
    return byteOps.length === 0 ? out.subarray(0, maxLength) : mutate(out, byteOps, [], maxLength);
  });
}

/**
 * What the runner feeds a target: random octets now and then, mostly its
 * seeds mutated, and for message targets messages built field by field
 * (mutated too); TCP streams of such messages; zone text for the parser.
 */
export function inputsFor(target: FuzzTarget, seeds: readonly Uint8Array[]): fc.Arbitrary<Buffer> {
  const max = target.maxLength;
  const random = fc.uint8Array({ maxLength: Math.min(max, 600) }).map((u) => Buffer.from(u));
  switch (target.input) {
    case 'message':
      return fc.oneof({ weight: 1, arbitrary: random }, { weight: 5, arbitrary: mutatedSeeds(seeds, max) }, { weight: 4, arbitrary: mutatedSeeds([], max, structuredQuery) });
    case 'stream': {
      const message = fc.oneof(structuredQuery, mutatedSeeds([], 1232, structuredQuery));
      return fc.oneof({ weight: 1, arbitrary: random }, { weight: 5, arbitrary: mutatedSeeds(seeds, max) }, { weight: 4, arbitrary: stream(message) });
    }
    case 'reply':
      return fc.oneof({ weight: 1, arbitrary: random }, { weight: 9, arbitrary: mutatedSeeds(seeds, max) });
    case 'zone':
      return fc.oneof({ weight: 1, arbitrary: fc.string({ maxLength: 300 }).map((s) => Buffer.from(s, 'utf8')) }, { weight: 9, arbitrary: zoneText(seeds, max) });
  }
}
