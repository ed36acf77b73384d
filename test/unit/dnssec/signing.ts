/** Zones signed at test time for the DNSSEC check tests: dnssec-keygen and dnssec-signzone (bind9-utils) in a temporary folder, dnssec-verify's verdict on the same file. */

import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** The test zone: every kind of name a signer treats differently (names relative to the origin). */
export const ZONE_BODY = `$TTL 3600
@        SOA   ns1 Hostmaster 1 7200 3600 1209600 300
@        NS    ns1
@        NS    ns2.elsewhere.example.
@        MX    10 Mail
@        TXT   "v=spf1 -all"
ns1      A     192.0.2.1
ns1      AAAA  2001:db8::1
Mail     A     192.0.2.25
www      A     192.0.2.10
www      A     192.0.2.11
www      AAAA  2001:db8::10
alias    CNAME www
*.wild   TXT   "at a wildcard"
deep.a.b A     192.0.2.30
_https._tcp SRV 0 5 443 WWW
odd\\.label TXT "a label with a dot in it"
secure   NS    ns.secure
secure   DS    12345 13 2 0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF
ns.secure A    192.0.2.40
insecure NS    ns.insecure
ns.insecure A  192.0.2.41
`;

/** The tools the tests run, and why a test cannot run without them. */
const TOOLS = ['dnssec-keygen', 'dnssec-signzone', 'dnssec-verify'];

/** Why zones cannot be signed here (a bind9-utils tool missing), or null when they can. */
export function signingUnavailable(): string | null {
  for (const tool of TOOLS) if (spawnSync(tool, ['-h'], { encoding: 'utf8' }).error) return `${tool} not installed (apt-get install bind9-utils)`;
  return null;
}

/** How to sign a zone. */
export interface SignOptions {
  /** Absolute origin, e.g. `test.example.`. */
  readonly origin: string;
  /** dnssec-keygen algorithm of every key (RSASHA256, ECDSAP256SHA256, ED25519, …). */
  readonly algorithm: string;
  /** A second key pair of another algorithm (both sign everything). */
  readonly alsoAlgorithm?: string;
  /** NSEC3 instead of NSEC: salt as hex ('' for none), extra iterations, opt-out. */
  readonly nsec3?: { salt: string; iterations: number; optOut?: boolean };
  /** dnssec-signzone -s and -e (YYYYMMDDHHmmss, or now+N / now-N); its defaults otherwise. */
  readonly inception?: string;
  readonly expiration?: string;
  /** Make no KSK: one ZSK signs everything, the DNSKEY RRset too. */
  readonly zskOnly?: boolean;
}

/** A signed zone in a temporary folder. */
export interface Signed {
  readonly dir: string;
  /** The signed file (dnssec-signzone -O full: one record a line). */
  readonly file: string;
  readonly origin: string;
  /** Key tags: the KSK's (-1 with zskOnly) and the ZSK's. */
  readonly ksk: number;
  readonly zsk: number;
  /** The signed file's text. */
  text(): string;
  /** Replaces the signed file's text. */
  write(text: string): void;
  remove(): void;
}

function run(tool: string, args: string[], cwd: string): string {
  const r = spawnSync(tool, args, { cwd, encoding: 'utf8' });
  if (r.error) throw new Error(`cannot run ${tool}: ${r.error.message} (apt-get install bind9-utils)`);
  if (r.status !== 0) throw new Error(`${tool} ${args.join(' ')} exited ${r.status}:\n${r.stderr}${r.stdout}`);
  return r.stdout;
}

/** Makes a key with dnssec-keygen; returns its tag. */
function keygen(dir: string, origin: string, algorithm: string, ksk: boolean): number {
  const bits = algorithm.startsWith('RSA') ? ['-b', '2048'] : [];
  const base = run('dnssec-keygen', ['-q', '-K', dir, '-a', algorithm, ...bits, ...(ksk ? ['-f', 'KSK'] : []), '-n', 'ZONE', origin], dir).trim();
  return Number(base.split('+').at(-1));
}

/**
 * Writes `body` under `$ORIGIN`, makes the keys and signs it with
 * dnssec-signzone -S (the keys' DNSKEYs are added at the apex) in a new
 * temporary folder.
 */
export function signZone(body: string, o: SignOptions): Signed {
  const dir = mkdtempSync(join(tmpdir(), 'shardns-dnssec-check-'));
  try {
    const zoneFile = join(dir, `${o.origin}zone`);
    writeFileSync(zoneFile, `$ORIGIN ${o.origin}\n${body}`);
    const ksk = o.zskOnly ? -1 : keygen(dir, o.origin, o.algorithm, true);
    const zsk = keygen(dir, o.origin, o.algorithm, false);
    if (o.alsoAlgorithm !== undefined) {
      keygen(dir, o.origin, o.alsoAlgorithm, true);
      keygen(dir, o.origin, o.alsoAlgorithm, false);
    }
    const nsec3 = o.nsec3 ? ['-3', o.nsec3.salt === '' ? '-' : o.nsec3.salt, '-H', String(o.nsec3.iterations), ...(o.nsec3.optOut ? ['-A'] : [])] : [];
    // With a window that does not hold now, dnssec-signzone's own check after signing would fail: -P skips it.
    const times = [...(o.inception ? ['-s', o.inception] : []), ...(o.expiration ? ['-e', o.expiration] : []), ...(o.inception || o.expiration ? ['-P'] : [])];
    const file = `${zoneFile}.signed`;
    run('dnssec-signzone', ['-q', '-S', '-K', dir, '-O', 'full', '-o', o.origin, ...(o.zskOnly ? ['-z'] : []), ...times, ...nsec3, '-f', file, zoneFile], dir);
    return {
      dir,
      file,
      origin: o.origin,
      ksk,
      zsk,
      text: () => readFileSync(file, 'latin1'),
      write: (text: string) => writeFileSync(file, text, 'latin1'),
      remove: () => rmSync(dir, { recursive: true, force: true }),
    };
  } catch (e) {
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
}

/** dnssec-verify's verdict on a signed file (it prints to stderr; exit 0 when the zone is fully signed). */
export function bindVerify(file: string, origin: string): { ok: boolean; output: string } {
  const r = spawnSync('dnssec-verify', ['-o', origin, file], { encoding: 'utf8' });
  return { ok: r.status === 0, output: `${r.stderr}${r.stdout}` };
}

/** The records of the signed text as lines (comments and blanks dropped), fields split on white space. */
export function recordLines(text: string): string[][] {
  return text
    .split('\n')
    .filter((l) => l.trim() !== '' && !l.startsWith(';'))
    .map((l) => l.trim().split(/\s+/));
}

/** Keeps the lines of the signed text for which `keep(fields)` is true (comments and blanks kept). */
export function filterRecords(text: string, keep: (fields: string[]) => boolean): string {
  return text
    .split('\n')
    .filter((l) => l.trim() === '' || l.startsWith(';') || keep(l.trim().split(/\s+/)))
    .join('\n');
}

/** Rewrites the record lines of the signed text with `edit(fields)` (a line, or the fields unchanged). */
export function editRecords(text: string, edit: (fields: string[]) => string | null): string {
  return text
    .split('\n')
    .map((l) => (l.trim() === '' || l.startsWith(';') ? l : (edit(l.trim().split(/\s+/)) ?? l)))
    .join('\n');
}
