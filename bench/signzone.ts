/** Signing the bench zone at run time with BIND's dnssec-keygen and dnssec-signzone: an ECDSA P-256 KSK and ZSK, then NSEC or NSEC3 (RFC 9276 settings). */

import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ProcessGroups } from './processes.js';

/** How a signed zone proves that a name or a type does not exist: NSEC (RFC 4034 §4) or NSEC3 (RFC 5155). */
export const DENIALS = ['nsec', 'nsec3'] as const;
/** One of {@link DENIALS}. */
export type Denial = (typeof DENIALS)[number];

/** The signing algorithm: ECDSA curve P-256 with SHA-256 (RFC 6605), algorithm 13, what most signed zones use today. */
export const ALGORITHM = 'ECDSAP256SHA256';

/** How the report describes a denial method, with the NSEC3 parameters used. */
export function denialLabel(d: Denial): string {
  return d === 'nsec' ? 'NSEC' : 'NSEC3, no salt, 0 extra iterations, no opt-out';
}

/** dnssec-keygen's command line for one key of `origin`: the KSK (flags 257, `-f KSK`) or the ZSK (256). */
export function keygenArgs(o: { origin: string; keyDir: string; ksk: boolean }): string[] {
  return ['-q', '-K', o.keyDir, '-a', ALGORITHM, '-n', 'ZONE', ...(o.ksk ? ['-f', 'KSK'] : []), o.origin];
}

/**
 * dnssec-signzone's command line: smart signing (`-S`: the KSK signs the
 * DNSKEY RRset, the ZSK everything else) with the keys in `keyDir`, the SOA
 * serial kept, one record a line with full names (`-O full`, which NSD, Knot
 * and shardns all read). NSEC3 without salt (`-3 -`), without extra
 * iterations (`-H 0`) and without opt-out, as RFC 9276 §3.1 asks of zone
 * publishers. Signatures are valid from an hour ago for 30 days (its
 * defaults), and it verifies the signed zone before writing it.
 */
export function signzoneArgs(o: { origin: string; input: string; output: string; keyDir: string; denial: Denial }): string[] {
  return ['-q', '-S', '-K', o.keyDir, '-o', o.origin, '-f', o.output, '-O', 'full', '-N', 'keep', ...(o.denial === 'nsec3' ? ['-3', '-', '-H', '0'] : []), o.input];
}

/** Records per type in a zone file written with `-O full` (one record a line, `name ttl class type rdata`; `;` starts a comment). */
export function recordTypes(text: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith(';') || line.startsWith('$')) continue;
    const f = line.trim().split(/\s+/);
    // name ttl class type …
    const type = f[3];
    if (f.length < 4 || f[2] !== 'IN' || type === undefined) continue;
    out[type] = (out[type] ?? 0) + 1;
  }
  return out;
}

/** What signing gave: the signed file and what is in it, or the step that failed and what it printed. */
export type SignOutcome =
  | {
      kind: 'signed';
      /** The signed zone file (absolute). */
      file: string;
      /** Seconds for both keys and the signing. */
      seconds: number;
      /** Records per type in the signed file. */
      types: Record<string, number>;
      /** `dnssec-signzone 9.18.49-…`, as -V prints it. */
      signer: string;
    }
  | { kind: 'failed'; step: string; message: string };

/** Why the zone cannot be signed here, with what to do, or null when it can. */
export function signingUnavailable(): string | null {
  for (const tool of ['dnssec-keygen', 'dnssec-signzone']) {
    if (spawnSync(tool, ['-V'], { encoding: 'utf8' }).error) return `${tool} not installed — apt-get install bind9-utils`;
  }
  return null;
}

/** dnssec-signzone's version line, e.g. `dnssec-signzone 9.18.49-1~deb12u3-Debian`. */
export function signerVersion(): string {
  const r = spawnSync('dnssec-signzone', ['-V'], { encoding: 'utf8' });
  return `${r.stdout ?? ''}${r.stderr ?? ''}`.trim().split('\n')[0] || 'dnssec-signzone, version unknown';
}

/** Runs one tool in its own process group (stopped with the rest on Ctrl-C) and resolves with its exit code and output. */
async function runTool(groups: ProcessGroups, command: string, args: string[], cwd: string): Promise<{ ok: boolean; output: string }> {
  const t = groups.spawn(command, command, args, { cwd });
  const { code, signal } = await t.exited;
  await t.closed;
  await groups.stop(t, 0);
  return { ok: code === 0, output: `${code !== 0 ? `exit ${code ?? signal}: ` : ''}${t.output().slice(-2000)}` };
}

/**
 * Signs `input` (the zone `origin`, an absolute path) into
 * `dir/<origin>signed`: a KSK and a ZSK made in `dir/keys`, then
 * dnssec-signzone with {@link signzoneArgs}, run in `cwd` (where relative
 * `$INCLUDE`s of the zone resolve; `dir` by default). Every run makes new
 * keys; what the servers then do per query does not depend on which keys
 * they are.
 */
export async function signZone(groups: ProcessGroups, o: { origin: string; input: string; dir: string; denial: Denial; cwd?: string }): Promise<SignOutcome> {
  const keyDir = join(o.dir, 'keys');
  mkdirSync(keyDir, { recursive: true });
  const output = join(o.dir, `${o.origin}signed`);
  const t0 = performance.now();
  for (const ksk of [true, false]) {
    const r = await runTool(groups, 'dnssec-keygen', keygenArgs({ origin: o.origin, keyDir, ksk }), o.dir);
    if (!r.ok) return { kind: 'failed', step: `dnssec-keygen (${ksk ? 'KSK' : 'ZSK'})`, message: r.output };
  }
  const r = await runTool(groups, 'dnssec-signzone', signzoneArgs({ origin: o.origin, input: o.input, output, keyDir, denial: o.denial }), o.cwd ?? o.dir);
  if (!r.ok) return { kind: 'failed', step: 'dnssec-signzone', message: r.output };
  const seconds = (performance.now() - t0) / 1000;
  return { kind: 'signed', file: output, seconds, types: recordTypes(readFileSync(output, 'utf8')), signer: signerVersion() };
}
