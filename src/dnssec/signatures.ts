/** Verifying a zone's signatures (`check --verify`): the apex keys, the DNSKEY RRset signed by a KSK, and a valid RRSIG of each algorithm on every authoritative RRset (RFC 4035 §2.2, §5.3). */

import { nameKey } from '../zone/names.js';
import { recordRdata } from '../zone/rdata/rdata.js';
import { packetTypeCode, T } from '../zone/rdata/rrtypes.js';
import type { ZoneRecord } from '../zone/parse/zone.js';
import type { RrsigData } from 'dns-packet';
import { signedData } from './canonical.js';
import type { Finding } from './findings.js';
import { DNSKEY_FLAGS, readDnskey, readRrsig, type Rrsig } from './records.js';
import { windowState } from './sig-time.js';
import { keyTag, publicKey, supportedAlgorithm, verifySignature, type PublicKeyOutcome } from './verify.js';
import { mustBeSigned, type WalkedName } from './zone-walk.js';

/** A DNSKEY of the apex as the verification saw it. */
export interface ApexKey {
  readonly tag: number;
  readonly algorithm: number;
  readonly flags: number;
  /** SEP flag set and not revoked (RFC 4034 §2.1.1, RFC 5011 §3). */
  readonly ksk: boolean;
  readonly revoked: boolean;
  /** Zone key flag set and protocol 3 (RFC 4034 §2.1.1, §2.1.2): only such a key may verify zone data. */
  readonly zoneKey: boolean;
  /** Made a valid signature over the DNSKEY RRset. */
  signsKeys: boolean;
  /** Made at least one valid signature. */
  used: boolean;
  /** Named (by tag and algorithm) by at least one RRSIG. */
  named: boolean;
}

/** What the signatures of a zone came to. */
export interface SignatureOutcome {
  readonly findings: Finding[];
  readonly keys: ApexKey[];
  /** The algorithms every RRset must be signed with: those of the KSKs that sign the DNSKEY RRset. */
  readonly algorithms: number[];
  /** Authoritative RRsets that must be signed. */
  readonly rrsets: number;
  /** RRsets with a valid signature of each of `algorithms`. */
  readonly verified: number;
  /** RRsets signed only with algorithms shardns does not verify. */
  readonly unverifiable: number;
  /** RRSIGs of algorithms shardns verifies that were looked at, and those that verified. */
  readonly signatures: number;
  readonly valid: number;
}

/** What became of one RRSIG. */
type SigStatus =
  | { kind: 'valid'; sig: Rrsig; key: ApexKey }
  | { kind: 'invalid'; sig: Rrsig }
  | { kind: 'no-key'; sig: Rrsig }
  | { kind: 'unsupported'; sig: Rrsig }
  | { kind: 'outside-window'; sig: Rrsig }
  | { kind: 'malformed' };

interface LoadedKey {
  readonly apex: ApexKey;
  readonly key: PublicKeyOutcome;
}

/**
 * Verifies every signature the zone needs, at time `now` (seconds since
 * 1970). `names` is walkZone's output; the zone has RRSIGs and a DNSKEY
 * RRset at its apex. RRSIGs outside their validity window do not count as
 * valid, but are reported by the structural check, not here.
 */
export function verifySignatures(names: readonly WalkedName[], origin: string, now: number): SignatureOutcome {
  const findings: Finding[] = [];
  const originKey = nameKey(origin);
  const apex = names.find((n) => n.role === 'apex');
  const dnskeySet = apex?.sets.find((s) => s[0]!.type === 'DNSKEY') ?? [];
  const keys: LoadedKey[] = [];
  for (const r of dnskeySet) {
    const k = readDnskey(recordRdata(r));
    if (k === null) {
      findings.push({ kind: 'malformed', owner: r.name, type: T.DNSKEY });
      continue;
    }
    const tag = keyTag(k);
    const revoked = (k.flags & DNSKEY_FLAGS.REVOKE) !== 0;
    const zoneKey = (k.flags & DNSKEY_FLAGS.ZONE) !== 0 && k.protocol === 3;
    const key = zoneKey ? publicKey(k.algorithm, k.publicKey) : ({ kind: 'unsupported', algorithm: k.algorithm } as const);
    if (key.kind === 'bad-key') findings.push({ kind: 'bad-key', keyTag: tag, algorithm: k.algorithm, reason: key.reason });
    const ksk = (k.flags & DNSKEY_FLAGS.SEP) !== 0 && !revoked;
    keys.push({ apex: { tag, algorithm: k.algorithm, flags: k.flags, ksk, revoked, zoneKey, signsKeys: false, used: false, named: false }, key });
  }

  /** Checks the RRSIGs of one RRset: `code` at `owner` with these records. */
  const checkSigs = (owner: string, code: number, records: readonly ZoneRecord[], sigs: readonly ZoneRecord[]): SigStatus[] => {
    const rdatas = records.map(recordRdata);
    return sigs.map((s): SigStatus => {
      const sig = readRrsig(recordRdata(s));
      if (sig === null) return { kind: 'malformed' };
      if (!supportedAlgorithm(sig.algorithm)) return { kind: 'unsupported', sig };
      for (const k of keys) if (k.apex.tag === sig.keyTag && k.apex.algorithm === sig.algorithm) k.apex.named = true;
      if (windowState(sig.inception, sig.expiration, now).kind !== 'valid') return { kind: 'outside-window', sig };
      // RFC 4035 §5.3.1: the signer is the zone's apex, and the key matches its tag and algorithm.
      if (nameKey(sig.signer) !== originKey) return { kind: 'no-key', sig };
      const candidates = keys.filter((k) => k.apex.zoneKey && k.apex.tag === sig.keyTag && k.apex.algorithm === sig.algorithm);
      if (candidates.length === 0) return { kind: 'no-key', sig };
      const data = signedData(sig, owner, code, rdatas);
      if (data === null) return { kind: 'invalid', sig };
      for (const k of candidates) {
        if (k.key.kind === 'key' && verifySignature(sig.algorithm, k.key.key, data, sig.signature)) {
          k.apex.used = true;
          return { kind: 'valid', sig, key: k.apex };
        }
      }
      return { kind: 'invalid', sig };
    });
  };

  // The DNSKEY RRset first: which keys sign it decides the algorithms every RRset needs.
  const apexSigs = apex === undefined ? new Map<number, ZoneRecord[]>() : sigsByType(apex);
  const dnskeyStatus = apex === undefined ? [] : checkSigs(apex.name, T.DNSKEY, dnskeySet, apexSigs.get(T.DNSKEY) ?? []);
  for (const s of dnskeyStatus) if (s.kind === 'valid') s.key.signsKeys = true;
  const apexKeys = keys.map((k) => k.apex);
  const kskSigns = apexKeys.filter((k) => k.ksk && k.signsKeys);
  // A KSK's signature of an algorithm we cannot verify may well be good; one outside its window is reported as such.
  const explained = dnskeyStatus.some(
    (s) => (s.kind === 'unsupported' || s.kind === 'outside-window') && apexKeys.some((k) => k.ksk && k.tag === s.sig.keyTag && k.algorithm === s.sig.algorithm),
  );
  if (kskSigns.length === 0 && !explained) findings.push({ kind: 'dnskey-not-self-signed' });
  const signing = kskSigns.length > 0 ? kskSigns : apexKeys.filter((k) => k.signsKeys);
  const algorithms = [...new Set((signing.length > 0 ? signing : apexKeys.filter((k) => k.zoneKey && supportedAlgorithm(k.algorithm))).map((k) => k.algorithm))].sort((a, b) => a - b);

  let rrsets = 0;
  let verified = 0;
  let unverifiable = 0;
  let signatures = 0;
  let valid = 0;
  for (const name of names) {
    if (name.role === 'occluded') continue;
    const sigs = name === apex ? apexSigs : sigsByType(name);
    for (const set of name.sets) {
      const code = packetTypeCode(set[0]!.type);
      if (!mustBeSigned(name.role, code)) continue;
      rrsets++;
      const covering = sigs.get(code) ?? [];
      if (covering.length === 0) {
        findings.push({ kind: 'unsigned', owner: name.name, type: code });
        continue;
      }
      const statuses = code === T.DNSKEY && name === apex ? dnskeyStatus : checkSigs(name.name, code, set, covering);
      const good = new Set<number>();
      const tried = new Set<number>();
      for (const s of statuses) {
        if (s.kind !== 'unsupported') signatures++;
        if (s.kind === 'malformed') {
          findings.push({ kind: 'malformed', owner: name.name, type: T.RRSIG });
          continue;
        }
        const ref = { owner: name.name, type: code, keyTag: s.sig.keyTag, algorithm: s.sig.algorithm };
        if (s.kind !== 'unsupported') tried.add(s.sig.algorithm);
        if (s.kind === 'valid') {
          valid++;
          good.add(s.sig.algorithm);
        } else if (s.kind === 'invalid') {
          findings.push({ kind: 'bad-signature', ...ref });
        } else if (s.kind === 'no-key') {
          findings.push({ kind: 'no-key', signer: s.sig.signer, ...ref });
        }
      }
      for (const a of algorithms) if (!tried.has(a)) findings.push({ kind: 'missing-algorithm', owner: name.name, type: code, algorithm: a });
      if (good.size > 0 && algorithms.every((a) => good.has(a))) verified++;
      else if (tried.size === 0 && statuses.every((s) => s.kind === 'unsupported')) unverifiable++;
    }
  }
  return { findings, keys: apexKeys, algorithms, rrsets, verified, unverifiable, signatures, valid };
}

/** The RRSIG records at a name by the type they cover. */
function sigsByType(name: WalkedName): Map<number, ZoneRecord[]> {
  const out = new Map<number, ZoneRecord[]>();
  for (const set of name.sets) {
    if (set[0]!.type !== 'RRSIG') continue;
    const code = packetTypeCode((set[0]!.data as RrsigData).typeCovered);
    out.set(code, [...(out.get(code) ?? []), ...set]);
  }
  return out;
}
