import { expect } from 'chai';
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import dgram from 'node:dgram';
import dnsPacket from 'dns-packet';
import { findTsig, signRequest, signResponse, tsigErrorReply, tsigKey, TsigKeyring, TsigStreamSigner, TsigStreamVerifier, TSIG_ALGORITHMS, TSIG_ERROR, unsignedPart, verifyRequest, verifyResponse, type TsigAlgorithm, type TsigKey } from '../../../src/xfr/tsig.js';
import { buildQuery } from '../../helpers/dns-client.js';

/** Whether a tool is installed. */
function has(tool: string): boolean {
  return !spawnSync(tool, ['-v'], { encoding: 'utf8' }).error;
}

/**
 * The query a real client sends when told to sign with `spec` (dig -y or
 * kdig -y, `alg:name:secret`): caught on a loopback UDP socket, never answered.
 */
async function capture(tool: 'dig' | 'kdig', spec: string, name = 'example.com', type = 'SOA'): Promise<Buffer> {
  const sock = dgram.createSocket('udp4');
  await new Promise<void>((r) => sock.bind(0, '127.0.0.1', r));
  const port = (sock.address() as { port: number }).port;
  const args = tool === 'dig' ? ['-y', spec, '-p', String(port), '@127.0.0.1', name, type, '+tries=1', '+time=2'] : ['-y', spec, '-p', String(port), '@127.0.0.1', name, type, '+retry=0', '+timeout=2'];
  const child = spawn(tool, args, { stdio: 'ignore' });
  const msg = await new Promise<Buffer>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${tool} sent nothing`)), 5000);
    sock.once('message', (m) => {
      clearTimeout(timer);
      resolve(m);
    });
  });
  child.kill();
  sock.close();
  return msg;
}

/** The message with its TSIG's MAC cut to `size` octets (what a truncating signer sends). */
function truncated(msg: Buffer, size: number): Buffer {
  const found = findTsig(msg);
  if (found.kind !== 'found') throw new Error('no TSIG');
  const r = found.record;
  const macAt = msg.length - 6 - r.other.length - r.mac.length;
  const out = Buffer.concat([msg.subarray(0, macAt - 2), Buffer.from([size >> 8, size & 0xff]), r.mac.subarray(0, size), msg.subarray(macAt + r.mac.length)]);
  // RDLENGTH is 2 octets before the algorithm name, which follows the owner, type, class and TTL.
  const rdlengthAt = r.start + r.keyWire.length + 8;
  out.writeUInt16BE(out.readUInt16BE(rdlengthAt) - (r.mac.length - size), rdlengthAt);
  return out;
}

const secret = (): string => randomBytes(32).toString('base64');

describe('TSIG (RFC 8945): requests signed by dig and kdig verify', function () {
  this.timeout(20_000);
  for (const tool of ['dig', 'kdig'] as const) {
    for (const algorithm of TSIG_ALGORITHMS) {
      it(`${tool} -y ${algorithm}: ok with the key, BADSIG with another secret, BADKEY under another name or algorithm`, async function () {
        if (!has(tool)) {
          console.log(`      skip: ${tool} not installed — apt-get install ${tool === 'dig' ? 'bind9-dnsutils' : 'knot-dnsutils'}`);
          this.skip();
        }
        const s = secret();
        const msg = await capture(tool, `${algorithm}:Xfr-Key.Example:${s}`);
        const found = findTsig(msg);
        expect(found.kind).to.equal('found');
        if (found.kind !== 'found') return;
        const now = Date.now() / 1000;
        const good = new TsigKeyring([tsigKey({ name: 'xfr-key.example.', algorithm, secret: s })]);
        const ok = verifyRequest(msg, found.record, good, now);
        expect(ok.kind, JSON.stringify(ok)).to.equal('ok');
        const wrong = new TsigKeyring([tsigKey({ name: 'xfr-key.example', algorithm, secret: secret() })]);
        const bad = verifyRequest(msg, found.record, wrong, now);
        expect(bad.kind === 'error' && bad.error).to.equal(TSIG_ERROR.BADSIG);
        const other = new TsigKeyring([tsigKey({ name: 'other-key', algorithm, secret: s })]);
        const unknown = verifyRequest(msg, found.record, other, now);
        expect(unknown.kind === 'error' && unknown.error).to.equal(TSIG_ERROR.BADKEY);
        const otherAlg: TsigAlgorithm = algorithm === 'hmac-sha256' ? 'hmac-sha512' : 'hmac-sha256';
        const mismatch = verifyRequest(msg, found.record, new TsigKeyring([tsigKey({ name: 'xfr-key.example.', algorithm: otherAlg, secret: s })]), now);
        expect(mismatch.kind === 'error' && mismatch.error).to.equal(TSIG_ERROR.BADKEY);
        // The time check comes after the MAC: ten minutes later, the good key gets BADTIME.
        const late = verifyRequest(msg, found.record, good, now + 600);
        expect(late.kind === 'error' && late.error).to.equal(TSIG_ERROR.BADTIME);
      });
    }
  }
});

describe('TSIG: our signatures, error replies, truncation', () => {
  const key = tsigKey({ name: 'xfr-key', algorithm: 'hmac-sha256', secret: secret() });
  const keys = new TsigKeyring([key]);
  const now = 1_800_000_000;

  /** A signed query and its TSIG record. */
  function signedQuery(k: TsigKey = key, at = now): { bytes: Buffer; mac: Buffer } {
    return signRequest(buildQuery('example.com', 'SOA', 'IN', { id: 4321 }), k, at);
  }

  it('a request we sign verifies, and the response we sign to it verifies against its MAC', () => {
    const q = signedQuery();
    const found = findTsig(q.bytes);
    expect(found.kind).to.equal('found');
    if (found.kind !== 'found') return;
    const check = verifyRequest(q.bytes, found.record, keys, now + 10);
    expect(check.kind).to.equal('ok');
    const response = Buffer.from(unsignedPart(q.bytes, found.record));
    response[2] = response[2]! | 0x80;
    const signed = signResponse(response, key, found.record.mac, { timeSigned: now + 10, fudge: 300, originalId: 4321, error: 0, other: Buffer.alloc(0) });
    expect(verifyResponse(signed, key, q.mac, now + 11)).to.deep.include({ kind: 'ok' });
    // Signed over the request's MAC: another request's MAC does not verify it.
    expect(verifyResponse(signed, key, signedQuery(key, now + 1).mac, now + 11).kind).to.equal('error');
    // Any octet changed breaks it.
    const tampered = Buffer.from(signed);
    tampered[2] = tampered[2]! ^ 0x04;
    expect(verifyResponse(tampered, key, q.mac, now + 11).kind).to.equal('error');
  });

  const cases: { name: string; query: () => Buffer; at: number; expect: { kind: string; error?: number } }[] = [
    { name: 'the whole MAC', query: () => signedQuery().bytes, at: now, expect: { kind: 'ok' } },
    { name: 'HMAC-SHA256 truncated to 16 octets (RFC 4868)', query: () => truncated(signedQuery().bytes, 16), at: now, expect: { kind: 'ok' } },
    { name: 'HMAC-SHA256 truncated to 12 octets: below half the hash, FORMERR (§5.2.2.1)', query: () => truncated(signedQuery().bytes, 12), at: now, expect: { kind: 'formerr' } },
    { name: 'a MAC altered: BADSIG', query: () => { const b = signedQuery().bytes; b[b.length - 10] = b[b.length - 10]! ^ 0xff; return b; }, at: now, expect: { kind: 'error', error: TSIG_ERROR.BADSIG } },
    { name: 'signed 301 s before our time (fudge 300): BADTIME', query: () => signedQuery(key, now - 301).bytes, at: now, expect: { kind: 'error', error: TSIG_ERROR.BADTIME } },
    { name: 'signed 300 s after: within the fudge', query: () => signedQuery(key, now + 300).bytes, at: now, expect: { kind: 'ok' } },
  ];
  for (const c of cases) {
    it(`verifies ${c.name}`, () => {
      const q = c.query();
      const found = findTsig(q);
      expect(found.kind).to.equal('found');
      if (found.kind !== 'found') return;
      const r = verifyRequest(q, found.record, keys, c.at);
      expect(r.kind).to.equal(c.expect.kind);
      if (c.expect.error !== undefined && r.kind === 'error') expect(r.error).to.equal(c.expect.error);
    });
  }

  it('HMAC-SHA1 truncated to 12 octets (RFC-legal, below our 16): BADTRUNC, answered signed', () => {
    const sha1 = tsigKey({ name: 'old-key', algorithm: 'hmac-sha1', secret: secret() });
    const q = truncated(signedQuery(sha1).bytes, 12);
    const found = findTsig(q);
    if (found.kind !== 'found') throw new Error('no TSIG');
    const check = verifyRequest(q, found.record, new TsigKeyring([sha1]), now);
    expect(check.kind === 'error' && check.error).to.equal(TSIG_ERROR.BADTRUNC);
    if (check.kind !== 'error') return;
    const reply = tsigErrorReply(q, q.length - (q.length - found.record.start) - 0, check, now);
    const rt = findTsig(reply);
    expect(rt.kind === 'found' && rt.record.error).to.equal(TSIG_ERROR.BADTRUNC);
    // Signed with the key over the truncated request MAC: it verifies (the error is the server's word).
    const v = verifyResponse(reply, sha1, found.record.mac, now);
    expect(v).to.deep.include({ kind: 'error', tsigError: TSIG_ERROR.BADTRUNC });
    expect(v.kind === 'error' && v.why).to.match(/server answered TSIG error BADTRUNC/);
  });

  it('BADTIME is answered signed, with the request\'s time and fudge and our time in Other Data (§5.2.3)', () => {
    const q = signedQuery(key, now - 1000).bytes;
    const found = findTsig(q);
    if (found.kind !== 'found') throw new Error('no TSIG');
    const check = verifyRequest(q, found.record, keys, now);
    if (check.kind !== 'error') throw new Error('not an error');
    const questionEnd = 12 + 13 + 4;
    const reply = tsigErrorReply(q, questionEnd, check, now);
    expect(reply[3]! & 0xf, 'RCODE NOTAUTH').to.equal(9);
    const r = findTsig(reply);
    if (r.kind !== 'found') throw new Error('no TSIG in the reply');
    expect(r.record).to.deep.include({ timeSigned: now - 1000, fudge: 300, error: TSIG_ERROR.BADTIME, originalId: 4321 });
    expect(r.record.other.readUIntBE(0, 6)).to.equal(now);
    expect(r.record.mac.length).to.equal(32);
    const v = verifyResponse(reply, key, found.record.mac, now - 1000);
    expect(v.kind === 'error' && v.why).to.match(/server answered TSIG error BADTIME/);
  });

  it('BADKEY and BADSIG are answered unsigned: MAC size 0, the request\'s key and algorithm names (§5.3.2)', () => {
    const q = signedQuery().bytes;
    const found = findTsig(q);
    if (found.kind !== 'found') throw new Error('no TSIG');
    const unknown = verifyRequest(q, found.record, new TsigKeyring([]), now);
    if (unknown.kind !== 'error') throw new Error('not an error');
    const reply = tsigErrorReply(q, 29, unknown, now);
    const decoded = dnsPacket.decode(reply) as unknown as { rcode: string; questions: unknown[] };
    expect(decoded.questions).to.have.length(1);
    const r = findTsig(reply);
    expect(r.kind === 'found' && { error: r.record.error, mac: r.record.mac.length, key: r.record.keyWire.toString('latin1') }).to.deep.equal({ error: TSIG_ERROR.BADKEY, mac: 0, key: '\x07xfr-key\x00' });
  });

  it('a TSIG that is not the last record, or two of them, is FORMERR (§5.2)', () => {
    const q = signedQuery().bytes;
    const twice = Buffer.concat([q, q.subarray(findTsigStart(q))]);
    twice.writeUInt16BE(twice.readUInt16BE(10) + 1, 10);
    expect(findTsig(twice).kind).to.equal('formerr');
    const opt = Buffer.from([0, 0, 41, 4, 0, 0, 0, 0, 0, 0, 0]);
    const notLast = Buffer.concat([q, opt]);
    notLast.writeUInt16BE(notLast.readUInt16BE(10) + 1, 10);
    expect(findTsig(notLast).kind).to.equal('formerr');
  });

  /** The i-th message of a made-up transfer response (one record each). */
  function message(i: number): Buffer {
    return dnsPacket.encode({ type: 'response', id: 4321, flags: dnsPacket.AUTHORITATIVE_ANSWER, answers: [{ name: `m${i}.example.com`, type: 'A', ttl: 60, data: '192.0.2.1' }] });
  }

  /** Where the TSIG record starts. */
  function findTsigStart(q: Buffer): number {
    const f = findTsig(q);
    if (f.kind !== 'found') throw new Error('no TSIG');
    return f.record.start;
  }

  it('a multi-message response (§5.3.1): every message signed, each chaining on the one before; a changed or reordered one fails', () => {
    const q = signedQuery();
    const found = findTsig(q.bytes);
    if (found.kind !== 'found') throw new Error('no TSIG');
    const signer = new TsigStreamSigner(key, found.record.mac, 4321, () => now);
    const bodies = [0, 1, 2, 3].map(message);
    const signed = bodies.map((b) => signer.sign(b));
    const verifier = new TsigStreamVerifier(key, q.mac, () => now);
    for (const m of signed) expect(verifier.next(m)).to.deep.equal({ kind: 'ok' });
    expect(verifier.settled).to.equal(true);
    const swapped = new TsigStreamVerifier(key, q.mac, () => now);
    expect(swapped.next(signed[0]!).kind).to.equal('ok');
    expect(swapped.next(signed[2]!).kind).to.equal('error');
  });

  it('a verifier accepts up to 99 unsigned messages between signed ones, not 100 (§5.3.1)', () => {
    const q = signedQuery();
    const verifier = (unsigned: number): string => {
      const found = findTsig(q.bytes);
      if (found.kind !== 'found') throw new Error('no TSIG');
      const v = new TsigStreamVerifier(key, q.mac, () => now);
      // Signs the first, leaves `unsigned` messages bare, then signs one over them as a server that signs every 100th would.
      const first = signResponse(message(0), key, q.mac, { timeSigned: now, fudge: 300, originalId: 4321, error: 0, other: Buffer.alloc(0) });
      if (v.next(first).kind !== 'ok') return 'first';
      let last = 'ok';
      for (let i = 0; i < unsigned; i++) last = v.next(message(i + 1)).kind;
      return last;
    };
    expect(verifier(99)).to.equal('pending');
    expect(verifier(100)).to.equal('error');
  });
});
