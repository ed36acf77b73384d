import { expect } from 'chai';
import dgram from 'node:dgram';
import dnsPacket from 'dns-packet';
import type { Remote, ZoneSpec } from '../../../src/config.js';
import { createLogger } from '../../../src/log.js';
import { Notifier, NOTIFY_TIMING, notifyWait } from '../../../src/xfr/notifier.js';
import { notifyMessage, notifyReply } from '../../../src/xfr/notify.js';
import { findTsig, signResponse, tsigKey, TsigKeyring, unsignedPart, verifyRequest } from '../../../src/xfr/tsig.js';
import { until } from '../../helpers/server.js';

/** An SOA record's TTL and RDATA for example.com. with `serial`. */
function soaOf(serial: number): { ttl: number; rdata: Buffer } {
  const name = (labels: string[]): number[] => [...labels.flatMap((l) => [l.length, ...Buffer.from(l)]), 0];
  const n = (v: number): number[] => [v >>> 24, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff];
  return { ttl: 3600, rdata: Buffer.from([...name(['ns1', 'example', 'com']), ...name(['hostmaster', 'example', 'com']), ...n(serial), ...n(7200), ...n(3600), ...n(1209600), ...n(300)]) };
}

describe('NOTIFY messages (RFC 1996 §3.7)', () => {
  it('opcode NOTIFY, AA, the zone\'s SOA question, no records', () => {
    const m = notifyMessage('Example.COM.', 0x1234);
    const d = dnsPacket.decode(m) as unknown as { id: number; opcode: string; flag_aa: boolean; questions: { name: string; type: string; class: string }[]; answers: unknown[] };
    expect({ id: d.id, opcode: d.opcode, aa: d.flag_aa, q: d.questions, an: d.answers.length }).to.deep.equal({ id: 0x1234, opcode: 'NOTIFY', aa: true, q: [{ name: 'Example.COM', type: 'SOA', class: 'IN' }], an: 0 });
  });

  it('with the zone\'s SOA given: one answer record, the SOA, its owner a pointer to the question (RFC 1996 §3.7, as NSD sends it)', () => {
    const soa = soaOf(2024010107);
    const m = notifyMessage('example.com.', 5, soa);
    const d = dnsPacket.decode(m) as unknown as { questions: unknown[]; answers: { name: string; type: string; ttl: number; data: { serial: number; mname: string; rname: string } }[] };
    expect(d.answers).to.have.length(1);
    expect(d.answers[0]).to.deep.include({ name: 'example.com', type: 'SOA', ttl: 3600 });
    expect(d.answers[0]!.data).to.deep.include({ serial: 2024010107, mname: 'ns1.example.com', rname: 'hostmaster.example.com' });
    // The owner is two octets, a pointer to offset 12.
    expect(m.readUInt16BE(12 + 13 + 4)).to.equal(0xc00c);
    // Its reply echoes the header and question only: still an acknowledgement.
    const ack = Buffer.from(m.subarray(0, 12 + 13 + 4));
    ack[2] = ack[2]! | 0x80;
    ack.writeUInt16BE(0, 6);
    expect(notifyReply(ack, m.subarray(0, 12 + 13 + 4)).kind).to.equal('ack');
  });

  const sent = notifyMessage('example.com.', 77);
  const reply = (patch: (b: Buffer) => void): Buffer => {
    const b = Buffer.from(sent);
    b[2] = b[2]! | 0x80;
    patch(b);
    return b;
  };
  const cases: { name: string; bytes: Buffer; kind: string }[] = [
    { name: 'its response with NOERROR: an acknowledgement', bytes: reply(() => undefined), kind: 'ack' },
    { name: 'the question echoed in another case', bytes: reply((b) => (b[13] = 0x45)), kind: 'ack' },
    { name: 'REFUSED: a no', bytes: reply((b) => (b[3] = 5)), kind: 'refused' },
    { name: 'another ID', bytes: reply((b) => (b[1] = 78)), kind: 'other' },
    { name: 'not a response (QR clear)', bytes: Buffer.from(sent), kind: 'other' },
    { name: 'opcode QUERY', bytes: reply((b) => (b[2] = 0x80)), kind: 'other' },
    { name: 'another question', bytes: reply((b) => (b[14] = 0x79)), kind: 'other' },
  ];
  for (const c of cases) it(`reads ${c.name}`, () => expect(notifyReply(c.bytes, sent).kind).to.equal(c.kind));
});

describe('NOTIFY out: the Notifier against a secondary on loopback', function () {
  this.timeout(20_000);
  const lines: string[] = [];
  const log = createLogger('test', 'debug', 'text', { out: (l) => lines.push(l), err: (l) => lines.push(l) });
  const secret = Buffer.alloc(32, 3).toString('base64');
  let secondary: dgram.Socket;
  let port: number;
  let notifier: Notifier | null = null;

  beforeEach(async () => {
    lines.length = 0;
    secondary = dgram.createSocket('udp4');
    await new Promise<void>((r) => secondary.bind(0, '127.0.0.1', r));
    port = (secondary.address() as { port: number }).port;
  });
  afterEach(() => {
    notifier?.close();
    secondary.close();
  });

  /** A notifier for one zone with this secondary as its target. */
  function make(key: string | null, timing = { firstTimeoutMs: 100, retries: 3 }): Notifier {
    const target: Remote = { address: '127.0.0.1', port, key };
    const zone: ZoneSpec = { name: 'example.com.', type: 'primary', file: '/dev/null', notify: [target], allowTransfer: [], allowNotify: [] };
    return new Notifier({ zones: [zone], keys: key === null ? [] : [{ name: key, algorithm: 'hmac-sha256', secret }] }, log, timing);
  }

  it('is acknowledged at the first answer; a zone served at the same serial again is not notified again', async () => {
    const got: Buffer[] = [];
    secondary.on('message', (m, r) => {
      got.push(m);
      const ack = Buffer.from(m);
      ack[2] = ack[2]! | 0x80;
      secondary.send(ack, r.port, r.address);
    });
    notifier = make(null);
    notifier.served([{ origin: 'example.com.', serial: 7 }]);
    expect(await until(() => lines.some((l) => /NOTIFY for example\.com\. serial 7 acknowledged by 127\.0\.0\.1:\d+/.test(l)), 3000, 20)).to.equal(true);
    notifier.served([{ origin: 'example.com.', serial: 7 }]);
    await new Promise((r) => setTimeout(r, 200));
    expect(got).to.have.length(1);
    expect(notifier.outstanding).to.equal(0);
  });

  it('waits twice as long before each retry: 2, 4, 8, 16, 32, 64 s by default (about two minutes, RFC 1996 §3.6)', () => {
    expect([0, 1, 2, 3, 4, 5].map((a) => notifyWait(NOTIFY_TIMING, a) / 1000)).to.deep.equal([2, 4, 8, 16, 32, 64]);
    expect(NOTIFY_TIMING.retries).to.equal(5);
  });

  it('retries until answered, then stops', async () => {
    const times: number[] = [];
    secondary.on('message', (m, r) => {
      times.push(Date.now());
      // Silent twice, then an answer.
      if (times.length < 3) return;
      const ack = Buffer.from(m);
      ack[2] = ack[2]! | 0x80;
      secondary.send(ack, r.port, r.address);
    });
    notifier = make(null);
    notifier.served([{ origin: 'example.com.', serial: 8 }]);
    expect(await until(() => notifier!.outstanding === 0, 5000, 20)).to.equal(true);
    await new Promise((r) => setTimeout(r, 300));
    expect(times).to.have.length(3);
  });

  it('gives up after its retries and says so', async () => {
    let count = 0;
    secondary.on('message', () => count++);
    notifier = make(null, { firstTimeoutMs: 50, retries: 2 });
    notifier.served([{ origin: 'example.com.', serial: 9 }]);
    expect(await until(() => lines.some((l) => /no reply after 3 attempts; giving up/.test(l)), 5000, 20)).to.equal(true);
    expect(count).to.equal(3);
  });

  it('signs with the target\'s key, the SOA it carries included (the secondary verifies it), and takes only a reply signed with it', async () => {
    const key = tsigKey({ name: 'xfr-key', algorithm: 'hmac-sha256', secret });
    let verified = false;
    let forged = true;
    let serials: number[] = [];
    secondary.on('message', (m, r) => {
      const found = findTsig(m);
      if (found.kind !== 'found') return;
      serials = (dnsPacket.decode(m) as unknown as { answers: { type: string; data: { serial: number } }[] }).answers.filter((a) => a.type === 'SOA').map((a) => a.data.serial);
      verified = verifyRequest(m, found.record, new TsigKeyring([key]), Date.now() / 1000).kind === 'ok';
      const ack = Buffer.from(unsignedPart(m, found.record));
      ack[2] = ack[2]! | 0x80;
      // First an unsigned answer (ignored), then a signed one.
      if (forged) {
        forged = false;
        secondary.send(ack, r.port, r.address);
      }
      const signed = signResponse(ack, key, found.record.mac, { timeSigned: Math.floor(Date.now() / 1000), fudge: 300, originalId: found.record.originalId, error: 0, other: Buffer.alloc(0) });
      setTimeout(() => secondary.send(signed, r.port, r.address), 20);
    });
    notifier = make('xfr-key.');
    notifier.served([{ origin: 'example.com.', serial: 10, soa: () => soaOf(10) }]);
    expect(await until(() => lines.some((l) => /serial 10 acknowledged by 127\.0\.0\.1:\d+ key xfr-key\./.test(l)), 3000, 20)).to.equal(true);
    // The SOA rides in the answer section, under the signature.
    expect(serials).to.deep.equal([10]);
    expect(verified).to.equal(true);
    expect(lines.some((l) => /an unsigned reply to a signed NOTIFY; ignored/.test(l))).to.equal(true);
  });

  it('a refusal ends the retries with a hint', async () => {
    secondary.on('message', (m, r) => {
      const no = Buffer.from(m);
      no[2] = no[2]! | 0x80;
      no[3] = 5;
      secondary.send(no, r.port, r.address);
    });
    notifier = make(null);
    notifier.served([{ origin: 'example.com.', serial: 11 }]);
    expect(await until(() => lines.some((l) => /serial 11 to 127\.0\.0\.1:\d+: answered RCODE 5 \(REFUSED: is this server allowed to notify it/.test(l)), 3000, 20)).to.equal(true);
    expect(notifier.outstanding).to.equal(0);
  });
});
