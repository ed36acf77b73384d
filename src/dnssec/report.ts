/** The lines `shardns check` prints about a zone's DNSSEC: findings as warnings (or, with --verify, errors), and a summary like dnssec-verify's. */

import { presentName } from '../zone/names.js';
import type { Zone } from '../zone/parse/zone.js';
import { checkDnssec, type DnssecReport } from './check.js';
import { describeFinding, isNote, type FindingKind } from './findings.js';
import { algorithmName, supportedAlgorithm } from './verify.js';

/** What to print for one zone. `failed`: with --verify, something breaks validation (check exits 1). */
export interface ReportLines {
  /** Lines for stderr: findings, then (without --verify) what they mean. */
  readonly problems: string[];
  /** Lines for stdout: the --verify summary. */
  readonly summary: string[];
  /** Findings that break validation (notes not counted). */
  readonly count: number;
  readonly failed: boolean;
}

/** Findings of one kind printed per zone before the rest are counted in one line. */
export const DEFAULT_LIMIT = 20;

/**
 * The lines for one zone's report. `where` names the zone file (each line
 * starts `where: zone ORIGIN:`). Without `verify` findings are warnings:
 * the server serves such a zone, as NSD does; with it they are errors and
 * a summary follows. At most `limit` findings of each kind are written.
 */
export function reportLines(report: DnssecReport, where: string, verify: boolean, limit = DEFAULT_LIMIT): ReportLines {
  const zone = `${where}: zone ${presentName(report.origin)}`;
  if (report.kind === 'unsigned') {
    return { problems: [], summary: verify ? [`zone ${presentName(report.origin)}: not signed (no RRSIG or DNSKEY records): nothing to verify`] : [], count: 0, failed: false };
  }
  const problems: string[] = [];
  const shown = new Map<FindingKind, number>();
  const hidden = new Map<FindingKind, number>();
  let count = 0;
  for (const f of report.findings) {
    const note = isNote(f);
    if (!note) count++;
    const n = shown.get(f.kind) ?? 0;
    if (n >= limit) {
      hidden.set(f.kind, (hidden.get(f.kind) ?? 0) + 1);
      continue;
    }
    shown.set(f.kind, n + 1);
    const severity = note ? 'note: ' : verify ? '' : 'warning: ';
    problems.push(`${zone}: ${severity}${describeFinding(f, report.origin)}`);
  }
  for (const [kind, n] of hidden) problems.push(`${zone}: ${verify ? '' : 'warning: '}… and ${n} more like the above (${kind})`);
  if (!verify && count > 0) {
    problems.push(
      `${zone}: warning: ${count} DNSSEC problem(s): validating resolvers would answer SERVFAIL for the names concerned; ` +
        'shardns serves the zone as it is (as NSD does), so this does not fail the check; "shardns check --verify" also verifies every signature and fails on such problems',
    );
  }
  const summary: string[] = [];
  if (verify) summary.push(summaryLine(report, count));
  return { problems, summary, count, failed: verify && count > 0 };
}

/** One line like dnssec-verify's "Zone fully signed": algorithms, keys, RRsets and signatures verified, the denial chain. */
function summaryLine(report: Extract<DnssecReport, { kind: 'signed' }>, count: number): string {
  const v = report.verify;
  const unverifiable = v !== null && v.rrsets > 0 && v.unverifiable === v.rrsets;
  const verdict = count > 0 ? `DNSSEC verification failed (${count} problem(s), above)` : unverifiable ? 'DNSSEC not verified (signed only with algorithms shardns does not verify)' : 'DNSSEC verified';
  const head = `zone ${presentName(report.origin)}: ${verdict}`;
  const parts: string[] = [];
  if (v !== null) {
    parts.push(v.algorithms.length === 0 ? 'no algorithm shardns verifies' : `${v.algorithms.length === 1 ? 'algorithm' : 'algorithms'} ${v.algorithms.map(algorithmName).join(', ')}`);
    const keys = v.keys.map((k) => {
      const role = k.revoked ? 'revoked key' : k.ksk ? 'KSK' : 'ZSK';
      const what = !supportedAlgorithm(k.algorithm) ? ', not verified' : k.signsKeys ? ', signs the DNSKEY RRset' : k.used ? '' : k.named ? ', no valid signature' : ', signs nothing';
      return `${role} ${k.tag} (${algorithmName(k.algorithm)}${what})`;
    });
    parts.push(`keys: ${keys.join(', ')}`);
    parts.push(`${v.verified} of ${v.rrsets} RRsets verified${v.unverifiable > 0 ? ` (${v.unverifiable} signed only with algorithms shardns does not verify)` : ''}`);
    parts.push(`${v.valid} of ${v.signatures} RRSIGs valid`);
  } else {
    parts.push(report.rrsigs === 0 ? 'DNSKEY records but no RRSIG' : `${report.rrsigs} RRSIGs but no DNSKEY RRset at the apex to verify them with`);
  }
  const d = report.denial;
  parts.push(d.kind === 'nsec' ? `NSEC chain of ${d.names} names` : d.kind === 'nsec3' ? `NSEC3 chain of ${d.records} hashes` : 'no NSEC or NSEC3 chain');
  return `${head}: ${parts.join('; ')}`;
}

/** One zone to check: the loaded zone, and how its file is shown. */
export interface ZoneToCheck {
  readonly zone: Zone;
  readonly where: string;
}

/** The lines for every zone, and how many problems break validation under --verify (check fails when above 0). */
export interface ZonesReport {
  readonly problems: string[];
  readonly summary: string[];
  readonly errors: number;
}

/**
 * What `shardns check` prints about the DNSSEC of every zone, checked at
 * `now` (seconds since 1970); with `verify` the signatures are verified too
 * and `errors` counts what fails the check.
 */
export function dnssecReport(zones: readonly ZoneToCheck[], verify: boolean, now: number): ZonesReport {
  const problems: string[] = [];
  const summary: string[] = [];
  let errors = 0;
  for (const z of zones) {
    const lines = reportLines(checkDnssec(z.zone, { now, verify }), z.where, verify);
    problems.push(...lines.problems);
    summary.push(...lines.summary);
    if (lines.failed) errors += lines.count;
  }
  return { problems, summary, errors };
}
