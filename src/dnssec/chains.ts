/** The denial-of-existence chains of a signed zone: the NSEC chain (RFC 4034 §4, RFC 4035 §2.3) and NSEC3 chains (RFC 5155 §7.1), checked without signatures. */

import { nameKey, nameLabels, parentName, presentName } from '../zone/names.js';
import { recordRdata } from '../zone/rdata/rdata.js';
import { T } from '../zone/rdata/rrtypes.js';
import { decodeBase32Hex, encodeBase32Hex } from '../zone/rdata/encoding.js';
import { canonicalName } from './canonical.js';
import type { Finding } from './findings.js';
import { nsec3Hash, NSEC3_SHA1 } from './nsec3-hash.js';
import { paramsText, readNsec, readNsec3, readNsec3Params, sameHash, type Nsec3, type Nsec3Params } from './records.js';
import { nsecTypes, type WalkedName } from './zone-walk.js';

/** How many names an NSEC chain links, or how many NSEC3 records a chain holds. */
export interface ChainOutcome {
  readonly findings: Finding[];
  /** Names linked (NSEC) or hashes in the chain the NSEC3PARAM names (NSEC3). */
  readonly length: number;
}

/** The NSEC3PARAM flags a server uses the chain of: all zero (RFC 5155 §4.1.2). */
const PARAM_FLAGS_IN_USE = 0;
/** The opt-out flag of an NSEC3 (RFC 5155 §3.1.2.1). */
const OPT_OUT = 0x01;

/**
 * Checks the NSEC chain (RFC 4034 §4.1.1, RFC 4035 §2.3): every name of the
 * zone that is not below a zone cut has one NSEC, whose next name is the
 * next such name in canonical order (RFC 4034 §6.1), the last pointing back
 * at the apex; the bitmap lists the types at the name; names below a cut
 * have none. `names` is walkZone's output.
 */
export function checkNsecChain(names: readonly WalkedName[]): ChainOutcome {
  const findings: Finding[] = [];
  const linked = names.filter((n) => n.role === 'apex' || n.role === 'authoritative' || n.role === 'delegation');
  for (let i = 0; i < linked.length; i++) {
    const name = linked[i]!;
    const set = name.sets.find((s) => s[0]!.type === 'NSEC');
    if (set === undefined) {
      findings.push({ kind: 'nsec-missing', owner: name.name });
      continue;
    }
    const nsec = readNsec(recordRdata(set[0]!));
    if (nsec === null) {
      findings.push({ kind: 'malformed', owner: name.name, type: T.NSEC });
      continue;
    }
    const next = linked[(i + 1) % linked.length]!;
    if (nameKey(nsec.next) !== next.key) {
      findings.push({ kind: 'nsec-next-mismatch', owner: name.name, found: nsec.next, expected: next.name, closes: i === linked.length - 1 });
    }
    const expected = nsecTypes(name);
    if (!sameTypes(nsec.types, expected)) findings.push({ kind: 'nsec-bitmap-mismatch', owner: name.name, found: nsec.types, expected });
  }
  for (const name of names) {
    if (name.role === 'occluded' && name.types.includes(T.NSEC)) findings.push({ kind: 'nsec-unexpected', owner: name.name });
  }
  return { findings, length: linked.length };
}

/** One NSEC3 record of the zone with its owner's hash. */
interface HashedNsec3 {
  readonly owner: string;
  readonly hash: Buffer;
  readonly nsec3: Nsec3;
}

/**
 * Checks NSEC3 (RFC 5155): the NSEC3PARAM at the apex names a chain that
 * exists; every chain of NSEC3 records (one per parameter set) is a closed
 * ring in hash order (§3.1.7: each next hashed owner is the next owner hash,
 * the last the first); and in the chain the NSEC3PARAM names, every name of
 * the zone and every empty non-terminal has an NSEC3 at the hash of its name
 * with the right types (§7.1), except insecure delegations and the empty
 * non-terminals above them in an opt-out chain (§6). `params` are the
 * apex's NSEC3PARAM RDATA.
 */
export function checkNsec3(names: readonly WalkedName[], origin: string, params: readonly Buffer[]): ChainOutcome {
  const findings: Finding[] = [];
  const all: HashedNsec3[] = [];
  for (const name of names) {
    if (name.role === 'occluded') continue;
    for (const set of name.sets) {
      if (set[0]!.type !== 'NSEC3') continue;
      for (const r of set) {
        const nsec3 = readNsec3(recordRdata(r));
        const hash = decodeBase32Hex(Buffer.from(nameLabels(name.name)[0] ?? []).toString('latin1'));
        if (nsec3 === null || hash === null) findings.push({ kind: 'malformed', owner: name.name, type: T.NSEC3 });
        else all.push({ owner: name.name, hash, nsec3 });
      }
    }
  }
  findings.push(...checkRings(all));

  let length = 0;
  for (const rdata of params) {
    const p = readNsec3Params(rdata);
    if (p === null) {
      findings.push({ kind: 'malformed', owner: origin, type: T.NSEC3PARAM });
      continue;
    }
    if (p.flags !== PARAM_FLAGS_IN_USE) continue;
    const chain = all.filter((h) => sameHash(h.nsec3, p));
    if (chain.length === 0) {
      findings.push({ kind: 'nsec3param-without-chain', params: paramsText(p) });
      continue;
    }
    length = Math.max(length, chain.length);
    if (p.hashAlgorithm === NSEC3_SHA1) findings.push(...checkCoverage(names, origin, p, chain));
  }
  return { findings, length };
}

/** Every parameter set's NSEC3 records must form one ring in hash order. */
function checkRings(all: readonly HashedNsec3[]): Finding[] {
  const findings: Finding[] = [];
  const chains = new Map<string, HashedNsec3[]>();
  for (const h of all) {
    const id = paramsText({ ...h.nsec3, flags: 0 });
    let chain = chains.get(id);
    if (chain === undefined) chains.set(id, (chain = []));
    chain.push(h);
  }
  for (const [id, chain] of chains) {
    chain.sort((a, b) => Buffer.compare(a.hash, b.hash));
    for (let i = 0; i < chain.length; i++) {
      const h = chain[i]!;
      const next = chain[(i + 1) % chain.length]!;
      if (!h.nsec3.nextHash.equals(next.hash)) {
        findings.push({ kind: 'nsec3-chain-break', params: id, owner: h.owner, found: encodeBase32Hex(h.nsec3.nextHash), expected: encodeBase32Hex(next.hash) });
      }
    }
  }
  return findings;
}

/** RFC 5155 §7.1: the NSEC3 records a name and each empty non-terminal must have in the chain of `p`. */
function checkCoverage(names: readonly WalkedName[], origin: string, p: Nsec3Params, chain: readonly HashedNsec3[]): Finding[] {
  const findings: Finding[] = [];
  const byHash = new Map<string, HashedNsec3>();
  for (const h of chain) byHash.set(h.hash.toString('hex'), h);
  const originKey = nameKey(origin);
  const apexHash = byHash.get(hashOf(origin, p).toString('hex'));
  const optOut = apexHash !== undefined && (apexHash.nsec3.flags & OPT_OUT) !== 0;
  const present = new Set(names.map((n) => n.key));
  /** Empty non-terminals: their name, and whether every name below them is an insecure delegation. */
  const ents = new Map<string, { name: string; insecureOnly: boolean }>();
  const expect = (owner: string, types: number[], mayLack: boolean): void => {
    const hash = hashOf(owner, p);
    const h = byHash.get(hash.toString('hex'));
    if (h === undefined) {
      if (!mayLack) findings.push({ kind: 'nsec3-missing', owner, hashed: `${encodeBase32Hex(hash).toLowerCase()}.${presentName(origin)}` });
      return;
    }
    if (!sameTypes(h.nsec3.types, types)) findings.push({ kind: 'nsec3-bitmap-mismatch', owner, hashed: h.owner, found: h.nsec3.types, expected: types });
  };
  for (const name of names) {
    if (name.role === 'occluded' || name.role === 'nsec3') continue;
    const insecure = name.role === 'delegation' && !name.types.includes(T.DS);
    // An NSEC3 lists the types of its original owner (at a delegation: NS, DS, RRSIG; nsecTypes), never NSEC3.
    expect(name.name, nsecTypes(name).filter((t) => t !== T.NSEC3), insecure && optOut);
    for (let up = parentName(name.name); name.role !== 'apex'; up = parentName(up)) {
      const key = nameKey(up);
      if (key === originKey || present.has(key)) break;
      const ent = ents.get(key);
      if (ent === undefined) ents.set(key, { name: up, insecureOnly: insecure });
      else ent.insecureOnly &&= insecure;
    }
  }
  // An empty non-terminal above only insecure delegations may go without one in an opt-out chain (RFC 5155 §7.1).
  for (const ent of ents.values()) expect(ent.name, [], ent.insecureOnly && optOut);
  return findings;
}

/** The NSEC3 hash of a name under these parameters (RFC 5155 §5), of its canonical wire form. */
function hashOf(name: string, p: Nsec3Params): Buffer {
  const wire = canonicalName(name);
  return nsec3Hash(wire, 0, wire.length, p.salt, p.iterations);
}

function sameTypes(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((t, i) => t === b[i]);
}
