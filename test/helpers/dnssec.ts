/** Signed test zones for the DNSSEC tests: keys made with dnssec-keygen and zones signed with dnssec-signzone at test time, read back with named-checkzone; NSEC3 hashes of test names. */

import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT } from './server.js';

/** The zone template every variant is signed from (names relative to the origin). */
export const TEMPLATE = `${ROOT}test/fixtures/dnssec/signed.zone.in`;

/**
 * RRSIG validity given to dnssec-signzone (`-s`, `-e`): fixed, so a signed
 * zone does not depend on the day it is signed, and wide enough to be valid
 * now. Both lie within 2^31 seconds of today, as RFC 4034 §3.1.5's serial
 * arithmetic needs.
 */
export const INCEPTION = '20250101000000';
/** See {@link INCEPTION}. */
export const EXPIRATION = '20750101000000';

/** NSEC3 parameters of a variant (RFC 5155 §3.1: salt as hex, '' for none; extra iterations; opt-out flag). */
export interface Nsec3Params {
  salt: string;
  iterations: number;
  optOut: boolean;
}

/** One way of signing the template: the algorithm of both keys and the denial of existence. */
export interface Variant {
  /** What the tests call it. */
  name: string;
  /** The zone's origin, absolute (each variant is a zone of its own, so one server can serve them all). */
  origin: string;
  /** The dnssec-keygen algorithm of the KSK and the ZSK. */
  algorithm: 'ECDSAP256SHA256' | 'RSASHA256';
  /** NSEC3 parameters, or null for NSEC. */
  nsec3: Nsec3Params | null;
}

/** The variants the issue asks for: NSEC; NSEC3 without salt, with salt and iterations, with opt-out; and one RSASHA256 zone. */
export const VARIANTS: Variant[] = [
  { name: 'NSEC', origin: 'nsec.example.', algorithm: 'ECDSAP256SHA256', nsec3: null },
  { name: 'NSEC3 (no salt, 0 iterations)', origin: 'nsec3.example.', algorithm: 'ECDSAP256SHA256', nsec3: { salt: '', iterations: 0, optOut: false } },
  { name: 'NSEC3 (salt aabbccdd, 5 iterations)', origin: 'nsec3-salt.example.', algorithm: 'ECDSAP256SHA256', nsec3: { salt: 'aabbccdd', iterations: 5, optOut: false } },
  { name: 'NSEC3 opt-out', origin: 'optout.example.', algorithm: 'ECDSAP256SHA256', nsec3: { salt: '', iterations: 0, optOut: true } },
  { name: 'NSEC, RSASHA256', origin: 'rsa.example.', algorithm: 'RSASHA256', nsec3: null },
];

/** One record of a signed zone as named-checkzone prints it (owner absolute, lower case). */
export interface ZoneRecord {
  owner: string;
  ttl: number;
  type: string;
  /** The RDATA in presentation form, fields separated by single spaces. */
  rdata: string;
}

/** A zone signed for one variant. */
export interface SignedZone {
  variant: Variant;
  /** The origin, absolute (`nsec.example.`). */
  origin: string;
  /** The signed zone file, as dnssec-signzone wrote it. */
  file: string;
  /** The KSK's DNSKEY RDATA (`257 3 13 base64…`), the trust anchor. */
  ksk: string;
  /** Every record of the signed zone. */
  records: ZoneRecord[];
}

/** Signed zones for all variants in one temporary folder. */
export interface SignedZones {
  dir: string;
  zones: SignedZone[];
  /** Removes the folder. */
  remove(): void;
}

const SIGNING_TOOLS = ['dnssec-keygen', 'dnssec-signzone', 'dnssec-dsfromkey', 'named-checkzone'];

/** Why zones cannot be signed here (a tool of bind9-utils missing), or null when they can. */
export function signingUnavailable(): string | null {
  for (const tool of SIGNING_TOOLS) {
    if (spawnSync(tool, ['-h'], { encoding: 'utf8' }).error) return `${tool} not installed — apt-get install bind9-utils`;
  }
  return null;
}

/** Why delv cannot be used here, or null when it can. */
export function delvUnavailable(): string | null {
  return spawnSync('delv', ['-v'], { encoding: 'utf8' }).error ? 'delv not installed — apt-get install bind9-dnsutils' : null;
}

/** Runs a bind9-utils tool; returns its stdout or throws with the command and its stderr. */
function run(tool: string, args: string[], cwd: string): string {
  const r = spawnSync(tool, args, { cwd, encoding: 'utf8' });
  if (r.error) throw new Error(`cannot run ${tool}: ${r.error.message} — apt-get install bind9-utils`);
  if (r.status !== 0) throw new Error(`${tool} ${args.join(' ')} (in ${cwd}) exited ${r.status}:\n${r.stderr}${r.stdout}`);
  return r.stdout;
}

/** Makes a key with dnssec-keygen in dir; returns its base name (`Kname.+alg+tag`). */
function keygen(dir: string, owner: string, algorithm: Variant['algorithm'], ksk: boolean): string {
  return run('dnssec-keygen', ['-q', '-K', dir, '-a', algorithm, ...(algorithm === 'RSASHA256' ? ['-b', '2048'] : []), ...(ksk ? ['-f', 'KSK'] : []), '-n', 'ZONE', owner], dir).trim();
}

/** The RDATA of a .key file's DNSKEY record, fields joined by single spaces. */
function dnskeyRdata(keyFile: string): string {
  const line = readFileSync(keyFile, 'utf8').split('\n').find((l) => l.trim() !== '' && !l.startsWith(';'));
  const m = line?.match(/\sDNSKEY\s+(.*)$/);
  if (!m) throw new Error(`${keyFile}: no DNSKEY record in the key file dnssec-keygen wrote`);
  return m[1]!.trim().split(/\s+/).join(' ');
}

/** Parses named-checkzone's `-D` dump (one record a line, absolute names). */
function parseDump(text: string): ZoneRecord[] {
  const records: ZoneRecord[] = [];
  for (const line of text.split('\n')) {
    if (line.trim() === '' || line.startsWith(';')) continue;
    const [owner, ttl, klass, type, ...rest] = line.trim().split(/\s+/);
    if (klass !== 'IN' || !owner || !type) throw new Error(`named-checkzone printed a line the test cannot read: ${line}`);
    records.push({ owner: owner.toLowerCase(), ttl: Number(ttl), type, rdata: rest.join(' ') });
  }
  return records;
}

/**
 * Writes the template with the variant's origin in dir, adds the DS records
 * of a fresh key for `secure.<origin>` (dnssec-dsfromkey, SHA-256), makes a
 * KSK and a ZSK and signs the zone: DNSKEY signed by the KSK only (`-x`),
 * fixed validity ({@link INCEPTION}, {@link EXPIRATION}), NSEC3 as the
 * variant says (`-3 salt -H iterations [-A]`).
 */
export function signZone(variant: Variant, dir: string): SignedZone {
  const origin = variant.origin;
  const base = join(dir, `${origin}zone`);
  const child = keygen(dir, `secure.${origin}`, variant.algorithm, true);
  const ds = run('dnssec-dsfromkey', ['-2', join(dir, `${child}.key`)], dir);
  writeFileSync(base, `$ORIGIN ${origin}\n${readFileSync(TEMPLATE, 'utf8')}\n; DS of the secure child (dnssec-dsfromkey -2)\n${ds}`);
  const ksk = keygen(dir, origin, variant.algorithm, true);
  keygen(dir, origin, variant.algorithm, false);
  const nsec3 = variant.nsec3 ? ['-3', variant.nsec3.salt === '' ? '-' : variant.nsec3.salt, '-H', String(variant.nsec3.iterations), ...(variant.nsec3.optOut ? ['-A'] : [])] : [];
  const file = `${base}.signed`;
  run('dnssec-signzone', ['-q', '-S', '-K', dir, '-o', origin, '-s', INCEPTION, '-e', EXPIRATION, '-x', ...nsec3, '-f', file, base], dir);
  const records = parseDump(run('named-checkzone', ['-q', '-D', '-o', '-', origin, file], dir));
  const zone: SignedZone = { variant, origin, file, ksk: dnskeyRdata(join(dir, `${ksk}.key`)), records };
  if (variant.nsec3) {
    // The hash below must be the one the signer used, or the names drawn from it prove nothing.
    const apexHash = `${nsec3Hash(origin, variant.nsec3.salt, variant.nsec3.iterations)}.${origin}`;
    if (!records.some((r) => r.type === 'NSEC3' && r.owner === apexHash)) throw new Error(`${file}: no NSEC3 record at ${apexHash}, the hash of the apex the test computes (RFC 5155 §5)`);
  }
  return zone;
}

/** Signs every variant of {@link VARIANTS} in a new temporary folder. */
export function signVariants(variants: Variant[] = VARIANTS): SignedZones {
  const dir = mkdtempSync(join(tmpdir(), 'shardns-dnssec-'));
  try {
    return { dir, zones: variants.map((v) => signZone(v, dir)), remove: () => rmSync(dir, { recursive: true, force: true }) };
  } catch (e) {
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
}

/** Writes a delv trust-anchor file holding the zone's KSK as a static key; returns its path. */
export function writeTrustAnchor(zone: SignedZone, dir: string): string {
  const [flags, protocol, algorithm, ...key] = zone.ksk.split(' ');
  const path = join(dir, `${zone.origin}anchor`);
  writeFileSync(path, `trust-anchors {\n  "${zone.origin}" static-key ${flags} ${protocol} ${algorithm} "${key.join('')}";\n};\n`);
  return path;
}

/** A name's canonical wire form (RFC 4034 §6.2: lower case); test names hold no escapes. */
function wireName(name: string): Buffer {
  const labels = name.toLowerCase().replace(/\.$/, '').split('.').filter((l) => l !== '');
  return Buffer.concat([...labels.map((l) => Buffer.concat([Buffer.from([l.length]), Buffer.from(l, 'ascii')])), Buffer.from([0])]);
}

const BASE32HEX = '0123456789abcdefghijklmnopqrstuv';

/** Base32 with the extended hex alphabet, lower case, no padding (RFC 4648 §7, as RFC 5155 §3.3 writes hashed owner names). */
export function base32hex(bytes: Buffer): string {
  let out = '';
  let bits = 0;
  let value = 0;
  for (const b of bytes) {
    value = (value << 8) | b;
    bits += 8;
    while (bits >= 5) {
      out += BASE32HEX[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += BASE32HEX[(value << (5 - bits)) & 31];
  return out;
}

/** The NSEC3 hash of a name as its owner label (RFC 5155 §5: SHA-1 over name||salt, then iterations more times over hash||salt). */
export function nsec3Hash(name: string, saltHex: string, iterations: number): string {
  const salt = Buffer.from(saltHex, 'hex');
  let h = createHash('sha1').update(wireName(name)).update(salt).digest();
  for (let i = 0; i < iterations; i++) h = createHash('sha1').update(h).update(salt).digest();
  return base32hex(h);
}

/**
 * Absent names directly below the apex whose NSEC3 hashes fall before the
 * first or after the last hash of the zone's chain, so the NSEC3 that
 * covers them is the one that wraps around (RFC 5155 §3.1.7). Returns
 * `count` of each kind; empty for an NSEC zone.
 */
export function chainEndNames(zone: SignedZone, count = 2): { before: string[]; after: string[] } {
  const p = zone.variant.nsec3;
  if (!p) return { before: [], after: [] };
  const hashes = zone.records.filter((r) => r.type === 'NSEC3').map((r) => r.owner.split('.')[0]!).sort();
  const owners = new Set(zone.records.map((r) => r.owner));
  const first = hashes[0]!;
  const last = hashes[hashes.length - 1]!;
  const before: string[] = [];
  const after: string[] = [];
  for (let i = 0; (before.length < count || after.length < count) && i < 100_000; i++) {
    const name = `end${i}.${zone.origin}`;
    if (owners.has(name)) continue;
    const h = nsec3Hash(name, p.salt, p.iterations);
    if (h < first && before.length < count) before.push(name);
    if (h > last && after.length < count) after.push(name);
  }
  return { before, after };
}

/** The labels of a name, lower case, without the root (`Www.Example.` → ['www', 'example']). */
function labelsOf(name: string): string[] {
  return name.toLowerCase().replace(/\.$/, '').split('.').filter((l) => l !== '');
}

/** Compares two names in DNSSEC canonical order (RFC 4034 §6.1: label by label from the right, octets in lower case); test names hold no escapes. */
export function canonicalCompare(a: string, b: string): number {
  const x = labelsOf(a).reverse();
  const y = labelsOf(b).reverse();
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    const c = Buffer.compare(Buffer.from(x[i]!, 'ascii'), Buffer.from(y[i]!, 'ascii'));
    if (c !== 0) return c;
  }
  return x.length - y.length;
}
