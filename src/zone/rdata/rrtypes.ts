/** RR type and class numbers, their mnemonics (as BIND 9.18 spells them) and dns-packet's names. */

import { packetTypeName } from './packet.js';

/** Every type mnemonic BIND 9.18 knows, by number (IANA registry, RFC 6895 §3.1). */
const MNEMONICS: ReadonlyArray<readonly [number, string]> = [
  [1, 'A'], [2, 'NS'], [3, 'MD'], [4, 'MF'], [5, 'CNAME'], [6, 'SOA'], [7, 'MB'], [8, 'MG'],
  [9, 'MR'], [10, 'NULL'], [11, 'WKS'], [12, 'PTR'], [13, 'HINFO'], [14, 'MINFO'], [15, 'MX'],
  [16, 'TXT'], [17, 'RP'], [18, 'AFSDB'], [19, 'X25'], [20, 'ISDN'], [21, 'RT'], [22, 'NSAP'],
  [23, 'NSAP-PTR'], [24, 'SIG'], [25, 'KEY'], [26, 'PX'], [27, 'GPOS'], [28, 'AAAA'], [29, 'LOC'],
  [30, 'NXT'], [31, 'EID'], [32, 'NIMLOC'], [33, 'SRV'], [34, 'ATMA'], [35, 'NAPTR'], [36, 'KX'],
  [37, 'CERT'], [38, 'A6'], [39, 'DNAME'], [40, 'SINK'], [41, 'OPT'], [42, 'APL'], [43, 'DS'],
  [44, 'SSHFP'], [45, 'IPSECKEY'], [46, 'RRSIG'], [47, 'NSEC'], [48, 'DNSKEY'], [49, 'DHCID'],
  [50, 'NSEC3'], [51, 'NSEC3PARAM'], [52, 'TLSA'], [53, 'SMIMEA'], [55, 'HIP'], [56, 'NINFO'],
  [57, 'RKEY'], [58, 'TALINK'], [59, 'CDS'], [60, 'CDNSKEY'], [61, 'OPENPGPKEY'], [62, 'CSYNC'],
  [63, 'ZONEMD'], [64, 'SVCB'], [65, 'HTTPS'], [66, 'DSYNC'], [67, 'HHIT'], [68, 'BRID'],
  [99, 'SPF'], [100, 'UINFO'], [101, 'UID'], [102, 'GID'], [103, 'UNSPEC'], [104, 'NID'],
  [105, 'L32'], [106, 'L64'], [107, 'LP'], [108, 'EUI48'], [109, 'EUI64'], [249, 'TKEY'],
  [250, 'TSIG'], [251, 'IXFR'], [252, 'AXFR'], [253, 'MAILB'], [254, 'MAILA'], [255, 'ANY'],
  [256, 'URI'], [257, 'CAA'], [258, 'AVC'], [259, 'DOA'], [260, 'AMTRELAY'], [261, 'RESINFO'],
  [262, 'WALLET'], [32768, 'TA'], [32769, 'DLV'],
];

const BY_NAME = new Map<string, number>();
const BY_CODE = new Map<number, string>();
for (const [code, name] of MNEMONICS) {
  BY_NAME.set(name, code);
  BY_CODE.set(code, name);
}

/** Type numbers the zone code refers to by name. */
export const T = {
  A: 1, NS: 2, CNAME: 5, SOA: 6, NULL: 10, PTR: 12, HINFO: 13, MX: 15, TXT: 16, RP: 17,
  SIG: 24, KEY: 25, AAAA: 28, SRV: 33, NAPTR: 35, DNAME: 39, OPT: 41, DS: 43, SSHFP: 44,
  RRSIG: 46, NSEC: 47, DNSKEY: 48, NSEC3: 50, NSEC3PARAM: 51, TLSA: 52, CDS: 59, CDNSKEY: 60,
  ZONEMD: 63, SVCB: 64, HTTPS: 65, SPF: 99, URI: 256, CAA: 257,
} as const;

/**
 * Reads a type token: a mnemonic (any case) or `TYPEnnn` (RFC 3597 §5).
 * Returns the number, or -1 when the token names no type.
 */
export function typeFromText(text: string): number {
  // The types most zones are made of, compared before the map: a Map lookup hashes the
  // token, a fresh string each line (~4 % of reading a million-record zone).
  switch (text.length) {
    case 1:
      if (text === 'A') return T.A;
      break;
    case 2:
      if (text === 'NS') return T.NS;
      if (text === 'MX') return T.MX;
      if (text === 'DS') return T.DS;
      break;
    case 3:
      if (text === 'TXT') return T.TXT;
      if (text === 'SOA') return T.SOA;
      if (text === 'PTR') return T.PTR;
      if (text === 'SRV') return T.SRV;
      break;
    case 4:
      if (text === 'AAAA') return T.AAAA;
      if (text === 'NSEC') return T.NSEC;
      break;
    case 5:
      if (text === 'CNAME') return T.CNAME;
      if (text === 'RRSIG') return T.RRSIG;
      if (text === 'NSEC3') return T.NSEC3;
      break;
  }
  const direct = BY_NAME.get(text);
  if (direct !== undefined) return direct;
  const upper = text.toUpperCase();
  const known = BY_NAME.get(upper);
  if (known !== undefined) return known;
  if (upper.startsWith('TYPE') && upper.length > 4 && upper.length <= 9) {
    const digits = upper.slice(4);
    if (/^[0-9]+$/.test(digits)) {
      const v = Number(digits);
      if (v <= 0xffff) return v;
    }
  }
  return -1;
}

/** The presentation mnemonic of a type as BIND prints it: `A`, or `TYPE1234` when it has none. */
export function typeMnemonic(code: number): string {
  return BY_CODE.get(code) ?? `TYPE${code}`;
}

/**
 * True for types that only exist in queries or transport, never in zone data:
 * 0, OPT, and the meta/query range 128–255 (RFC 6895 §3.1).
 */
export function isMetaType(code: number): boolean {
  return code === 0 || code === T.OPT || (code >= 128 && code <= 255);
}

const packetNames = new Map<number, string>();
const packetCodes = new Map<string, number>();

/** dns-packet's name for a type (what a record's `type` field holds). */
export function packetType(code: number): string {
  let name = packetNames.get(code);
  if (name === undefined) {
    name = packetTypeName(code);
    packetNames.set(code, name);
    packetCodes.set(name, code);
  }
  return name;
}

/** The number behind a record's `type` field (the inverse of packetType). */
export function packetTypeCode(name: string): number {
  const code = packetCodes.get(name);
  if (code !== undefined) return code;
  if (name.startsWith('UNKNOWN_')) return Number(name.slice(8));
  const guess = BY_NAME.get(name);
  if (guess !== undefined && packetType(guess) === name) return guess;
  return -1;
}

/** Class numbers (RFC 1035 §3.2.4, RFC 2136 NONE) by mnemonic. */
const CLASSES = new Map<string, number>([['IN', 1], ['CS', 2], ['CH', 3], ['HS', 4], ['NONE', 254], ['ANY', 255]]);

/** Reads a class token: a mnemonic or `CLASSnnn`; -1 when it is not a class. */
export function classFromText(text: string): number {
  if (text === 'IN') return 1;
  const upper = text.toUpperCase();
  const known = CLASSES.get(upper);
  if (known !== undefined) return known;
  if (upper.startsWith('CLASS') && upper.length > 5 && upper.length <= 10 && /^[0-9]+$/.test(upper.slice(5))) {
    const v = Number(upper.slice(5));
    if (v <= 0xffff) return v;
  }
  return -1;
}

/** The mnemonic of a class, `CLASSnnn` when it has none. */
export function classMnemonic(code: number): string {
  for (const [name, c] of CLASSES) if (c === code) return name;
  return `CLASS${code}`;
}
