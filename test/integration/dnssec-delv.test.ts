/** DNSSEC validation test: delv, with each signed zone's KSK as its only trust anchor, validates positive and negative answers from NSD (the control) and then from shardns. */

import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { chainEndNames, delvUnavailable, signingUnavailable, signVariants, VARIANTS, writeTrustAnchor, type SignedZone, type SignedZones } from '../helpers/dnssec.js';
import { nsdUnavailable, startBeside, type Nsd } from '../helpers/nsd.js';
import type { RunningServer } from '../helpers/server.js';

/**
 * What delv concludes about one answer:
 * - `secure`: every RRset validated (`; fully validated`);
 * - `insecure`: an RRset proven unsigned (`; unsigned answer`);
 * - `nxdomain` / `nxrrset`: a validated denial (`;; resolution failed: ncache nxdomain`
 *   with `; negative response, fully validated`, or `; fully validated` for the
 *   chain leading to it);
 * - `failed: …`: anything else delv said (bogus, broken chain, format error, timeout).
 */
type Verdict = 'secure' | 'insecure' | 'nxdomain' | 'nxrrset' | `failed: ${string}`;

/** One question delv asks and the verdict it must reach. */
interface Case {
  /** Relative to the origin; '@' is the apex. */
  name: string;
  type: string;
  expect: Verdict;
  /** What the case covers, for the failure message. */
  what: string;
}

/**
 * The cases for a zone. Wildcard answers in an opt-out zone are `insecure`:
 * the NSEC3 that covers the next closer name has the opt-out flag, so it
 * cannot prove that no closer (unsigned) name exists (RFC 5155 §9.2, §8.8);
 * delv says `; unsigned answer` for NSD's replies there too.
 */
function cases(zone: SignedZone): Case[] {
  const optOut = zone.variant.nsec3?.optOut === true;
  const wild: Verdict = optOut ? 'insecure' : 'secure';
  const list: Case[] = [
    { name: '@', type: 'A', expect: 'secure', what: 'apex A' },
    { name: '@', type: 'MX', expect: 'secure', what: 'apex MX' },
    { name: '@', type: 'DNSKEY', expect: 'secure', what: 'DNSKEY signed by the KSK' },
    { name: 'www', type: 'A', expect: 'secure', what: 'A with two records' },
    { name: 'www', type: 'AAAA', expect: 'secure', what: 'AAAA' },
    { name: '_sip._udp', type: 'SRV', expect: 'secure', what: 'SRV under an empty non-terminal' },
    { name: 'chain1', type: 'A', expect: 'secure', what: 'CNAME chain' },
    { name: 'alias', type: 'AAAA', expect: 'secure', what: 'CNAME' },
    { name: 'www.dn', type: 'A', expect: 'secure', what: 'DNAME-synthesized CNAME' },
    { name: 'todname', type: 'A', expect: 'secure', what: 'CNAME into a DNAME' },
    { name: 'mail.target', type: 'MX', expect: 'secure', what: 'MX at a DNAME target' },
    { name: 'secure', type: 'DS', expect: 'secure', what: 'DS of the secure child, from the parent side' },
    { name: 'huge', type: 'TXT', expect: 'secure', what: 'answer too long for UDP: TC, then TCP' },
    { name: 'exists.wild', type: 'A', expect: 'secure', what: 'name beside a wildcard' },
    { name: 'anything.wild', type: 'A', expect: wild, what: 'wildcard expansion' },
    { name: 'a.b.wild', type: 'TXT', expect: wild, what: 'wildcard expansion two labels down' },
    { name: 'foo.wcname', type: 'A', expect: wild, what: 'wildcard CNAME' },
    { name: 'towild', type: 'A', expect: wild, what: 'CNAME to a wildcard match' },
    { name: 'nx', type: 'A', expect: 'nxdomain', what: 'NXDOMAIN' },
    { name: 'a.b.nx', type: 'A', expect: 'nxdomain', what: 'NXDOMAIN two labels below the closest encloser' },
    { name: 'x.exists.wild', type: 'A', expect: 'nxdomain', what: 'NXDOMAIN below a name that blocks the wildcard' },
    { name: 'zz.ent', type: 'A', expect: 'nxdomain', what: 'NXDOMAIN under an empty non-terminal' },
    { name: 'dangling', type: 'A', expect: 'nxdomain', what: 'CNAME to an absent name' },
    { name: 'x.dn', type: 'A', expect: 'nxdomain', what: 'DNAME to an absent name' },
    { name: 'www', type: 'MX', expect: 'nxrrset', what: 'NODATA' },
    { name: 'www', type: 'DS', expect: 'nxrrset', what: 'DS NODATA where there is no cut' },
    { name: 'ent', type: 'A', expect: 'nxrrset', what: 'NODATA at an empty non-terminal' },
    { name: 'b.ent', type: 'TXT', expect: 'nxrrset', what: 'NODATA at a deeper empty non-terminal' },
    { name: 'anything.wild', type: 'MX', expect: 'nxrrset', what: 'wildcard NODATA' },
    { name: 'insecure', type: 'DS', expect: 'nxrrset', what: `no DS at an insecure delegation${optOut ? ' (opt-out span)' : ''}` },
    { name: 'inhouse', type: 'DS', expect: 'nxrrset', what: `no DS at an insecure delegation to an in-zone host${optOut ? ' (opt-out span)' : ''}` },
    { name: 'zz-insecure', type: 'DS', expect: 'nxrrset', what: `no DS at an insecure delegation${optOut ? ' (opt-out span)' : ''}` },
  ];
  const ends = chainEndNames(zone, 1);
  for (const n of [...ends.before, ...ends.after]) list.push({ name: n.slice(0, -zone.origin.length - 1), type: 'A', expect: 'nxdomain', what: 'NXDOMAIN covered by the NSEC3 that wraps around the chain' });
  return list;
}

/** Reads delv's output into a verdict (see {@link Verdict}). */
function verdict(out: string): Verdict {
  const lines = out.split('\n');
  const complaints = lines.filter((l) => l.startsWith(';;') && !/^;; resolution failed: ncache (nxdomain|nxrrset)$/.test(l));
  if (complaints.length > 0) return `failed: ${complaints.join(' | ')}`;
  const statuses = lines.filter((l) => /^; (fully validated|unsigned answer|negative response, .*)$/.test(l));
  if (statuses.length === 0) return `failed: no validation status in ${JSON.stringify(out)}`;
  const negative = /^;; resolution failed: ncache (nxdomain|nxrrset)$/m.exec(out)?.[1] as 'nxdomain' | 'nxrrset' | undefined;
  const validated = statuses.every((s) => s === '; fully validated' || s === '; negative response, fully validated');
  if (negative) return validated ? negative : `failed: ${negative} not validated: ${statuses.join(' | ')}`;
  if (validated) return 'secure';
  return statuses.includes('; unsigned answer') ? 'insecure' : `failed: ${statuses.join(' | ')}`;
}

/**
 * How long one delv run may take: an answer validates in well under a
 * second on a quiet machine; a bogus one can keep delv retrying. Every case
 * of a zone starts its delv at once (~25 processes on 2 cores), so on a
 * busy machine their start alone took past 5 s once (CI, NSEC3 opt-out,
 * "delv stopped after 5000 ms" with no output); a bogus answer still fails
 * as bogus, only later.
 */
const DELV_TIMEOUT_MS = 15_000;

/** Runs delv against a server for one case; resolves with its combined output (a timeout or crash is output too). */
function delv(anchor: string, zone: SignedZone, port: number, c: Case): Promise<string> {
  const qname = c.name === '@' ? zone.origin : `${c.name}.${zone.origin}`;
  return new Promise((resolve) => {
    execFile('delv', ['-a', anchor, `+root=${zone.origin}`, '@127.0.0.1', '-p', String(port), qname, c.type], { timeout: DELV_TIMEOUT_MS, encoding: 'utf8' }, (err, stdout, stderr) => {
      const killed = err && (err as { killed?: boolean }).killed ? `;; delv stopped after ${DELV_TIMEOUT_MS} ms\n` : '';
      resolve(`${killed}${stdout}${stderr}`);
    });
  });
}

/** Asks delv every case against one server, all at once (delv mostly waits; a bogus answer can keep it retrying until the timeout); returns each case with delv's verdict and output. */
function validateAll(anchor: string, zone: SignedZone, port: number, list: Case[]): Promise<{ c: Case; got: Verdict; out: string }[]> {
  return Promise.all(
    list.map(async (c) => {
      const out = await delv(anchor, zone, port, c);
      return { c, got: verdict(out), out };
    }),
  );
}

describe('DNSSEC: delv validates answers from shardns with the zone\'s KSK as trust anchor (issue 14)', function () {
  this.timeout(120_000);
  let signed: SignedZones | undefined;
  let nsd: Nsd | undefined;
  let server: RunningServer | undefined;

  before(async function () {
    const why = nsdUnavailable() ?? signingUnavailable() ?? delvUnavailable();
    if (why) {
      console.log(`      skip: ${why}`);
      this.skip();
    }
    signed = signVariants();
    ({ nsd, server } = await startBeside(signed.zones.map((z) => ({ name: z.origin, file: z.file }))));
  });
  after(() => {
    nsd?.stop();
    server?.kill();
    signed?.remove();
  });

  it('reads a wrong trust anchor as failure: NSD\'s answers do not validate under another zone\'s KSK', async () => {
    const [zone, other] = signed!.zones;
    const anchor = writeTrustAnchor({ ...zone!, ksk: other!.ksk }, signed!.dir);
    const list = cases(zone!).filter((c) => c.expect !== 'insecure');
    const results = await validateAll(anchor, zone!, nsd!.port, [list.find((c) => c.expect === 'secure')!, list.find((c) => c.expect === 'nxdomain')!]);
    for (const r of results) expect(r.got, `${r.c.name} ${r.c.type} under a wrong anchor:\n${r.out}`).to.match(/^failed: /);
  });

  for (const variant of VARIANTS) {
    it(`${variant.name}: every positive answer fully validated, every negative one proven (NSD first, as the control)`, async () => {
      const zone = signed!.zones.find((z) => z.origin === variant.origin)!;
      const anchor = writeTrustAnchor(zone, signed!.dir);
      const list = cases(zone);
      const indent = (text: string): string => text.replace(/^/gm, '    ');
      const said = (r: { c: Case; got: Verdict; out: string }): string => `${r.c.name} ${r.c.type} (${r.c.what}): expected ${r.c.expect}, delv says ${r.got}\n${indent(r.out)}`;

      const control = await validateAll(anchor, zone, nsd!.port, list);
      const controlWrong = control.filter((r) => r.got !== r.c.expect).map(said);
      expect(controlWrong, `control: delv does not reach the expected verdict on NSD's answers, so the fixture or this test is wrong (not shardns):\n${controlWrong.join('\n')}`).to.deep.equal([]);

      const ours = await validateAll(anchor, zone, server!.port, list);
      const failures = ours.filter((r) => r.got !== r.c.expect).map((r) => `${said(r)}\n  NSD's answer, which validates:\n${indent(control.find((x) => x.c === r.c)!.out)}`);
      expect(failures, `${variant.name} (${variant.origin}): NSD validates, shardns does not:\n${failures.join('\n')}`).to.deep.equal([]);
    });
  }
});
