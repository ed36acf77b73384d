import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { renderMarkdown, renderSigned, replyBytes } from '../../../bench/report.js';
import { signingOf, type BenchResult, type LoadRun, type SignedCheck, type SignedResult } from '../../../bench/result.js';
import type { SignedSample } from '../../../bench/signed-check.js';
import { SIGNED_QUERY } from '../../../bench/wire-queries.js';
import { ROOT } from '../../helpers/server.js';

/** The saved result of report.test.ts (hand-made numbers): shardns 20 µs CPU per query at 1 worker, NSD 6.0, Knot 5.0. */
const saved = JSON.parse(readFileSync(`${ROOT}test/unit/bench/fixtures/result.json`, 'utf8')) as BenchResult;

/** Reply sizes as dnsperf reports them: shardns 100 then 200 octets in its two rounds, the peers 600. */
const runs: LoadRun[] = saved.runs
  .filter((r) => r.workers === 1)
  .map((r) => ({ ...r, dnsperf: { ...r.dnsperf, requestAvgBytes: 45, responseAvgBytes: r.server === 'shardns' ? r.round * 100 : 600 } }));

const sample = (kind: SignedSample['kind'], bytes: number, outcome: SignedSample['outcome']): SignedSample => ({ name: kind === 'absent' ? 'nx1.example.com' : 'www.example.com', type: 'A', kind, rcode: kind === 'absent' ? 'NXDOMAIN' : 'NOERROR', bytes, outcome });
const signedSamples = [sample('existing', 640, { kind: 'signed' }), sample('absent', 760, { kind: 'signed' })];
const unsignedSamples = [sample('existing', 640, { kind: 'signed' }), sample('absent', 94, { kind: 'unsigned', missing: ['RRSIG over example.com. SOA in the authority section (RFC 4035 §3.1.1)'] })];
const check = (server: SignedCheck['server'], signing: SignedCheck['signing'], samples: SignedSample[]): SignedCheck => ({ server, workers: 1, signing, samples });

function signedResult(checks: SignedCheck[], patch: Partial<SignedResult> = {}): SignedResult {
  return {
    scenario: 'signed',
    denial: 'nsec3',
    signing: { signer: 'dnssec-signzone 9.18.49-1~deb12u3-Debian', algorithm: 'ECDSAP256SHA256', seconds: 0.42, types: { SOA: 1, NS: 2, A: 10, RRSIG: 20, NSEC3: 9, NSEC3PARAM: 1, DNSKEY: 2 } },
    query: SIGNED_QUERY,
    load: saved.load!,
    runs,
    balance: [{ workers: 1, shares: [{ id: 0, pid: 7, answered: 840_000 }], maxMin: 1, clients: 8 }],
    checks,
    ...patch,
  };
}

const withSigned = (...signed: SignedResult[]): BenchResult => ({ ...saved, runs: [], balance: [], scale: [], load: null, signed });

describe('bench report: the signed scenarios', () => {
  it('flags a server whose sample replies were unsigned and gives no ratio against it; one not checked likewise', () => {
    const md = renderSigned(withSigned(signedResult([check('shardns', 'unsigned', unsignedSamples), check('nsd', 'signed', signedSamples)])));
    expect(md).to.include('### Load, signed zone (NSEC3, no salt, 0 extra iterations, no opt-out; DO=1, EDNS 1232): example.com. (10,006 records, generated)');
    expect(md).to.include('dnssec-signzone 9.18.49-1~deb12u3-Debian (ECDSAP256SHA256, one KSK and one ZSK, in 0.4 s): 45 records (RRSIG 20, NSEC3 9, DNSKEY 2)');
    expect(md).to.match(/^\| shardns \(unsigned answers\) \| 1 \| 42,000 \(40,000–44,000\) \| 20\.0 \| .* \| 152 \|$/m);
    expect(md).to.match(/^\| NSD \| 1 \| 145,000 \(140,000–150,000\) \| 6\.0 \| .* \| 600 \|$/m);
    // Knot ran but has no check on record: not checked.
    expect(md).to.match(/^\| Knot DNS \(signatures not checked\) \| 1 \| /m);
    expect(md).to.include('| 1 | shardns | NSD | – | – | – | no: shardns sent unsigned answers |');
    expect(md).to.include('| 1 | shardns | Knot DNS | – | – | – | no: shardns sent unsigned answers, Knot DNS was not checked |');
    expect(md).to.not.match(/\| 1 \| shardns \| NSD \| [\d.]+×/);
    // The signature check: signed count, sizes by kind, what was missing.
    expect(md).to.include('| server | workers | sample replies signed | positive bytes | NXDOMAIN bytes | what was missing |');
    expect(md).to.include('| shardns (unsigned answers) | 1 | 1 of 2 | 640 | 94 | NXDOMAIN: RRSIG over example.com. SOA in the authority section (RFC 4035 §3.1.1) |');
    expect(md).to.include('| NSD | 1 | 2 of 2 | 640 | 760 | – |');
  });

  it('gives the ratios, by round too, when every server\'s replies were signed', () => {
    const md = renderSigned(withSigned(signedResult([check('shardns', 'signed', signedSamples), check('nsd', 'signed', signedSamples), check('knot', 'signed', signedSamples)])));
    expect(md).to.include('| 1 | shardns | NSD | 0.29× | 3.33× | 3.33× (3.33×–3.33×) | yes |');
    expect(md).to.include('| 1 | shardns | Knot DNS | 0.34× | 4.00× | 4.00× (4.00×–4.00×) | yes |');
    expect(md).to.match(/^\| shardns \| 1 \| 42,000/m);
    expect(md).to.not.include('unsigned answers');
  });

  it('names the cache-missing variant and NSEC, and labels the worker balance by scenario', () => {
    const checks = [check('shardns', 'signed', signedSamples)];
    const r = { ...withSigned(signedResult(checks, { denial: 'nsec' }), signedResult(checks, { scenario: 'signed-miss', share: 0.8 })), balance: saved.balance };
    const md = renderMarkdown(r);
    expect(md).to.include('### Load, signed zone (NSEC; DO=1, EDNS 1232)');
    expect(md).to.include('### Load, signed zone, cache missing (80 % random subdomains; NSEC3, no salt, 0 extra iterations, no opt-out; DO=1, EDNS 1232)');
    expect(md).to.include('| shardns (load) | 1 | 8 |');
    expect(md).to.include('| shardns (signed, NSEC) | 1 | 8 | #0: 840,000 | 1.00× |');
    expect(md).to.include('| shardns (signed, cache missing, NSEC3) | 1 | 8 |');
  });

  it('leaves reports without signed scenarios as they were', () => {
    const md = renderMarkdown(saved);
    expect(md).to.not.include('same work');
    expect(md).to.not.include('reply bytes');
    expect(md).to.include('| shardns | 2 | 8 | #0: 700,000, #1: 540,000 | 1.30× |');
    expect(renderSigned(saved)).to.equal('');
  });

  it('averages reply sizes over rounds by answers, and finds each server\'s check', () => {
    const sh = { server: 'shardns' as const, workers: 1 };
    expect(replyBytes(runs, sh)).to.be.closeTo((100 * 400_000 + 200 * 440_000) / 840_000, 1e-9);
    expect(replyBytes(saved.runs, sh)).to.be.NaN; // dnsperf printed no sizes
    const checks = [check('shardns', 'unsigned', unsignedSamples), { ...check('shardns', 'signed', signedSamples), variant: 'dgram' }];
    expect(signingOf(checks, sh)).to.equal('unsigned');
    expect(signingOf(checks, { ...sh, variant: 'dgram' })).to.equal('signed');
    expect(signingOf(checks, { ...sh, workers: 2 })).to.equal(undefined);
  });
});
