/**
 * The fuzz corpus replayed in the normal suite: every seed and every crash
 * the fuzz targets (fuzz/targets.ts) found, through the same targets. None
 * may throw or break an invariant, and none may take more than 500 ms (a
 * hang detector, generous on purpose: `npm run fuzz` holds handlers to 1 ms).
 * Open findings (fuzz/crashes/<target>/open/: found, not fixed yet) must
 * still fail; one that passes has been fixed and moves up a folder.
 */

import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { fuzzZones } from '../../fuzz/context.js';
import { attempt, openFindings, replayFiles } from '../../fuzz/run.js';
import { TARGETS, tcpFrames } from '../../fuzz/targets.js';

/** CPU time one input may take here (ms): not a speed target, a hang detector. */
// A hang detector, not a speed target: generous, since a first call may pay for compiling a path (the fuzzer itself holds each call to 1 ms of CPU, warm).
const HANG_MS = 500;

describe('fuzz corpus replay (fuzz/corpus, fuzz/crashes)', function () {
  this.timeout(120_000);
  before(() => {
    // The zones are compiled once, before anything is timed.
    fuzzZones();
  });

  for (const t of TARGETS) {
    describe(t.name, () => {
      it('has seeds to replay', () => {
        expect(replayFiles(t).length).to.be.greaterThan(10);
      });

      it('replays every seed and every fixed crash without a finding, each within 500 ms', () => {
        const problems: string[] = [];
        for (const file of replayFiles(t)) {
          const data = readFileSync(file);
          try {
            // The first run warms the code the input reaches; the second is timed, in CPU time (other processes do not count).
            t.run(data);
            const t0 = process.cpuUsage();
            t.run(data);
            const used = process.cpuUsage(t0);
            const ms = (used.user + used.system) / 1000;
            if (ms > HANG_MS) problems.push(`${file}: took ${ms.toFixed(1)} ms of CPU (a hang?)`);
          } catch (e) {
            problems.push(`${file}: ${(e as Error).stack ?? String(e)}`);
          }
        }
        expect(problems, problems.join('\n\n')).to.deep.equal([]);
      });

      const open = openFindings(t);
      if (open.length > 0) {
        it(`still fails on its ${open.length} open finding(s) (one that passes is fixed: move it and its .txt up into fuzz/crashes/${t.name}/)`, () => {
          const fixed = open.filter((file) => attempt(t, readFileSync(file)) === null).map((f) => basename(f));
          expect(fixed, `fixed: ${fixed.join(', ')}`).to.deep.equal([]);
        });
      }
    });
  }

  it('the runner tells a broken invariant from a pass (a query-tcp stream of a response sent as a query is answered by nothing, and that is allowed)', () => {
    const tcp = TARGETS.find((t) => t.name === 'query-tcp')!;
    // A well-formed response (QR=1): dropped, and the target accepts the drop.
    const response = Buffer.from('000181800001000000000000076578616d706c6503636f6d0000010001', 'hex');
    const stream = Buffer.concat([Buffer.from([0, response.length]), response]);
    expect(tcpFrames(stream).length).to.equal(1);
    expect(attempt(tcp, stream)).to.equal(null);
  });
});
