/** What `shardns check` says about a zone's DNSSEC: the structural findings (validity windows, apex keys, denial chains) and, with `--verify`, the signatures. Pure. */

import type { RrsigData } from 'dns-packet';
import { nameKey } from '../zone/names.js';
import type { Zone } from '../zone/parse/zone.js';
import { recordRdata } from '../zone/rdata/rdata.js';
import { packetTypeCode, T } from '../zone/rdata/rrtypes.js';
import { checkNsec3, checkNsecChain } from './chains.js';
import type { Finding } from './findings.js';
import { windowState } from './sig-time.js';
import { verifySignatures, type ApexKey } from './signatures.js';
import { supportedAlgorithm } from './verify.js';
import { walkZone, type WalkedName } from './zone-walk.js';

/** What checkDnssec is told. */
export interface DnssecCheckOptions {
  /** The time to judge validity windows at, in seconds since 1970. */
  readonly now: number;
  /** Verify the signatures too (`check --verify`), not only the structure. */
  readonly verify: boolean;
}

/** The denial-of-existence chain a signed zone has. */
export type Denial =
  | { kind: 'nsec'; names: number }
  | { kind: 'nsec3'; records: number }
  | { kind: 'none' };

/** What `--verify` counted, for a summary like dnssec-verify's. */
export interface VerifySummary {
  readonly keys: readonly ApexKey[];
  /** The algorithms every RRset must be signed with (those of the KSKs that sign the DNSKEY RRset). */
  readonly algorithms: readonly number[];
  readonly rrsets: number;
  readonly verified: number;
  readonly unverifiable: number;
  readonly signatures: number;
  readonly valid: number;
}

/**
 * A zone's DNSSEC as check sees it. `unsigned`: no RRSIG and no DNSKEY,
 * nothing to say. `signed`: every finding (see findings.ts), the denial
 * chain, and with `verify` what the verification counted.
 */
export type DnssecReport =
  | { kind: 'unsigned'; origin: string }
  | { kind: 'signed'; origin: string; findings: Finding[]; denial: Denial; rrsigs: number; verify: VerifySummary | null };

/**
 * Checks what would break DNSSEC validation of a loaded zone: RRSIGs
 * outside their validity window (RFC 4035 §5.3.1), RRSIGs without an apex
 * DNSKEY RRset, a signed zone without NSEC or NSEC3PARAM, an NSEC3PARAM
 * without its chain, NSEC and NSEC3 chains that do not close or miss names
 * (chains.ts); with `verify`, every signature (signatures.ts). Works on the
 * parsed zone, not the compiled image.
 */
export function checkDnssec(zone: Zone, options: DnssecCheckOptions): DnssecReport {
  const origin = zone.origin;
  const apex = zone.nodes.get(nameKey(origin)) ?? [];
  const hasKeys = apex.some((r) => r.type === 'DNSKEY');
  let rrsigs = 0;
  for (const records of zone.nodes.values()) for (const r of records) if (r.type === 'RRSIG') rrsigs++;
  if (rrsigs === 0 && !hasKeys) return { kind: 'unsigned', origin };
  if (rrsigs === 0) return { kind: 'signed', origin, findings: [{ kind: 'keys-without-signatures' }], denial: { kind: 'none' }, rrsigs, verify: null };

  const names = walkZone(zone);
  const findings: Finding[] = [];
  if (!hasKeys) findings.push({ kind: 'no-apex-dnskey' });
  findings.push(...windowFindings(names, options.now));

  const params = apex.filter((r) => r.type === 'NSEC3PARAM').map(recordRdata);
  const hasNsec = names.some((n) => n.role !== 'occluded' && n.types.includes(T.NSEC));
  let denial: Denial = { kind: 'none' };
  if (hasNsec) {
    const chain = checkNsecChain(names);
    findings.push(...chain.findings);
    denial = { kind: 'nsec', names: chain.length };
  }
  if (params.length > 0 || names.some((n) => n.role === 'nsec3')) {
    const chain = checkNsec3(names, origin, params);
    findings.push(...chain.findings);
    if (!hasNsec && params.length > 0) denial = { kind: 'nsec3', records: chain.length };
  }
  if (!hasNsec && params.length === 0) findings.push({ kind: 'no-denial-chain' });

  let verify: VerifySummary | null = null;
  if (options.verify && hasKeys) {
    const v = verifySignatures(names, origin, options.now);
    findings.push(...unsupportedNotes(names), ...v.findings);
    verify = { keys: v.keys, algorithms: v.algorithms, rrsets: v.rrsets, verified: v.verified, unverifiable: v.unverifiable, signatures: v.signatures, valid: v.valid };
  }
  return { kind: 'signed', origin, findings, denial, rrsigs, verify };
}

/** RRSIGs a validator would see whose validity window does not hold `now` (RFC 4035 §5.3.1). */
function windowFindings(names: readonly WalkedName[], now: number): Finding[] {
  const out: Finding[] = [];
  for (const name of names) {
    if (name.role === 'occluded') continue;
    for (const set of name.sets) {
      if (set[0]!.type !== 'RRSIG') continue;
      for (const r of set) {
        const d = r.data as RrsigData;
        const w = windowState(d.inception, d.expiration, now);
        if (w.kind === 'valid') continue;
        out.push({ kind: w.kind, at: w.at, owner: name.name, type: packetTypeCode(d.typeCovered), keyTag: d.keyTag, algorithm: d.algorithm });
      }
    }
  }
  return out;
}

/** One note per algorithm whose RRSIGs shardns cannot verify. */
function unsupportedNotes(names: readonly WalkedName[]): Finding[] {
  const counts = new Map<number, number>();
  for (const name of names) {
    if (name.role === 'occluded') continue;
    for (const set of name.sets) {
      if (set[0]!.type !== 'RRSIG') continue;
      for (const r of set) {
        const a = (r.data as RrsigData).algorithm;
        if (!supportedAlgorithm(a)) counts.set(a, (counts.get(a) ?? 0) + 1);
      }
    }
  }
  return [...counts].sort((a, b) => a[0] - b[0]).map(([algorithm, rrsigs]) => ({ kind: 'unsupported-algorithm', algorithm, rrsigs }));
}
