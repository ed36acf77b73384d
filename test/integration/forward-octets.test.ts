/**
 * Forwarding keeps a question's octets (fuzz finding Q2, fuzz/crashes/README.md):
 * a label holding a dot (`a\.b`), octets that are not UTF-8 and mixed case
 * are asked upstream exactly as the client asked them, the client gets its
 * question back exactly, the forward cache tells `a\.b` from `a.b` (and
 * folds case, RFC 4343), and a CNAME of ours whose target is such a name is
 * chased to the right name. dig is the client; the upstreams are a fake that
 * records the octets it was asked, and NSD.
 */

import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { expect } from 'chai';
import { addressReply, startFakeUpstream, type FakeUpstream } from '../helpers/fake-upstream.js';
import { nsdUnavailable, startNsd, type Nsd } from '../helpers/nsd.js';
import { freePort, startServer, type RunningServer } from '../helpers/server.js';
import { writeZone } from '../helpers/zone-text.js';
import { digUnavailable } from '../helpers/transfer-checks.js';

/**
 * dig's sections for one question at 127.0.0.1#port (names as dig prints
 * them: `\.` and `\DDD` escapes show every octet), and whether it saw a
 * reply to another question (`mismatch`; one try only, so a retry answered
 * from the reply cache cannot hide it). Run without blocking: the fake
 * upstream answers from this process.
 */
async function dig(port: number, name: string, type = 'A'): Promise<{ status: string; question: string[]; answer: string[]; mismatch: boolean; output: string }> {
  const args = ['@127.0.0.1', '-p', String(port), '+tries=1', '+time=4', '+nocookie', '+noall', '+comments', '+question', '+answer', name, type];
  // dig exits non-zero when no reply it accepts comes: that is an outcome to check, not a throw.
  const r = await promisify(execFile)('dig', args, { encoding: 'utf8' }).catch((e: { stdout?: string; stderr?: string }) => ({ stdout: e.stdout ?? '', stderr: e.stderr ?? '' }));
  const output = r.stdout;
  const section = (title: string): string[] => {
    const m = new RegExp(`;; ${title} SECTION:\\n([\\s\\S]*?)(?:\\n\\n|$)`).exec(output);
    return m ? m[1]!.split('\n').filter((l) => l !== '').map((l) => l.replace(/\s+/g, ' ')) : [];
  };
  return { status: /status: ([A-Z]+)/.exec(output)?.[1] ?? 'none', question: section('QUESTION'), answer: section('ANSWER').map((l) => l.replace(/ \d+ IN /, ' IN ')), mismatch: /mismatch/i.test(r.stdout + r.stderr), output: r.stdout + r.stderr };
}

/** The question section octets for these labels (each a latin1 string: one character per octet), type and class IN. */
function questionWire(labels: string[], type = 1): string {
  const parts = labels.map((l) => Buffer.concat([Buffer.from([l.length]), Buffer.from(l, 'latin1')]));
  const tail = Buffer.from([0, type >> 8, type & 0xff, 0, 1]);
  return Buffer.concat([...parts, tail]).toString('hex');
}

describe('forwarding keeps the question\'s octets (Q2): dots inside labels, octets that are not UTF-8, case', function () {
  this.timeout(60_000);
  const running: { stop(): void }[] = [];
  const serve = async (args: string[]): Promise<RunningServer> => {
    const s = await startServer(['--workers', '1', '--listen', '127.0.0.1', ...args]);
    running.push({ stop: () => s.kill() });
    return s;
  };
  const up = async (behave: Parameters<typeof startFakeUpstream>[2]): Promise<FakeUpstream> => {
    const f = await startFakeUpstream('127.0.0.2', await freePort(), behave);
    running.push({ stop: () => void f.close() });
    return f;
  };
  before(function () {
    const why = digUnavailable();
    if (why) {
      console.log(`      skip: ${why}`);
      this.skip();
    }
  });
  afterEach(() => {
    for (const r of running.splice(0)) r.stop();
  });

  it('the upstream is asked the exact octets, and dig gets its exact question back, with the answer owned by it', async () => {
    // The fake answers with the question echoed as it came and an A record owned by a pointer to it.
    const f = await up((_q, raw) => ({ kind: 'raw', bytes: addressReply(raw, '192.0.2.7') }));
    const s = await serve(['--forward', `127.0.0.2:${f.port}`]);
    const cases: { name: string; labels: string[] }[] = [
      { name: 'a\\.b.remote.test', labels: ['a.b', 'remote', 'test'] },
      { name: '\\255\\200x.Remote.TEST', labels: ['\xff\xc8x', 'Remote', 'TEST'] },
      { name: 'MiXeD\\.Dot.remote.test', labels: ['MiXeD.Dot', 'remote', 'test'] },
      // 63 octets that are not UTF-8: dns-packet's U+FFFD made it 189 (a reply that did not parse).
      { name: `${'\\128'.repeat(63)}.remote.test`, labels: ['\x80'.repeat(63), 'remote', 'test'] },
    ];
    for (const c of cases) {
      const r = await dig(s.port, c.name);
      expect(r.mismatch, `${c.name}: a reply to another question\n${r.output}`).to.equal(false);
      expect(r.status, r.output).to.equal('NOERROR');
      expect(r.question, `${c.name}: the question dig got back`).to.deep.equal([`;${c.name}. IN A`]);
      expect(r.answer, `${c.name}: the answer`).to.deep.equal([`${c.name}. IN A 192.0.2.7`]);
    }
    expect(f.asked.map((q) => q.toString('hex')), 'the questions the upstream was asked').to.deep.equal(cases.map((c) => questionWire(c.labels)));
  });

  it('the forward cache keeps a\\.b.remote.test and a.b.remote.test apart, and folds case (RFC 4343)', async () => {
    // The upstream tells the two names apart by their octets: label "a.b" gets .1, labels "a", "b" get .2.
    const dotted = questionWire(['a.b', 'remote', 'test']);
    const f = await up((_q, raw) => {
      const asked = Buffer.from(raw.subarray(12, 12 + dotted.length / 2)).toString('hex').toLowerCase();
      return { kind: 'raw', bytes: addressReply(raw, asked === dotted ? '192.0.2.1' : '192.0.2.2') };
    });
    const s = await serve(['--forward', `127.0.0.2:${f.port}`]);
    expect((await dig(s.port, 'a\\.b.remote.test')).answer).to.deep.equal(['a\\.b.remote.test. IN A 192.0.2.1']);
    expect((await dig(s.port, 'a.b.remote.test')).answer).to.deep.equal(['a.b.remote.test. IN A 192.0.2.2']);
    // The same names in another case: from the caches, the case as asked.
    expect((await dig(s.port, 'A\\.B.remote.test')).answer).to.deep.equal(['A\\.B.remote.test. IN A 192.0.2.1']);
    expect((await dig(s.port, 'A.b.Remote.test')).answer).to.deep.equal(['A.b.Remote.test. IN A 192.0.2.2']);
    expect(f.udpQueries, 'upstream questions: one per name').to.equal(2);
  });

  describe('with NSD as the upstream', () => {
    let nsd: Nsd;
    before(async function () {
      const why = nsdUnavailable();
      if (why) {
        console.log(`      skip: ${why}`);
        this.skip();
      }
      nsd = await startNsd([{ name: 'fwd.test', file: writeZone('fwd.test', ['a\\.b 300 A 192.0.2.1', 'a.b 300 A 192.0.2.2', '\\255\\200x 300 A 192.0.2.3', 'c\\.d 300 CNAME a\\.b']) }], await freePort());
    });
    after(() => nsd?.stop());

    it('each name gets NSD\'s own answer, owner octets included; our CNAME chain leading to such a name is chased to it', async () => {
      const own = writeZone('local.test', ['c 300 CNAME a\\.b.fwd.test.', 'd 300 CNAME \\255\\200x.fwd.test.', 'e\\.f 300 CNAME c\\.d.fwd.test.']);
      const s = await serve(['--forward', `127.0.0.1:${nsd.port}`, '--zone', `local.test.=${own}`]);
      for (const name of ['a\\.b.fwd.test', 'a.b.fwd.test', '\\255\\200x.fwd.test', 'c\\.d.fwd.test', 'A\\.B.fwd.test']) {
        const direct = await dig(nsd.port, name);
        const forwarded = await dig(s.port, name);
        expect(forwarded.mismatch, `${name}: a reply to another question\n${forwarded.output}`).to.equal(false);
        expect(direct.answer.length, `NSD answers ${name}`).to.be.greaterThan(0);
        expect(forwarded.question, `${name}: the question`).to.deep.equal([`;${name}. IN A`]);
        expect(forwarded.answer, `${name}: shardns forwards NSD's answer`).to.deep.equal(direct.answer);
      }
      expect((await dig(s.port, 'c.local.test')).answer).to.deep.equal(['c.local.test. IN CNAME a\\.b.fwd.test.', 'a\\.b.fwd.test. IN A 192.0.2.1']);
      expect((await dig(s.port, 'd.local.test')).answer).to.deep.equal(['d.local.test. IN CNAME \\255\\200x.fwd.test.', '\\255\\200x.fwd.test. IN A 192.0.2.3']);
      expect((await dig(s.port, 'e\\.f.local.test')).answer).to.deep.equal(['e\\.f.local.test. IN CNAME c\\.d.fwd.test.', 'c\\.d.fwd.test. IN CNAME a\\.b.fwd.test.', 'a\\.b.fwd.test. IN A 192.0.2.1']);
    });
  });
});
