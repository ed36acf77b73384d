import { expect } from 'chai';
import { compileXfrAcl, NOBODY } from '../../../src/xfr/acl.js';
import { axfrStream, TransferStream, ZoneCursor } from '../../../src/xfr/axfr.js';
import { TransferReader } from '../../../src/xfr/incoming.js';
import { originKey } from '../../../src/xfr/policy.js';
import type { ZonePolicy } from '../../../src/xfr/serve.js';
import { describeWarmUp, warmTransferPath, warmUpZone, type WarmUpOutcome } from '../../../src/xfr/warm-up.js';
import type { ZoneImage } from '../../../src/zone/image/image.js';
import { head, image } from './helpers.js';

/** A zone of `n` hosts (two records each) under `origin`. */
function zone(n: number, origin = 'example.com.'): ZoneImage {
  return image(head(1, origin) + Array.from({ length: n }, (_, i) => `h${i} A 192.0.2.${i & 255}\nh${i} TXT "host ${i}"\n`).join(''), origin);
}

function policy(origin: string, allow: boolean): [string, ZonePolicy] {
  return [originKey(origin), { origin, type: 'primary', allowTransfer: allow ? compileXfrAcl([{ address: '127.0.0.0/8', key: null }]) : NOBODY, allowNotify: NOBODY }];
}

/** A scheduler that runs nothing until told: the test plays the event loop's turns. */
class Turns {
  private readonly queue: (() => void)[] = [];
  schedule = (fn: () => void): void => void this.queue.push(fn);
  get waiting(): number {
    return this.queue.length;
  }
  /** Runs one turn; false when nothing was waiting. */
  one(): boolean {
    const fn = this.queue.shift();
    if (fn === undefined) return false;
    fn();
    return true;
  }
}

describe('xfr/warm-up: a fresh worker makes AXFR messages in idle turns before its first transfer', () => {
  describe('warmUpZone: which zone, if any', () => {
    const small = zone(10, 'small.test.');
    const big = zone(300, 'big.test.');
    const cases: { what: string; policies: [string, ZonePolicy][]; want: ZoneImage | null }[] = [
      { what: 'no zone has a transfer policy', policies: [], want: null },
      { what: 'every allow-transfer is empty', policies: [policy('small.test.', false), policy('big.test.', false)], want: null },
      { what: 'one zone allows transfers', policies: [policy('small.test.', true), policy('big.test.', false)], want: small },
      { what: 'two allow them: the larger', policies: [policy('small.test.', true), policy('big.test.', true)], want: big },
    ];
    for (const c of cases) {
      it(`${c.what}: ${c.want === null ? 'none (nothing runs)' : c.want.meta.origin}`, () => {
        expect(warmUpZone([small, big], new Map(c.policies))).to.equal(c.want);
      });
    }
  });

  describe('warmTransferPath', () => {
    const img = zone(3000);

    it('runs nothing before its first turn, at most `slice` messages a turn, holds the image until the end, and ends with the zone', () => {
      const turns = new Turns();
      const outcomes: WarmUpOutcome[] = [];
      let clock = 0;
      const messages = 40;
      warmTransferPath(img, { messages, slice: 4, messageSize: 1024, schedule: turns.schedule, cpuMs: () => clock++, done: (o) => outcomes.push(o) });
      expect(turns.waiting, 'one turn scheduled, none run').to.equal(1);
      expect(img.held).to.equal(true);
      let count = 0;
      while (turns.one()) {
        count++;
        expect(turns.waiting).to.be.at.most(1);
      }
      expect(outcomes).to.have.length(1);
      const o = outcomes[0]!;
      if (o.kind !== 'done') expect.fail(`not done: ${describeWarmUp(o)}`);
      // The first messages, then a skip to the zone's last nodes and the messages to its end: about `messages` in all.
      expect(o.messages).to.be.within(messages - 1, messages + 2);
      expect(count).to.be.at.least(Math.ceil(o.messages / 4));
      expect(o.cpuMs, 'the clock read before and after each turn').to.equal(count);
      expect(o.origin).to.equal('example.com.');
      expect(img.held, 'released at the end').to.equal(false);
      expect(describeWarmUp(o)).to.match(/^transfer warm-up: \d+ AXFR messages \(\d+ octets\) of example\.com\. made and dropped in \d+\.\d ms of CPU$/);
    });

    it('a zone smaller than the budget is made whole, once', () => {
      const tiny = zone(5);
      const turns = new Turns();
      const outcomes: WarmUpOutcome[] = [];
      warmTransferPath(tiny, { schedule: turns.schedule, cpuMs: () => 0, done: (o) => outcomes.push(o) });
      while (turns.one());
      expect(outcomes.map((o) => o.kind)).to.deep.equal(['done']);
      expect(outcomes[0]!.kind === 'done' && outcomes[0]!.messages).to.equal(1);
      expect(tiny.held).to.equal(false);
    });

    it('cancelled (the worker stops): nothing more runs, the image is released, told once', () => {
      const turns = new Turns();
      const outcomes: WarmUpOutcome[] = [];
      const cancel = warmTransferPath(img, { messages: 100, slice: 2, messageSize: 1024, schedule: turns.schedule, cpuMs: () => 0, done: (o) => outcomes.push(o) });
      turns.one();
      turns.one();
      cancel('the worker stops');
      cancel('again');
      while (turns.one());
      expect(outcomes).to.deep.equal([{ kind: 'cancelled', messages: 4, why: 'the worker stops' }]);
      expect(describeWarmUp(outcomes[0]!)).to.equal('transfer warm-up: stopped after 4 messages (the worker stops)');
      expect(img.held).to.equal(false);
    });
  });

  describe('ZoneCursor.skipTo (the warm-up only)', () => {
    const img = zone(2000);
    const question = Buffer.from([...img.originKey, 0, 252, 0, 1]);
    const read = (msgs: Buffer[]): number => {
      const reader = new TransferReader({ origin: img.originKey, qtype: 'axfr', id: 9 });
      let step = reader.push(msgs[0]!);
      for (const m of msgs.slice(1)) step = reader.push(m);
      if (step.kind !== 'done' || step.result.kind !== 'axfr') expect.fail(`not a complete AXFR: ${JSON.stringify(step).slice(0, 300)}`);
      return step.result.count;
    };

    it('after the first message, leaves out the nodes up to the one asked for: the stream still ends with the SOA', () => {
      const cursor = new ZoneCursor(img);
      const stream = new TransferStream(cursor, { head: { id: 9, flags: 0, question }, opt: null, signer: null, messageSize: 1024 });
      const msgs: Buffer[] = [Buffer.from(stream.next()!)];
      cursor.skipTo(img.nodeCount - 3);
      for (let m = stream.next(); m !== null; m = stream.next()) msgs.push(Buffer.from(m));
      const whole: Buffer[] = [];
      const full = axfrStream(img, { head: { id: 9, flags: 0, question }, opt: null, signer: null, messageSize: 1024 });
      for (let m = full.next(); m !== null; m = full.next()) whole.push(Buffer.from(m));
      expect(msgs.length).to.be.below(whole.length / 4);
      expect(read(msgs)).to.be.below(read(whole));
    });

    it('before the first message it does nothing (the opening SOA is not skipped)', () => {
      const cursor = new ZoneCursor(img);
      cursor.skipTo(img.nodeCount - 3);
      const stream = new TransferStream(cursor, { head: { id: 9, flags: 0, question }, opt: null, signer: null });
      const msgs: Buffer[] = [];
      for (let m = stream.next(); m !== null; m = stream.next()) msgs.push(Buffer.from(m));
      const whole = axfrStream(img, { head: { id: 9, flags: 0, question }, opt: null, signer: null });
      const theirs: Buffer[] = [];
      for (let m = whole.next(); m !== null; m = whole.next()) theirs.push(Buffer.from(m));
      expect(Buffer.concat(msgs).equals(Buffer.concat(theirs))).to.equal(true);
      expect(read(msgs)).to.be.above(3000);
    });
  });
});
