import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BIN, ROOT } from '../helpers/server.js';
import { bindVerify, editRecords, signingUnavailable, signZone, ZONE_BODY, type Signed } from '../unit/dnssec/signing.js';

const ORIGIN = 'test.example.';

function run(args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 30_000, cwd: ROOT });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** `shardns check` on the signed zone through a config file, as an operator runs it. */
function check(s: Signed, ...flags: string[]): { code: number | null; stdout: string; stderr: string } {
  const config = join(s.dir, 'shardns.json');
  writeFileSync(config, JSON.stringify({ zones: [{ name: ORIGIN, file: s.file }], 'state-dir': join(s.dir, 'state') }));
  return run(['check', '--config', config, ...flags]);
}

describe('shardns check on signed zones (DNSSEC)', function () {
  this.timeout(120_000);
  const unavailable = signingUnavailable();
  const signed: Signed[] = [];
  before(function () {
    if (unavailable !== null) {
      console.log(`skip: ${unavailable}`);
      this.skip();
    }
  });
  after(() => {
    for (const s of signed) s.remove();
  });
  const sign = (o: { algorithm: string; inception?: string; expiration?: string; nsec3?: { salt: string; iterations: number } }): Signed => {
    const s = signZone(ZONE_BODY, { origin: ORIGIN, ...o });
    signed.push(s);
    return s;
  };

  it('--verify on a good zone: exit 0, a summary like dnssec-verify\'s, nothing written to the state directory', () => {
    for (const o of [{ algorithm: 'ED25519' }, { algorithm: 'RSASHA256', nsec3: { salt: 'ab', iterations: 2 } }]) {
      const s = sign(o);
      expect(bindVerify(s.file, ORIGIN).ok).to.equal(true);
      const r = check(s, '--verify');
      expect(r.code, r.stderr).to.equal(0);
      expect(r.stderr).to.not.match(/DNSSEC|RRSIG|NSEC/);
      const chain = o.nsec3 ? 'NSEC3 chain of 15 hashes' : 'NSEC chain of 11 names';
      expect(r.stdout).to.match(
        new RegExp(
          `^zone test\\.example\\.: DNSSEC verified: algorithm ${o.algorithm}; keys: (ZSK ${s.zsk} \\(${o.algorithm}, signs the DNSKEY RRset\\)|KSK ${s.ksk} \\(${o.algorithm}, signs the DNSKEY RRset\\))(, |;)` +
            `.*; (\\d+) of \\3 RRsets verified; (\\d+) of \\4 RRSIGs valid; ${chain}\\n` +
            // then the zone's source line (serial, file) and the summary
            'zone test\\.example\\.: primary, serial \\d+.*\\nconfiguration OK: .*1 zone\\(s\\)',
          'm',
        ),
      );
      expect(existsSync(join(s.dir, 'state'))).to.equal(false);
    }
  });

  it('a changed record: exit 1 with --verify, naming the owner, type, key and what to do; without --verify exit 0', () => {
    const s = sign({ algorithm: 'ECDSAP384SHA384' });
    s.write(editRecords(s.text(), (f) => (f[0] === 'www.test.example.' && f[3] === 'AAAA' ? `${f.slice(0, 4).join(' ')} 2001:db8::99` : null)));
    expect(bindVerify(s.file, ORIGIN).ok).to.equal(false);
    const v = check(s, '--verify');
    expect(v.code).to.equal(1);
    expect(v.stderr).to.include(
      `test.example.zone.signed: zone test.example.: www.test.example. AAAA: the RRSIG by key ${s.zsk} (ECDSAP384SHA384) does not verify: the records differ from what was signed (edited after signing?): re-sign the zone`,
    );
    expect(v.stderr).to.include('shardns: 1 DNSSEC error(s): validating resolvers would fail (SERVFAIL) on the names concerned; the server would still serve the zone(s)');
    expect(v.stdout).to.match(/^zone test\.example\.: DNSSEC verification failed \(1 problem\(s\), above\): algorithm ECDSAP384SHA384; .*; (\d+) of (?!\1 )\d+ RRsets verified/);
    expect(v.stdout).to.not.include('configuration OK');
    const plain = check(s);
    expect(plain.code, plain.stderr).to.equal(0);
    expect(plain.stderr).to.equal('');
    expect(plain.stdout).to.match(/^zone test\.example\.: primary, serial \d+.*\nconfiguration OK/);
  });

  it('expired signatures: warnings with the dates without --verify (exit 0: the server serves the zone), errors with it (exit 1)', () => {
    const s = sign({ algorithm: 'ECDSAP256SHA256', inception: '20200101000000', expiration: '20200201000000' });
    const plain = check(s);
    expect(plain.code, plain.stderr).to.equal(0);
    expect(plain.stdout).to.match(/^zone test\.example\.: primary, serial \d+.*\nconfiguration OK/);
    expect(plain.stderr).to.match(
      /test\.example\.zone\.signed: zone test\.example\.: warning: test\.example\. SOA: the RRSIG by key \d+ \(ECDSAP256SHA256\) expired on 20200201000000 \(2020-02-01T00:00:00Z\); validating resolvers reject it \(SERVFAIL\): re-sign the zone/,
    );
    expect(plain.stderr).to.match(/warning: … and \d+ more like the above \(expired\)/);
    expect(plain.stderr).to.match(/warning: \d+ DNSSEC problem\(s\): validating resolvers would answer SERVFAIL for the names concerned; shardns serves the zone as it is \(as NSD does\), so this does not fail the check/);
    const verify = check(s, '--verify');
    expect(verify.code).to.equal(1);
    expect(verify.stderr).to.match(/zone test\.example\.: test\.example\. SOA: the RRSIG by key \d+ \(ECDSAP256SHA256\) expired on 20200201000000/);
    expect(verify.stderr).to.match(/shardns: \d+ DNSSEC error\(s\)/);
    // --print still prints the zone, and still fails.
    const printed = check(s, '--verify', '--print');
    expect(printed.code).to.equal(1);
    expect(printed.stdout).to.match(/^test\.example\.\s+3600\s+IN\s+SOA\s/m);
  });

});

describe('shardns check --verify on an unsigned zone', () => {
  it('says there is nothing to verify and exits 0', () => {
    const r = run(['check', '--verify', '--zone', 'example.com.=config/zones/example.com.zone', '--state-dir', '/nonexistent-shardns-state']);
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stdout).to.match(/^zone example\.com\.: not signed \(no RRSIG or DNSKEY records\): nothing to verify\nzone example\.com\.: primary, serial \d+.*\nconfiguration OK/);
  });
});
