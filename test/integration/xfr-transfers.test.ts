import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import dnsPacket from 'dns-packet';
import dgram from 'node:dgram';
import { decodeReply } from '../helpers/dns-client.js';
import { BIN, startServer, type RunningServer } from '../helpers/server.js';

/** Why a Debian tool cannot be used, or null. */
function missing(tool: string, pkg: string): string | null {
  return spawnSync(tool, [tool === 'dig' ? '-v' : '-V'], { encoding: 'utf8' }).error ? `${tool} not installed — apt-get install ${pkg}` : null;
}

/** A zone of several 16 KiB transfer messages. */
function zoneText(serial: number, extra = ''): string {
  const lines = ['$ORIGIN xfr.test.', '$TTL 3600', `@ SOA ns1 hostmaster ${serial} 7200 3600 1209600 300`, '@ NS ns1', 'ns1 A 127.0.0.1'];
  for (let i = 0; i < 1000; i++) lines.push(`host${i} A 10.1.${i >> 8}.${i & 255}`, `host${i} TXT "host ${i}"`);
  return lines.join('\n') + '\n' + extra;
}

/** Runs a command; its output. */
function run(cmd: string, args: string[]): { out: string; code: number | null } {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  return { out: `${r.stdout}${r.stderr}`, code: r.status };
}

/** Record lines of dig/kdig output (comments, TSIG records and blank lines left out), whitespace made single. */
function records(out: string): string[] {
  return out
    .split('\n')
    .filter((l) => l.trim() !== '' && !l.startsWith(';') && !/\sTSIG\s/.test(l))
    .map((l) => l.split(/\s+/).join(' '));
}

describe('zone transfers from shardns: dig, kdig, ACLs and TSIG errors', function () {
  this.timeout(60_000);
  const why = missing('dig', 'bind9-dnsutils') ?? missing('kdig', 'knot-dnsutils');
  const secret = randomBytes(32).toString('base64');
  const key = `hmac-sha256:xfr-key:${secret}`;
  let server: RunningServer;
  let dir: string;
  let file: string;
  let config: string;

  before(async function () {
    if (why) {
      console.log(`      skip: ${why}`);
      this.skip();
    }
    dir = mkdtempSync(join(tmpdir(), 'shardns-xfr-'));
    chmodSync(dir, 0o755);
    file = join(dir, 'xfr.test.zone');
    writeFileSync(file, zoneText(1));
    config = join(dir, 'shardns.json');
    writeFileSync(
      config,
      JSON.stringify({
        keys: [{ name: 'xfr-key', algorithm: 'hmac-sha256', secret }],
        // 127.0.0.2 unsigned, anyone with the key; 127.0.0.3 and the rest are refused.
        zones: [{ name: 'xfr.test.', file, 'allow-transfer': ['127.0.0.2', 'xfr-key'] }],
      }),
    );
    server = await startServer(['--config', config, '--workers', '2', '--listen', '127.0.0.1', '--forward', 'none']);
  });
  after(() => server?.kill());

  const dig = (...args: string[]): { out: string; code: number | null } => run('dig', ['@127.0.0.1', '-p', String(server.port), '+nocmd', ...args]);
  const kdig = (...args: string[]): { out: string; code: number | null } => run('kdig', ['@127.0.0.1', '-p', String(server.port), ...args]);

  it('dig axfr from an allowed address: the whole zone in several messages, SOA first and last', async () => {
    const since = server.mark();
    const r = dig('-b', '127.0.0.2', 'xfr.test', 'AXFR');
    const rr = records(r.out);
    expect(rr.length, r.out).to.equal(2004);
    expect(rr[0]).to.match(/^xfr\.test\. 3600 IN SOA ns1\.xfr\.test\. hostmaster\.xfr\.test\. 1 /);
    expect(rr.at(-1)).to.equal(rr[0]);
    expect(r.out).to.match(/XFR size: 2004 records \(messages ([2-9]|\d\d+), bytes/);
    await server.waitFor(/AXFR of xfr\.test\. serial 1 to 127\.0\.0\.2 \(unsigned, allowed by 127\.0\.0\.2\)/, 5000, since);
  });

  it('signed with the key, dig and kdig verify every message', () => {
    const d = dig('-b', '127.0.0.3', '-y', key, 'xfr.test', 'AXFR');
    // dig prints each message's TSIG record, and complains of any that does not verify.
    expect(d.out).to.not.match(/Couldn't verify|verify failure|failed/i);
    expect(d.out.match(/xfr-key\.\s+0\s+ANY\s+TSIG\s+hmac-sha256\. \d+ 300 32 \S+ \d+ NOERROR 0/g)?.length).to.be.greaterThan(1);
    expect(records(d.out).length).to.equal(2004);
    const k = kdig('-b', '127.0.0.3', '-y', key, 'xfr.test', 'AXFR');
    expect(k.out).to.not.match(/;; (WARNING|ERROR)/);
    expect(k.out).to.match(/Received \d+ B \((\d+) messages, 2004 records\)/);
    expect(k.code).to.equal(0);
  });

  it('a client allow-transfer does not admit is REFUSED, and the refusal is logged with the client', async () => {
    const since = server.mark();
    const k = kdig('-b', '127.0.0.3', 'xfr.test', 'AXFR');
    expect(k.out).to.match(/server replied with error 'REFUSED'/);
    await server.waitFor(/AXFR of xfr\.test\. from 127\.0\.0\.3 \(unsigned\) refused: not admitted by allow-transfer/, 5000, since);
  });

  it('a wrong secret is BADSIG and an unknown key BADKEY, answered NOTAUTH unsigned as RFC 8945 §5.2 says (dig shows it)', async () => {
    const wrong = randomBytes(32).toString('base64');
    const since = server.mark();
    const badSig = dig('-y', `hmac-sha256:xfr-key:${wrong}`, 'xfr.test', 'SOA');
    expect(badSig.out).to.match(/status: NOTAUTH/).and.match(/xfr-key\.\s+0\s+ANY\s+TSIG\s+hmac-sha256\. \d+ 300 0 \d+ BADSIG 0/);
    const badKey = dig('-y', `hmac-sha256:no-such-key:${wrong}`, 'xfr.test', 'SOA');
    expect(badKey.out).to.match(/status: NOTAUTH/).and.match(/no-such-key\.\s+0\s+ANY\s+TSIG\s+hmac-sha256\. \d+ 300 0 \d+ BADKEY 0/);
    const badAlg = dig('-y', `hmac-sha512:xfr-key:${secret}`, 'xfr.test', 'SOA');
    expect(badAlg.out).to.match(/BADKEY/);
    const axfr = dig('-y', `hmac-sha256:xfr-key:${wrong}`, 'xfr.test', 'AXFR');
    expect(axfr.out).to.match(/BADSIG/).and.match(/Transfer failed/);
    await server.waitFor(/TSIG BADSIG: the MAC does not verify with key xfr-key\. \(do both sides have the same secret\?\); answered NOTAUTH/, 5000, since);
    await server.waitFor(/TSIG BADKEY: unknown key no-such-key\./, 5000, since);
  });

  it('a signed SOA query gets a signed answer dig verifies', () => {
    const r = dig('-y', key, 'xfr.test', 'SOA');
    expect(r.out).to.match(/status: NOERROR/).and.match(/xfr-key\.\s+0\s+ANY\s+TSIG\s+hmac-sha256\. \d+ 300 32 \S+ \d+ NOERROR 0/);
    expect(r.out).to.not.match(/Couldn't verify/);
  });

  it('kdig ixfr=N after a reload: the change alone (RFC 1995 condensed form); an unknown serial gets the whole zone', async () => {
    const since = server.mark();
    writeFileSync(file, zoneText(2, 'added A 192.0.2.77\n').replace('host5 A 10.1.0.5', 'host5 A 10.1.0.55'));
    process.kill(server.proc.pid!, 'SIGHUP');
    await server.waitFor(/reloaded 1 zone\(s\)/, 20_000, since);
    const k = kdig('-y', key, 'xfr.test', 'IXFR=1');
    expect(k.code, k.out).to.equal(0);
    const rr = records(k.out);
    expect(rr).to.deep.equal([
      rr[0],
      rr[1],
      'host5.xfr.test. 3600 IN A 10.1.0.5',
      rr[3],
      'added.xfr.test. 3600 IN A 192.0.2.77',
      'host5.xfr.test. 3600 IN A 10.1.0.55',
      rr[0],
    ]);
    expect(rr[0]).to.match(/ SOA .* 2 7200 /);
    expect(rr[1]).to.match(/ SOA .* 1 7200 /);
    expect(rr[3]).to.equal(rr[0]);
    // A serial the journal does not hold (older than ours, RFC 1982): the whole zone, as an AXFR would send it.
    const full = records(kdig('-y', key, 'xfr.test', 'IXFR=4294967000').out);
    expect(full.length).to.equal(2005);
    expect(full[0]).to.equal(rr[0]);
    // A client already current: our SOA alone.
    expect(records(kdig('-y', key, 'xfr.test', 'IXFR=2').out)).to.deep.equal([rr[0]]);
  });

  it('over UDP: AXFR is refused (RFC 5936 §4.2), an IXFR that fits is sent whole, one that does not is our SOA with TC (RFC 1995 §2)', async () => {
    const axfr = dnsPacket.encode({ type: 'query', id: 7, questions: [{ name: 'xfr.test', type: 'AXFR', class: 'IN' }] });
    expect(decodeReply((await fromAllowed(axfr))!).rcode).to.equal('REFUSED');
    const ixfr = (serial: number): Buffer =>
      dnsPacket.encode({
        type: 'query',
        id: 8,
        questions: [{ name: 'xfr.test', type: 'IXFR', class: 'IN' }],
        authorities: [{ name: 'xfr.test', type: 'SOA', ttl: 0, data: { mname: 'a.', rname: 'b.', serial, refresh: 0, retry: 0, expire: 0, minimum: 0 } }],
      });
    const soaSerials = (r: ReturnType<typeof decodeReply>): string[] => r.answers.map((a) => (a.type === 'SOA' ? `SOA ${(a.data as { serial: number }).serial}` : a.type));
    // From serial 1, the one change fits a datagram.
    const small = decodeReply((await fromAllowed(ixfr(1)))!);
    expect(small.flag_tc).to.equal(false);
    expect(soaSerials(small)).to.deep.equal(['SOA 2', 'SOA 1', 'A', 'SOA 2', 'A', 'A', 'SOA 2']);
    // From a serial the journal does not hold, the whole zone would be needed: TC and our SOA.
    const big = decodeReply((await fromAllowed(ixfr(4294967000)))!);
    expect(big.flag_tc).to.equal(true);
    expect(soaSerials(big)).to.deep.equal(['SOA 2']);
  });

  /** One UDP exchange from 127.0.0.2 (an address allow-transfer admits). */
  function fromAllowed(query: Buffer): Promise<Buffer | null> {
    return new Promise((resolve) => {
      const sock = dgram.createSocket('udp4');
      const timer = setTimeout(() => {
        sock.close();
        resolve(null);
      }, 2000);
      sock.on('message', (m) => {
        clearTimeout(timer);
        sock.close();
        resolve(m);
      });
      sock.bind(0, '127.0.0.2', () => sock.send(query, server.port, '127.0.0.1'));
    });
  }

  it('NOTIFY for our primary zone is REFUSED, for a zone we do not have NOTAUTH (as NSD; was NOTIMP)', () => {
    expect(dig('+opcode=notify', 'xfr.test', 'SOA').out).to.match(/opcode: NOTIFY, status: REFUSED/);
    expect(dig('+opcode=notify', 'other.test', 'SOA').out).to.match(/opcode: NOTIFY, status: NOTAUTH/);
  });

  it('shardns check says per zone its serial, source and transfer settings; a typo in a zone entry is an error naming both', () => {
    const ok = run(process.execPath, [BIN, 'check', '--config', config]);
    expect(ok.code, ok.out).to.equal(0);
    expect(ok.out).to.match(/zone xfr\.test\.: primary, serial 2, 2004 records, from file .*xfr\.test\.zone; transfers allowed to 127\.0\.0\.2, key xfr-key\./);
    const typo = join(dir, 'typo.json');
    writeFileSync(typo, JSON.stringify({ zones: [{ name: 'xfr.test.', file, 'allow-trasnfer': ['any'] }] }));
    const bad = run(process.execPath, [BIN, 'check', '--config', typo]);
    expect(bad.code).to.equal(1);
    expect(bad.out).to.match(/zone xfr\.test\.: "allow-trasnfer": unknown setting \(did you mean "allow-transfer"\?\)/);
  });
});
