import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import dgram from 'node:dgram';
import { mkdtempSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { diffImages } from '../../src/xfr/journal.js';
import { querySoa, transferIn, type TransferInOutcome } from '../../src/xfr/transfer-in.js';
import { tsigKey, type TsigKey } from '../../src/xfr/tsig.js';
import { knotUnavailable, startKnot, type Knot, type PeerKey } from '../helpers/knot.js';
import { nsdUnavailable, startNsd, type Nsd } from '../helpers/nsd.js';
import { freePort, until } from '../helpers/server.js';
import { image, recordsOf, wireLines } from '../unit/xfr/helpers.js';

const ORIGIN = 'xin.test.';

/**
 * The test zone: names with a '.' inside a label, a space, octets that are
 * not UTF-8 (a zero among them), mixed case; RDATA names a primary may
 * compress (NS, MX, SOA, CNAME, RP, SRV, NAPTR, DNAME); a delegation with
 * glue; and 2400 more records so the transfer takes several messages.
 * RDATA names are lower case: a primary may keep their case or not.
 */
function zoneText(serial: number, edit: (lines: string[]) => void = () => undefined): string {
  const lines = [
    `$ORIGIN ${ORIGIN}`,
    '$TTL 3600',
    `@ SOA ns1 hostmaster.xin.test. ${serial} 7200 3600 1209600 300`,
    '@ NS ns1',
    '@ NS ns2.elsewhere.example.',
    'ns1 A 127.0.0.1',
    '@ MX 10 mail',
    'mail A 192.0.2.25',
    '_sip._tcp SRV 1 2 5060 sip',
    'sip AAAA 2001:db8::5',
    'a\\.b TXT "a dot inside a label"',
    'sp\\032ce A 192.0.2.32',
    '\\255\\000\\128 A 192.0.2.128',
    'MiXeD A 192.0.2.9',
    'naptr NAPTR 100 10 "u" "E2U+sip" "" sip',
    'rp RP admin.xin.test. info',
    'info TXT "contact"',
    'old DNAME new.example.',
    'cname CNAME www',
    'www A 192.0.2.80',
    '*.wild A 192.0.2.99',
    'caa CAA 0 issue "ca.example"',
    'sub NS ns.sub',
    'ns.sub A 192.0.2.53',
  ];
  for (let i = 0; i < 1200; i++) lines.push(`host${i} A 10.0.${i >> 8}.${i & 255}`, `host${i} TXT "record ${i} of the transfer-in test"`);
  edit(lines);
  return lines.join('\n') + '\n';
}

/** Version 2: one record changed, one added, one deleted; version 3: a TTL changed (the RRset deleted and added). */
const v2 = (l: string[]): void => {
  l[l.indexOf('mail A 192.0.2.25')] = 'mail A 192.0.2.26';
  l.push('added AAAA 2001:db8::77');
  l.splice(l.indexOf('host7 TXT "record 7 of the transfer-in test"'), 1);
};
const v3 = (l: string[]): void => {
  v2(l);
  l[l.indexOf('www A 192.0.2.80')] = 'www 60 A 192.0.2.80';
};

/** Lines of a region of uncompressed wire records, sorted (owner lower-cased, RDATA hex). */
const sorted = (region: Uint8Array): string[] => wireLines(region).sort();

/** The transfer's records as lines, its SOA among them, sorted. */
function axfrLines(r: TransferInOutcome): string[] {
  if (r.kind !== 'axfr') expect.fail(`expected an AXFR, got ${JSON.stringify(r.kind === 'error' ? r : r.kind)}`);
  return [...wireLines(r.soa), ...wireLines(r.records)].sort();
}

describe('transfers in from real primaries: NSD and Knot (AXFR, IXFR, SOA queries, TSIG)', function () {
  this.timeout(60_000);
  const missing = nsdUnavailable() ?? knotUnavailable();
  const peerKey: PeerKey = { name: 'xin-key', algorithm: 'hmac-sha256', secret: randomBytes(32).toString('base64') };
  const key: TsigKey = tsigKey({ name: peerKey.name, algorithm: 'hmac-sha256', secret: peerKey.secret });
  const wrongSecret: TsigKey = tsigKey({ name: peerKey.name, algorithm: 'hmac-sha256', secret: randomBytes(32).toString('base64') });
  const unknownKey: TsigKey = tsigKey({ name: 'no-such-key', algorithm: 'hmac-sha256', secret: peerKey.secret });
  let dir: string;
  let file: string;
  let nsd: Nsd;
  let knot: Knot;
  const remote = (port: number): { address: string; port: number } => ({ address: '127.0.0.1', port });
  const timeoutMs = 10_000;

  before(async function () {
    if (missing) {
      console.log(`      skip: ${missing}`);
      this.skip();
    }
    dir = mkdtempSync(join(tmpdir(), 'shardns-xfrin-'));
    file = join(dir, 'xin.test.zone');
    writeFileSync(file, zoneText(1));
    const closed = join(dir, 'closed.test.zone');
    writeFileSync(closed, '$ORIGIN closed.test.\n$TTL 60\n@ SOA ns1 h 1 60 60 600 60\n@ NS ns1\nns1 A 127.0.0.1\n');
    [nsd, knot] = await Promise.all([
      startNsd(
        [
          // NSD keeps IXFR history from zone file reloads (4.6: create-ixfr), gives it unsigned or with the key.
          { name: 'xin.test', file, lines: ['provide-xfr: 127.0.0.0/8 NOKEY', `provide-xfr: 127.0.0.0/8 ${peerKey.name}`, 'store-ixfr: yes', 'create-ixfr: yes'] },
          { name: 'closed.test', file: closed },
        ],
        await freePort(),
        [`xfrdir: "${dir}"`],
        { keys: [peerKey] },
      ),
      // Knot computes the difference of a reloaded zone file and keeps it in its journal; transfers need the key.
      startKnot([{ name: ORIGIN, file, transfer: [{ address: '127.0.0.0/8', key: peerKey.name }], lines: ['zonefile-load: difference'] }], await freePort(), [peerKey]),
    ]);
  });
  after(() => {
    nsd?.stop();
    knot?.stop();
  });

  describe('(a) AXFR: exactly the records of the zone file', () => {
    const expected = (): string[] => recordsOf(image(zoneText(1), ORIGIN), true);

    it('from NSD, unsigned: several messages, every record equal to the zone file parsed by our parser', async () => {
      const r = await transferIn({ origin: ORIGIN, remote: remote(nsd.port), key: null, qtype: 'axfr', timeoutMs });
      expect(axfrLines(r)).to.deep.equal(expected());
      if (r.kind !== 'axfr') return;
      expect(r.serial).to.equal(1);
      expect(r.count).to.equal(expected().length - 1);
      expect(r.messages).to.be.greaterThan(1);
      expect(r.bytes).to.be.greaterThan(40_000);
    });

    it('from NSD with TSIG: every message verified (RFC 8945 §5.3.1)', async () => {
      const r = await transferIn({ origin: ORIGIN, remote: remote(nsd.port), key, qtype: 'axfr', timeoutMs });
      expect(axfrLines(r)).to.deep.equal(expected());
    });

    it('over the record limit: refused with the limit named, before the zone is all read', async () => {
      const r = await transferIn({ origin: ORIGIN, remote: remote(nsd.port), key: null, qtype: 'axfr', timeoutMs, limits: { maxRecords: 1000, maxBytes: 1 << 30 } });
      if (r.kind !== 'error') expect.fail(r.kind);
      expect(r.why).to.match(/^AXFR of xin\.test\. from 127\.0\.0\.1:\d+: message \d+, record \d+: more than 1000 records, the limit for one transfer/);
    });

    it('from Knot with TSIG', async () => {
      const r = await transferIn({ origin: ORIGIN, remote: remote(knot.port), key, qtype: 'axfr', timeoutMs });
      expect(axfrLines(r)).to.deep.equal(expected());
      expect(r.messages).to.be.greaterThan(1);
    });
  });

  describe('(c) SOA queries', () => {
    it('NSD and Knot, with TSIG: the serial and the SOA record of the zone file', async () => {
      const soaLine = recordsOf(image(zoneText(1), ORIGIN), true).filter((l) => l.startsWith('xin.test. 6 '));
      for (const port of [nsd.port, knot.port]) {
        const r = await querySoa({ origin: ORIGIN, remote: remote(port), key, timeoutMs });
        if (r.kind !== 'ok') expect.fail(r.why);
        expect({ serial: r.serial, transport: r.transport }).to.deep.equal({ serial: 1, transport: 'udp' });
        expect(wireLines(r.soa)).to.deep.equal(soaLine);
      }
    });

    it('NSD unsigned; a zone the primary does not have is an error naming the RCODE', async () => {
      const r = await querySoa({ origin: ORIGIN, remote: remote(nsd.port), key: null, timeoutMs });
      expect(r).to.deep.include({ kind: 'ok', serial: 1 });
      const none = await querySoa({ origin: 'absent.test.', remote: remote(nsd.port), key: null, timeoutMs });
      expect(none.kind).to.equal('error');
      if (none.kind === 'error') expect(none.why).to.match(/^127\.0\.0\.1:\d+, SOA query for absent\.test\.: the primary answered REFUSED/);
    });
  });

  describe('(d) TSIG errors', () => {
    for (const which of ['NSD', 'Knot'] as const) {
      it(`${which}: a wrong secret is BADSIG, a key it does not know BADKEY (transfers and SOA queries)`, async () => {
        const port = which === 'NSD' ? nsd.port : knot.port;
        const badSig = await transferIn({ origin: ORIGIN, remote: remote(port), key: wrongSecret, qtype: 'axfr', timeoutMs });
        expect(badSig.kind).to.equal('error');
        if (badSig.kind === 'error') {
          expect(badSig.why).to.match(/^AXFR of xin\.test\. from 127\.0\.0\.1:\d+ key xin-key\., message 1: TSIG: the server answered TSIG error BADSIG \(the secrets differ\)/);
          expect({ rcode: badSig.rcode, tsigError: badSig.tsigError }).to.deep.equal({ rcode: 9, tsigError: 16 });
        }
        const badKey = await transferIn({ origin: ORIGIN, remote: remote(port), key: unknownKey, qtype: 'axfr', timeoutMs });
        if (badKey.kind !== 'error') expect.fail(badKey.kind);
        expect(badKey.why).to.match(/TSIG: the server answered TSIG error BADKEY \(the primary does not know the key/);
        expect({ rcode: badKey.rcode, tsigError: badKey.tsigError }).to.deep.equal({ rcode: 9, tsigError: 17 });
        const soa = await querySoa({ origin: ORIGIN, remote: remote(port), key: wrongSecret, timeoutMs });
        if (soa.kind !== 'error') expect.fail(soa.kind);
        expect(soa.why).to.match(/^the reply from 127\.0\.0\.1:\d+ key xin-key\. to the SOA query for xin\.test\.: TSIG: the server answered TSIG error BADSIG/);
      });
    }

    it('Knot: an unsigned AXFR where the key is required is refused, and said so', async () => {
      const r = await transferIn({ origin: ORIGIN, remote: remote(knot.port), key: null, qtype: 'axfr', timeoutMs });
      if (r.kind !== 'error') expect.fail(r.kind);
      expect(r.why).to.match(/^AXFR of xin\.test\. from 127\.0\.0\.1:\d+: message 1: the primary answered (NOTAUTH|REFUSED)/);
    });
  });

  describe('(b, e) IXFR', () => {
    const ourSoa = async (port: number): Promise<Uint8Array> => {
      const r = await querySoa({ origin: ORIGIN, remote: remote(port), key, timeoutMs });
      if (r.kind !== 'ok') expect.fail(r.why);
      return r.soa;
    };

    it('(e) for a serial the primary has no history of: the whole zone in AXFR form (NSD and Knot)', async () => {
      for (const port of [nsd.port, knot.port]) {
        const r = await transferIn({ origin: ORIGIN, remote: remote(port), key, qtype: 'ixfr', serial: 4_000_000_000, timeoutMs });
        expect(axfrLines(r)).to.deep.equal(recordsOf(image(zoneText(1), ORIGIN), true));
      }
    });

    it('(e) IXFR of a zone the primary refuses to transfer: REFUSED, the RCODE given for the caller', async () => {
      const r = await transferIn({ origin: 'closed.test.', remote: remote(nsd.port), key: null, qtype: 'ixfr', serial: 1, timeoutMs });
      if (r.kind !== 'error') expect.fail(r.kind);
      expect(r.rcode).to.equal(5);
      expect(r.why).to.match(/^IXFR of closed\.test\. from 127\.0\.0\.1:\d+: message 1: the primary answered REFUSED/);
    });

    it('the SOA alone when we are current', async () => {
      const soa = await ourSoa(knot.port);
      for (const port of [nsd.port, knot.port]) {
        const r = await transferIn({ origin: ORIGIN, remote: remote(port), key, qtype: 'ixfr', soa, timeoutMs });
        expect(r).to.deep.include({ kind: 'current', serial: 1 });
      }
    });

    it('(b) after the zone file changes twice: the exact changes from Knot and from NSD, each version chained', async () => {
      const soa1 = await ourSoa(knot.port);
      const one = image(zoneText(1), ORIGIN);
      const two = image(zoneText(2, v2), ORIGIN);
      const three = image(zoneText(3, v3), ORIGIN);
      const want = [diffImages(one, two), diffImages(two, three)];
      // Knot: the zone file rewritten, zone-reload; NSD: its copy rewritten, SIGHUP.
      const knotFile = join(knot.dir, 'xin.test.zone');
      for (const [serial, text] of [[2, zoneText(2, v2)], [3, zoneText(3, v3)]] as const) {
        writeFileSync(knotFile, text);
        writeFileSync(nsd.zoneFile(file), text);
        knot.ctl('zone-reload', ORIGIN);
        nsd.proc.kill('SIGHUP');
        for (const port of [knot.port, nsd.port]) {
          const now = async (): Promise<boolean> => {
            const r = await querySoa({ origin: ORIGIN, remote: remote(port), key, timeoutMs: 1000 });
            return r.kind === 'ok' && r.serial === serial;
          };
          expect(await until(now, 10_000, 100), `serial ${serial} at port ${port}\n${port === knot.port ? knot.log() : nsd.log()}`).to.equal(true);
        }
      }
      for (const [name, port] of [['Knot', knot.port], ['NSD', nsd.port]] as const) {
        const r = await transferIn({ origin: ORIGIN, remote: remote(port), key, qtype: 'ixfr', soa: soa1, timeoutMs });
        if (r.kind !== 'ixfr') expect.fail(`${name}: ${JSON.stringify(r.kind === 'error' ? r : r.kind)}\n${name === 'Knot' ? knot.log() : nsd.log()}`);
        expect(r.versions.map((v) => [v.from, v.to]), name).to.deep.equal([
          [1, 2],
          [2, 3],
        ]);
        r.versions.forEach((v, i) => {
          const w = want[i]!;
          const got = { deleted: sorted(v.deleted), added: sorted(v.added) };
          const exact = { deleted: sorted(w.deleted), added: sorted(w.added) };
          expect(wireLines(v.oldSoa)).to.deep.equal(wireLines(w.oldSoa));
          expect(wireLines(v.newSoa)).to.deep.equal(wireLines(w.newSoa));
          if (name === 'Knot') {
            expect(got, `${name} ${v.from}→${v.to}`).to.deep.equal(exact);
            expect([v.deletedCount, v.addedCount]).to.deep.equal([w.deletedCount, w.addedCount]);
            return;
          }
          // NSD 4.6's create-ixfr also "adds" records that did not change (here the MX whose
          // exchange's address changed): its deletions are exact, its additions a superset whose
          // extra records are in both versions, so applying it still gives the new zone.
          expect(got.deleted, `${name} ${v.from}→${v.to}`).to.deep.equal(exact.deleted);
          const extra = got.added.filter((l) => !exact.added.includes(l));
          expect(got.added.length - extra.length).to.equal(exact.added.length);
          const before = recordsOf([one, two, three][i]!);
          const after = recordsOf([one, two, three][i + 1]!);
          expect(extra.filter((l) => !before.includes(l) || !after.includes(l)), 'extra additions not already in the zone').to.deep.equal([]);
          expect(v.addedCount).to.equal(got.added.length);
        });
        // From serial 2: the last version alone.
        const from2 = await transferIn({ origin: ORIGIN, remote: remote(port), key, qtype: 'ixfr', serial: 2, timeoutMs });
        if (from2.kind !== 'ixfr') expect.fail(`${name}: ${from2.kind}`);
        expect(from2.versions.map((v) => [v.from, v.to])).to.deep.equal([[2, 3]]);
      }
      // The changes are what they should be: one changed, one added, one deleted; then a TTL change.
      expect(want.map((v) => [v.deletedCount, v.addedCount])).to.deep.equal([
        [2, 2],
        [1, 1],
      ]);
    });
  });
});

describe('transfers in: the TCP edge against a scripted primary (failures no real primary gives on demand)', function () {
  this.timeout(20_000);
  /** A TCP server that reads one framed query and does `act` with it. */
  async function scripted(act: (sock: net.Socket, query: Buffer) => void): Promise<{ port: number; close(): void }> {
    const server = net.createServer((sock) => {
      let buf = Buffer.alloc(0);
      sock.on('data', (d) => {
        buf = Buffer.concat([buf, d]);
        if (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) act(sock, buf.subarray(2, 2 + buf.readUInt16BE(0)));
      });
      sock.on('error', () => undefined);
    });
    const port = await freePort();
    await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
    return { port, close: () => server.close() };
  }
  /** A framed reply: the query's header and question with QR, AA and this RCODE, and `answer` (wire records). */
  function reply(query: Buffer, rcode: number, answer: Buffer[] = []): Buffer {
    let qEnd = 12;
    while (query[qEnd] !== 0) qEnd += query[qEnd]! + 1;
    qEnd += 5;
    const msg = Buffer.concat([query.subarray(0, qEnd), ...answer]);
    msg[2] = 0x84;
    msg[3] = rcode;
    msg.writeUInt16BE(answer.length, 6);
    msg.writeUInt16BE(0, 8);
    msg.writeUInt16BE(0, 10);
    const len = Buffer.alloc(2);
    len.writeUInt16BE(msg.length);
    return Buffer.concat([len, msg]);
  }
  const soa = Buffer.from(`0378696e0474657374000006000100000000${'0016'}0000${'00000001'}${'00'.repeat(16)}`, 'hex');

  it('NOTIMP to an IXFR: an error with rcode 4, the caller then asks AXFR (RFC 1995 §4)', async () => {
    const s = await scripted((sock, q) => sock.write(reply(q, 4)));
    try {
      const r = await transferIn({ origin: ORIGIN, remote: { address: '127.0.0.1', port: s.port }, key: null, qtype: 'ixfr', serial: 1, timeoutMs: 5000 });
      expect(r).to.deep.include({ kind: 'error', rcode: 4 });
      if (r.kind === 'error') expect(r.why).to.match(/^IXFR of xin\.test\. from 127\.0\.0\.1:\d+: message 1: the primary answered NOTIMP/);
    } finally {
      s.close();
    }
  });

  it('a connection closed before the closing SOA: the remote, and how far it got', async () => {
    const s = await scripted((sock, q) => sock.end(reply(q, 0, [soa])));
    try {
      const r = await transferIn({ origin: ORIGIN, remote: { address: '127.0.0.1', port: s.port }, key: null, qtype: 'axfr', timeoutMs: 5000 });
      if (r.kind !== 'error') expect.fail(r.kind);
      expect(r.why).to.equal(`AXFR of xin.test. from 127.0.0.1:${s.port}: the connection was closed, after 1 message (1 record), before the closing SOA`);
      expect(r.messages).to.equal(1);
    } finally {
      s.close();
    }
  });

  it('a primary that goes quiet: the idle timeout', async () => {
    const s = await scripted((sock, q) => sock.write(reply(q, 0, [soa])));
    try {
      const r = await transferIn({ origin: ORIGIN, remote: { address: '127.0.0.1', port: s.port }, key: null, qtype: 'axfr', timeoutMs: 5000, idleTimeoutMs: 300 });
      if (r.kind !== 'error') expect.fail(r.kind);
      expect(r.why).to.match(/: nothing received for 300 ms, after 1 message \(1 record\), before the closing SOA$/);
      expect(r.ms).to.be.lessThan(3000);
    } finally {
      s.close();
    }
  });

  it('a port nobody listens on: connection refused, for the transfer and for the SOA query', async () => {
    const port = await freePort();
    const r = await transferIn({ origin: ORIGIN, remote: { address: '127.0.0.1', port }, key: null, qtype: 'axfr', timeoutMs: 5000 });
    if (r.kind !== 'error') expect.fail(r.kind);
    expect(r.why).to.equal(`AXFR of xin.test. from 127.0.0.1:${port}: connection refused (is the primary listening on that address and port?), before the first message`);
    const s = await querySoa({ origin: ORIGIN, remote: { address: '127.0.0.1', port }, key: null, timeoutMs: 2000 });
    if (s.kind !== 'error') expect.fail(s.kind);
    expect(s.why).to.match(/^SOA query for xin\.test\. to 127\.0\.0\.1:\d+: connection refused/);
  });

  for (const host of ['127.0.0.1', '::1']) {
    it(`SOA query to ${host}: replies with another ID or from another port are passed over; TC asks again over TCP`, async () => {
      const port = await freePort();
      const tcp = net.createServer((sock) => sock.once('data', (d) => sock.write(reply(d.subarray(2), 0, [soa]))));
      await new Promise<void>((resolve) => tcp.listen(port, host, resolve));
      const family = host.includes(':') ? 'udp6' : 'udp4';
      const udp = dgram.createSocket(family);
      const other = dgram.createSocket(family);
      udp.on('message', (q, from) => {
        const wrongId = reply(q, 0, [soa]).subarray(2);
        wrongId.writeUInt16BE(q.readUInt16BE(0) ^ 1, 0);
        udp.send(wrongId, from.port, from.address);
        // A forged answer with the right ID from another port: the connected socket never sees it.
        other.send(reply(q, 0, [soa]).subarray(2), from.port, from.address);
        const truncated = reply(q, 0).subarray(2);
        truncated[2] |= 0x02;
        setTimeout(() => udp.send(truncated, from.port, from.address), 50);
      });
      await new Promise<void>((resolve) => udp.bind(port, host, resolve));
      try {
        const r = await querySoa({ origin: ORIGIN, remote: { address: host, port }, key: null, timeoutMs: 3000 });
        expect(r).to.deep.include({ kind: 'ok', serial: 1, transport: 'tcp' });
      } finally {
        udp.close();
        other.close();
        tcp.close();
      }
    });
  }

  it('an address that is not an IP address, or a bad port: said at once, nothing looked up', async () => {
    const r = await transferIn({ origin: ORIGIN, remote: { address: 'primary.example', port: 53 }, key: null, qtype: 'axfr', timeoutMs: 1000 });
    expect(r).to.deep.include({ kind: 'error', why: 'AXFR of xin.test.: the primary\'s address "primary.example" is not an IPv4 or IPv6 address' });
    const s = await querySoa({ origin: ORIGIN, remote: { address: '127.0.0.1', port: 0 }, key: null, timeoutMs: 1000 });
    expect(s).to.deep.include({ kind: 'error', why: 'SOA query for xin.test.: the primary\'s port 0 is not from 1 to 65535' });
  });

  it('a signed transfer whose reply is unsigned: said so, with its RCODE', async () => {
    const s = await scripted((sock, q) => sock.write(reply(q, 5)));
    try {
      const k = tsigKey({ name: 'k', algorithm: 'hmac-sha256', secret: randomBytes(32).toString('base64') });
      const r = await transferIn({ origin: ORIGIN, remote: { address: '127.0.0.1', port: s.port }, key: k, qtype: 'axfr', timeoutMs: 5000 });
      if (r.kind !== 'error') expect.fail(r.kind);
      expect(r.why).to.match(/^AXFR of xin\.test\. from 127\.0\.0\.1:\d+ key k\., message 1 is not signed, though the query was signed with key k\. \(RFC 8945 §5\.4\): it answered REFUSED/);
      expect(r.rcode).to.equal(5);
    } finally {
      s.close();
    }
  });
});
