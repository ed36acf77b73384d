/** The RDATA layout of each type read in presentation form, and how dns-packet wants its data. */

import type { CaaData, DnskeyData, DsData, HInfoData, MxData, NaptrData, Nsec3Data, NsecData, RpData, RrsigData, SoaData, SrvData, SshfpData, TlsaData } from 'dns-packet';
import { canonicalIPv6, formatIPv6, parseIPv6 } from './address.js';
import { loc } from './loc.js';
import * as F from './rdata-fields.js';
import type { AnyField } from './rdata-fields.js';
import type { RdataText } from './rdata-io.js';
import { packetType, packetTypeCode, T } from './rrtypes.js';
import { svcParams } from './svcb.js';

/**
 * How one type's RDATA looks. `fields` lists the fields in order (RFC
 * sections beside each entry). `toPacket` builds the data object dns-packet
 * encodes for the types it knows structurally, and `fromPacket` gives the
 * field values back, which the fields write as the exact wire RDATA; types
 * without them are carried as a Buffer of wire RDATA. `check` holds the
 * semantic rules BIND enforces beyond syntax. `downcase` marks types whose
 * names are lower-cased in canonical form (RFC 4034 §6.2, RFC 6840 §5.1),
 * which decides RDATA order and duplicates.
 */
export interface RdataSpec {
  readonly fields: readonly AnyField[];
  /** For the commonest types: reads the data directly, sparing the array of field values. */
  readonly fast?: (t: RdataText) => unknown;
  readonly toPacket?: (v: unknown[]) => unknown;
  readonly fromPacket?: (data: any) => unknown[];
  readonly check?: (v: unknown[]) => Problem | null;
  readonly downcase?: boolean;
}

const u8 = (what: string): AnyField => F.uint(8, what);
const u16 = (what: string): AnyField => F.uint(16, what);
const u32 = (what: string): AnyField => F.uint(32, what);

/** A semantic problem with RDATA, and the field (index into `fields`) it concerns. */
export interface Problem {
  readonly field: number;
  readonly message: string;
}

/** Octets as a JS string for dns-packet fields it writes as UTF-8; null when that would change them. */
export function utf8Exact(b: Buffer): string | null {
  let ascii = true;
  for (let i = 0; i < b.length && ascii; i++) if (b[i]! >= 0x80) ascii = false;
  if (ascii) return b.toString('latin1');
  const s = b.toString('utf8');
  return Buffer.from(s, 'utf8').equals(b) ? s : null;
}

/** Thrown by toPacket when dns-packet cannot carry a field's value; the parser reports it. */
export class NotRepresentable extends Error {
  constructor(
    message: string,
    readonly field: number,
  ) {
    super(message);
  }
}

function text(v: unknown[], field: number, what: string): string {
  const s = utf8Exact(v[field] as Buffer);
  if (s === null) throw new NotRepresentable(`${what} contains octets that are not UTF-8, which dns-packet cannot represent`, field);
  return s;
}

/** The octets behind a string `text` made (it checked that UTF-8 gives them back). */
const octets = (s: string): Buffer => Buffer.from(s, 'utf8');
/** Type numbers behind dns-packet's type names (RRSIG type covered, NSEC bitmaps). */
const typeCodes = (names: string[]): number[] => names.map(packetTypeCode);

const oneName = (what: string): RdataSpec => ({ fields: [F.name(what)], downcase: true });
const oneNamePacket = (what: string): RdataSpec => {
  const f = F.name(what);
  return { fields: [f], toPacket: (v) => v[0], fromPacket: (d) => [d], fast: (t) => f.parse(t), downcase: true };
};
const prefName = (what: string): RdataSpec => ({ fields: [u16('preference'), F.name(what)], downcase: true });

/** Digest lengths BIND insists on for known DS digest types (RFC 4509, RFC 6605). */
function dsCheck(v: unknown[]): Problem | null {
  const want = ({ 1: 20, 2: 32, 4: 48 } as Record<number, number>)[v[2] as number];
  const got = (v[3] as Buffer).length;
  return want !== undefined && got !== want ? { field: 3, message: `digest type ${v[2]} needs a ${want}-octet digest, not ${got}` } : null;
}

/** AAAA data straight from text: the RFC 5952 form, with no octets in between. */
function aaaa(t: RdataText): string {
  const s = t.take('IPv6 address');
  return canonicalIPv6(s) ?? t.fail(`bad IPv6 address "${s}"`);
}

function mx(): RdataSpec {
  const pref = u16('preference');
  const exchange = F.name('mail exchanger');
  return {
    fields: [pref, exchange],
    toPacket: (v) => ({ preference: v[0], exchange: v[1] }),
    fromPacket: (d: MxData) => [d.preference, d.exchange],
    fast: (t) => ({ preference: pref.parse(t) as number, exchange: exchange.parse(t) }),
    downcase: true,
  };
}

/**
 * RFC 3403 §4.1: a NAPTR regexp is empty or `delim ERE delim replacement
 * delim flags`, flags only `i`, back-references no higher than the groups of
 * the ERE. Checked as BIND checks it, except that the ERE is not compiled:
 * groups are counted as unescaped "(".
 */
function naptrRegexp(v: unknown[]): Problem | null {
  const b = v[4] as Buffer;
  if (b.length === 0) return null;
  const bad = (why: string): Problem => ({ field: 4, message: `bad NAPTR regexp: ${why} (RFC 3403 §4.1)` });
  const delim = b[0]!;
  if ((delim >= 0x30 && delim <= 0x39) || delim === 0x5c || delim === 0x69 || delim === 0) return bad('the delimiter cannot be a digit, a backslash or i');
  let part = 0; // 0 the ERE, 1 the replacement, 2 the flags
  let groups = 0;
  for (let i = 1; i < b.length; i++) {
    const c = b[i]!;
    if (c === 0) return bad('it holds a zero octet');
    if (c === delim) {
      if (++part > 2) return bad('too many delimiters');
      continue;
    }
    if (part === 2) {
      if (c !== 0x69) return bad('the only flag is i');
      continue;
    }
    if (c === 0x28 && part === 0) groups++;
    if (c === 0x5c) {
      const d = b[++i];
      if (d === undefined || d === 0) return bad('it ends in a backslash');
      if (part === 1 && d >= 0x30 && d <= 0x39 && (d === 0x30 || d - 0x30 > groups)) return bad(`back-reference \\${d - 0x30} has no group`);
    }
  }
  return part === 2 ? null : bad('it needs three delimiters');
}

const dsFields = [u16('key tag'), F.secAlg, F.digestType, F.hexRest];
const keyFields = [u16('flags'), u8('protocol'), F.secAlg, F.base64Rest];
const sigFields = [
  F.typeCode, F.secAlg, u8('labels'), u32('original TTL'), F.sigTime, F.sigTime, u16('key tag'), F.name('signer name'), F.base64Rest,
];

function bitmapCheck(at: number): (v: unknown[]) => Problem | null {
  return (v) => {
    const meta = F.hasMeta(v[at] as number[]);
    return meta >= 0 ? { field: at, message: `type bitmap names the meta type ${meta}` } : null;
  };
}

/** The types read in presentation form. Others load only in RFC 3597 form (`\# len hex`). */
export const SPECS: ReadonlyMap<number, RdataSpec> = new Map<number, RdataSpec>([
  // RFC 1035 §3.4.1
  [T.A, { fields: [F.ipv4], toPacket: (v) => v[0], fromPacket: (d) => [d], fast: (t) => F.ipv4.parse(t) }],
  // RFC 1035 §3.3.11, §3.3.1, §3.3.12; RFC 6672 §2.1
  [T.NS, oneNamePacket('name server')],
  [3, oneName('host')],
  [4, oneName('host')],
  [T.CNAME, oneNamePacket('canonical name')],
  [7, oneName('host')],
  [8, oneName('mailbox')],
  [9, oneName('mailbox')],
  [T.PTR, oneNamePacket('name')],
  [T.DNAME, oneNamePacket('target')],
  // RFC 1035 §3.3.13
  [
    T.SOA,
    {
      fields: [F.name('primary name server'), F.name('responsible mailbox'), u32('serial'), F.period('refresh'), F.period('retry'), F.period('expire'), F.period('minimum')],
      toPacket: (v) => ({ mname: v[0], rname: v[1], serial: v[2], refresh: v[3], retry: v[4], expire: v[5], minimum: v[6] }),
      fromPacket: (d: SoaData) => [d.mname, d.rname, d.serial, d.refresh, d.retry, d.expire, d.minimum],
      downcase: true,
    },
  ],
  // RFC 1035 §3.3.2, §3.3.7, §3.3.9, §3.3.14
  [
    T.HINFO,
    {
      fields: [F.charString('CPU'), F.charString('OS')],
      toPacket: (v) => ({ cpu: text(v, 0, 'HINFO CPU'), os: text(v, 1, 'HINFO OS') }),
      fromPacket: (d: HInfoData) => [octets(d.cpu), octets(d.os)],
    },
  ],
  [14, { fields: [F.name('responsible mailbox'), F.name('error mailbox')], downcase: true }],
  [T.MX, mx()],
  [T.TXT, { fields: [F.charStrings], toPacket: (v) => v[0], fromPacket: (d) => [d], fast: (t) => F.charStrings.parse(t) }],
  // RFC 1183 §2.2, §1, §3.1, §3.2, §3.3
  [T.RP, { fields: [F.name('mailbox'), F.name('TXT name')], toPacket: (v) => ({ mbox: v[0], txt: v[1] }), fromPacket: (d: RpData) => [d.mbox, d.txt], downcase: true }],
  [18, { fields: [u16('subtype'), F.name('host')], downcase: true }],
  [19, { fields: [F.charString('PSDN address')] }],
  [20, { fields: [F.charString('ISDN address'), F.optionalCharString('subaddress')] }],
  [21, prefName('intermediate host')],
  // RFC 2535 §4.1 (SIG), RFC 2535 §3.1 (KEY)
  [T.SIG, { fields: sigFields, downcase: true }],
  [T.KEY, { fields: keyFields }],
  // RFC 2163 §4
  [26, { fields: [u16('preference'), F.name('MAP822'), F.name('MAPX400')], downcase: true }],
  // RFC 3596 §2.4
  [T.AAAA, { fields: [F.ipv6], toPacket: (v) => formatIPv6(v[0] as Uint8Array), fromPacket: (d: string) => [parseIPv6(d)], fast: aaaa }],
  // RFC 1876 §3
  [29, { fields: [loc] }],
  // RFC 2782
  [
    T.SRV,
    {
      fields: [u16('priority'), u16('weight'), u16('port'), F.name('target')],
      toPacket: (v) => ({ priority: v[0], weight: v[1], port: v[2], target: v[3] }),
      fromPacket: (d: SrvData) => [d.priority, d.weight, d.port, d.target],
      downcase: true,
    },
  ],
  // RFC 3403 §4.1
  [
    T.NAPTR,
    {
      fields: [u16('order'), u16('preference'), F.charString('flags'), F.charString('services'), F.charString('regexp'), F.name('replacement')],
      check: naptrRegexp,
      toPacket: (v) => ({
        order: v[0],
        preference: v[1],
        flags: text(v, 2, 'NAPTR flags'),
        services: text(v, 3, 'NAPTR services'),
        regexp: text(v, 4, 'NAPTR regexp'),
        replacement: v[5],
      }),
      fromPacket: (d: NaptrData) => [d.order, d.preference, octets(d.flags), octets(d.services), octets(d.regexp), d.replacement],
      downcase: true,
    },
  ],
  // RFC 2230 §2
  [36, prefName('exchanger')],
  // RFC 4398 §2
  [37, { fields: [F.certType, u16('key tag'), F.certAlg, F.base64Rest] }],
  // RFC 4034 §5.1, RFC 7344 §3.1 (CDS), DLV (RFC 4431), TA
  [
    T.DS,
    {
      fields: dsFields,
      check: dsCheck,
      toPacket: (v) => ({ keyTag: v[0], algorithm: v[1], digestType: v[2], digest: v[3] }),
      fromPacket: (d: DsData) => [d.keyTag, d.algorithm, d.digestType, d.digest],
    },
  ],
  [T.CDS, { fields: dsFields, check: dsCheck }],
  [32768, { fields: dsFields, check: dsCheck }],
  [32769, { fields: dsFields, check: dsCheck }],
  // RFC 4255 §3.1
  [
    T.SSHFP,
    {
      fields: [u8('algorithm'), u8('fingerprint type'), F.hexRest],
      check(v) {
        const want = ({ 1: 20, 2: 32 } as Record<number, number>)[v[1] as number];
        const got = (v[2] as Buffer).length;
        if (want === undefined) return { field: 1, message: `SSHFP fingerprint type ${v[1]} cannot be represented by dns-packet (only 1, SHA-1, and 2, SHA-256)` };
        return got !== want ? { field: 2, message: `fingerprint type ${v[1]} needs a ${want}-octet fingerprint, not ${got}` } : null;
      },
      toPacket: (v) => ({ algorithm: v[0], hash: v[1], fingerprint: (v[2] as Buffer).toString('hex').toUpperCase() }),
      fromPacket: (d: SshfpData) => [d.algorithm, d.hash, Buffer.from(d.fingerprint, 'hex')],
    },
  ],
  // RFC 4034 §3.1
  [
    T.RRSIG,
    {
      fields: sigFields,
      check: (v) => ((v[8] as Buffer).length === 0 ? { field: 8, message: 'missing signature' } : null),
      toPacket: (v) => ({
        typeCovered: packetType(v[0] as number),
        algorithm: v[1],
        labels: v[2],
        originalTTL: v[3],
        expiration: v[4],
        inception: v[5],
        keyTag: v[6],
        signersName: v[7],
        signature: v[8],
      }),
      fromPacket: (d: RrsigData) => [packetTypeCode(d.typeCovered), d.algorithm, d.labels, d.originalTTL, d.expiration, d.inception, d.keyTag, d.signersName, d.signature],
      downcase: true,
    },
  ],
  // RFC 4034 §4.2 (not lower-cased: RFC 6840 §5.1)
  [
    T.NSEC,
    {
      fields: [F.name('next domain name'), F.typeBitmap(false)],
      check: bitmapCheck(1),
      toPacket: (v) => ({ nextDomain: v[0], rrtypes: (v[1] as number[]).map(packetType) }),
      fromPacket: (d: NsecData) => [d.nextDomain, typeCodes(d.rrtypes)],
    },
  ],
  // RFC 4034 §2.2, RFC 7344 §3.2 (CDNSKEY)
  [
    T.DNSKEY,
    {
      fields: keyFields,
      check: (v) => (v[1] !== 3 ? { field: 1, message: `DNSKEY protocol ${v[1]} cannot be represented by dns-packet (it writes 3, RFC 4034 §2.1.2)` } : null),
      toPacket: (v) => ({ flags: v[0], algorithm: v[2], key: v[3] }),
      fromPacket: (d: DnskeyData) => [d.flags, 3, d.algorithm, d.key],
    },
  ],
  [T.CDNSKEY, { fields: keyFields }],
  // RFC 4701 §3.3
  [49, { fields: [F.base64Rest] }],
  // RFC 5155 §3.3, §4.3
  [
    T.NSEC3,
    {
      fields: [u8('hash algorithm'), u8('flags'), u16('iterations'), F.salt, F.hash32, F.typeBitmap(true)],
      check: bitmapCheck(5),
      toPacket: (v) => ({ algorithm: v[0], flags: v[1], iterations: v[2], salt: v[3], nextDomain: v[4], rrtypes: (v[5] as number[]).map(packetType) }),
      fromPacket: (d: Nsec3Data) => [d.algorithm, d.flags, d.iterations, d.salt, d.nextDomain, typeCodes(d.rrtypes)],
    },
  ],
  [T.NSEC3PARAM, { fields: [u8('hash algorithm'), u8('flags'), u16('iterations'), F.salt] }],
  // RFC 6698 §2.2, RFC 8162 §2 (SMIMEA)
  [
    T.TLSA,
    {
      fields: [u8('usage'), u8('selector'), u8('matching type'), F.hexRest],
      toPacket: (v) => ({ usage: v[0], selector: v[1], matchingType: v[2], certificate: v[3] }),
      fromPacket: (d: TlsaData) => [d.usage, d.selector, d.matchingType, d.certificate],
    },
  ],
  [53, { fields: [u8('usage'), u8('selector'), u8('matching type'), F.hexRest] }],
  // TALINK (IANA registration), OPENPGPKEY RFC 7929 §2.3, CSYNC RFC 7477 §2.2
  [58, { fields: [F.name('previous name'), F.name('next name')] }],
  [61, { fields: [F.base64Rest] }],
  [62, { fields: [u32('serial'), u16('flags'), F.typeBitmap(true)], check: bitmapCheck(2) }],
  // RFC 8976 §2.2
  [
    T.ZONEMD,
    {
      fields: [u32('serial'), u8('scheme'), u8('hash algorithm'), F.hexRest],
      check(v) {
        const got = (v[3] as Buffer).length;
        const want = ({ 1: 48, 2: 64 } as Record<number, number>)[v[2] as number];
        if (want !== undefined && got !== want) return { field: 3, message: `hash algorithm ${v[2]} needs a ${want}-octet digest, not ${got}` };
        return got < 12 ? { field: 3, message: 'ZONEMD digest shorter than 12 octets' } : null;
      },
    },
  ],
  // RFC 9460 §2.1 (target names are not lower-cased: RFC 9460 §2.2)
  [T.SVCB, { fields: [u16('priority'), F.name('target'), svcParams] }],
  [T.HTTPS, { fields: [u16('priority'), F.name('target'), svcParams] }],
  // RFC 7208 §3.1 (SPF has TXT's form)
  [T.SPF, { fields: [F.charStrings] }],
  // RFC 6742 §2
  [104, { fields: [u16('preference'), F.locator64] }],
  [105, { fields: [u16('preference'), F.ipv4] }],
  [106, { fields: [u16('preference'), F.locator64] }],
  [107, { fields: [u16('preference'), F.name('FQDN')] }],
  // RFC 7043 §3, §4
  [108, { fields: [F.eui48] }],
  [109, { fields: [F.eui64] }],
  // RFC 7553 §4.5
  [T.URI, { fields: [u16('priority'), u16('weight'), F.quotedRest] }],
  // RFC 8659 §4.1
  [
    T.CAA,
    {
      fields: [u8('flags'), F.caaTag, F.textRest],
      // issuerCritical mirrors what dns-packet decodes; with other flag bits set it would
      // make the encoder write 128 alone, so it is only true when 128 is the whole value.
      toPacket: (v) => ({ flags: v[0], tag: v[1], value: text(v, 2, 'CAA value'), issuerCritical: v[0] === 128 }),
      fromPacket: (d: CaaData) => [d.flags, d.tag, octets(d.value)],
    },
  ],
]);

/** The types that may share a name with a CNAME (RFC 2181 §10.1, RFC 4035 §2.5), as BIND allows. */
export const CNAME_COMPANIONS: ReadonlySet<number> = new Set([T.RRSIG, T.NSEC, T.KEY, T.SIG]);

/** Types of which a name holds at most one record: CNAME (RFC 2181 §10.1), DNAME (RFC 6672 §2.4), SOA. */
export const SINGLETONS: ReadonlySet<number> = new Set([T.CNAME, T.DNAME, T.SOA]);
