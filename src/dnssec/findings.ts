/** What `shardns check` can find wrong with a signed zone, as values, and the sentence each one prints (what is wrong, what to do). */

import { presentName } from '../zone/names.js';
import { typeMnemonic } from '../zone/rdata/rrtypes.js';
import { dateText } from './sig-time.js';
import { algorithmName, supportedAlgorithmNames } from './verify.js';

/** An RRSIG a finding is about: the RRset it covers and the key it names. */
export interface SigRef {
  /** The owner name (a name string, names.ts). */
  readonly owner: string;
  /** The type covered. */
  readonly type: number;
  readonly keyTag: number;
  readonly algorithm: number;
}

/**
 * One problem that breaks (or may break) DNSSEC validation of a zone.
 * Without `--verify` only the structural kinds are looked for; with it also
 * the signatures themselves. Names are name strings (names.ts), types numbers.
 */
export type Finding =
  // Structural (always checked).
  | ({ kind: 'expired'; at: number } & SigRef)
  | ({ kind: 'not-yet-valid'; at: number } & SigRef)
  | { kind: 'no-apex-dnskey' }
  | { kind: 'keys-without-signatures' }
  | { kind: 'no-denial-chain' }
  | { kind: 'nsec3param-without-chain'; params: string }
  | { kind: 'nsec3-chain-break'; params: string; owner: string; found: string; expected: string }
  | { kind: 'nsec3-missing'; owner: string; hashed: string }
  | { kind: 'nsec3-bitmap-mismatch'; owner: string; hashed: string; found: number[]; expected: number[] }
  | { kind: 'nsec-missing'; owner: string }
  | { kind: 'nsec-next-mismatch'; owner: string; found: string; expected: string; closes: boolean }
  | { kind: 'nsec-unexpected'; owner: string }
  | { kind: 'nsec-bitmap-mismatch'; owner: string; found: number[]; expected: number[] }
  | { kind: 'malformed'; owner: string; type: number }
  // Signatures (with --verify).
  | ({ kind: 'bad-signature' } & SigRef)
  | ({ kind: 'no-key'; signer: string } & SigRef)
  | { kind: 'unsigned'; owner: string; type: number }
  | { kind: 'missing-algorithm'; owner: string; type: number; algorithm: number }
  | { kind: 'dnskey-not-self-signed' }
  | { kind: 'bad-key'; keyTag: number; algorithm: number; reason: string }
  | { kind: 'unsupported-algorithm'; algorithm: number; rrsigs: number };

/** The kinds of finding. */
export type FindingKind = Finding['kind'];

/**
 * True for findings that only inform: an algorithm shardns cannot verify
 * is not a failure of the zone (a validator that knows it may well accept it).
 */
export function isNote(f: Finding): boolean {
  return f.kind === 'unsupported-algorithm';
}

const RESIGN = 're-sign the zone (dnssec-signzone, or your signer) and reload';

function sigText(f: SigRef): string {
  return `${presentName(f.owner)} ${typeMnemonic(f.type)}: the RRSIG by key ${f.keyTag} (${algorithmName(f.algorithm)})`;
}

function typesText(types: readonly number[]): string {
  return types.length === 0 ? 'no types' : types.map(typeMnemonic).join(' ');
}

/**
 * The sentence for a finding: the owner and type it concerns, what is
 * wrong, and what to do. The caller puts the file and zone before it.
 */
export function describeFinding(f: Finding, origin: string): string {
  const apex = presentName(origin);
  switch (f.kind) {
    case 'expired':
      return `${sigText(f)} expired on ${dateText(f.at)}; validating resolvers reject it (SERVFAIL): ${RESIGN}`;
    case 'not-yet-valid':
      return `${sigText(f)} is not valid before ${dateText(f.at)} (its inception is in the future); validating resolvers reject it until then: check the signer's clock, or ${RESIGN} with an inception in the past (dnssec-signzone -s now-1h)`;
    case 'no-apex-dnskey':
      return `the zone holds RRSIG records but no DNSKEY RRset at its apex ${apex}, so no signature can be validated: add the zone's DNSKEY records (the keys' .key files) at the apex and ${RESIGN}`;
    case 'keys-without-signatures':
      return `the apex ${apex} has DNSKEY records but nothing in the zone is signed (no RRSIG): sign the zone, or remove the DNSKEY records (and any DS for them at the parent)`;
    case 'no-denial-chain':
      return `the zone is signed but has neither NSEC records nor an NSEC3PARAM at ${apex}, so NXDOMAIN and NODATA answers cannot be validated: ${RESIGN} (dnssec-signzone builds an NSEC chain, or with -3 SALT an NSEC3 chain)`;
    case 'nsec3param-without-chain':
      return `${apex} NSEC3PARAM ${f.params}: no NSEC3 records with these parameters (hash algorithm, iterations, salt), so denials cannot be validated: ${RESIGN} with NSEC3 and these parameters, or remove the NSEC3PARAM`;
    case 'nsec3-chain-break':
      return `${presentName(f.owner)} NSEC3: the chain with parameters ${f.params} breaks here: the next hashed owner is ${f.found}, but the next NSEC3 in hash order is ${f.expected} (RFC 5155 §3.1.7): ${RESIGN}`;
    case 'nsec3-missing':
      return `${presentName(f.owner)}: no NSEC3 record at its hash ${f.hashed} in the chain the NSEC3PARAM names (RFC 5155 §7.1): ${RESIGN}`;
    case 'nsec3-bitmap-mismatch':
      return `${presentName(f.owner)}: its NSEC3 ${presentName(f.hashed)} lists ${typesText(f.found)}, but the name holds ${typesText(f.expected)} (RFC 5155 §3.1.8): ${RESIGN}`;
    case 'nsec-missing':
      return `${presentName(f.owner)}: no NSEC record; the NSEC chain must have one at every authoritative name (RFC 4035 §2.3): ${RESIGN}`;
    case 'nsec-next-mismatch':
      return f.closes
        ? `${presentName(f.owner)} NSEC: the next name is ${presentName(f.found)}, but this is the last name of the zone: its NSEC must point back at the apex ${presentName(f.expected)}, or the chain does not close (RFC 4034 §4.1.1): ${RESIGN}`
        : `${presentName(f.owner)} NSEC: the next name is ${presentName(f.found)}, but the next name in canonical order is ${presentName(f.expected)} (RFC 4034 §4.1.1, §6.1): ${RESIGN}`;
    case 'nsec-unexpected':
      return `${presentName(f.owner)} NSEC: an NSEC record below a zone cut (glue, or data no answer reaches), outside the NSEC chain (RFC 4035 §2.3): remove it and ${RESIGN}`;
    case 'nsec-bitmap-mismatch':
      return `${presentName(f.owner)} NSEC: the type bitmap lists ${typesText(f.found)}, but the name holds ${typesText(f.expected)} (RFC 4034 §4.1.2): ${RESIGN}`;
    case 'malformed':
      return `${presentName(f.owner)} ${typeMnemonic(f.type)}: the record's RDATA is malformed and cannot be used: ${RESIGN}`;
    case 'bad-signature':
      return `${sigText(f)} does not verify: the records differ from what was signed (edited after signing?): ${RESIGN}`;
    case 'no-key':
      return `${sigText(f)} names signer ${presentName(f.signer)}, and the DNSKEY RRset at the apex ${apex} has no such key: publish that key at the apex, or ${RESIGN} with the zone's keys`;
    case 'unsigned':
      return `${presentName(f.owner)} ${typeMnemonic(f.type)}: no RRSIG, but in a signed zone every authoritative RRset is signed (RFC 4035 §2.2): ${RESIGN}`;
    case 'missing-algorithm':
      return `${presentName(f.owner)} ${typeMnemonic(f.type)}: no RRSIG of algorithm ${algorithmName(f.algorithm)}, which signs the DNSKEY RRset; each RRset needs a signature of every such algorithm (RFC 4035 §2.2): ${RESIGN} with all its keys`;
    case 'dnskey-not-self-signed':
      return `${apex} DNSKEY: the DNSKEY RRset has no valid signature by a key-signing key of the zone (flags 257, SEP), the key a parent's DS points at: sign the DNSKEY RRset with the KSK (give dnssec-signzone the KSK's key files) and reload`;
    case 'bad-key':
      return `${apex} DNSKEY: key ${f.keyTag} (${algorithmName(f.algorithm)}) cannot be used: ${f.reason}: replace the key and ${RESIGN}`;
    case 'unsupported-algorithm':
      return `${f.rrsigs} RRSIG(s) of ${algorithmName(f.algorithm)} not verified: shardns verifies ${supportedAlgorithmNames().join(', ')} (other validators may accept these)`;
  }
}
