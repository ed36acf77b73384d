/** fuzz/jazzer/run.ts parseLibFuzzerLog: what the runner reports is what libFuzzer printed. */

import { expect } from 'chai';
import { parseLibFuzzerLog } from '../../fuzz/jazzer/run.js';

describe('parseLibFuzzerLog (fuzz/jazzer/run.ts)', () => {
  it('takes the last status line, the final stats and the findings written, and leaves out what it did not see', () => {
    const log = [
      'INFO: Seed: 396254019',
      '#313\tINITED cov: 939 ft: 2584 corp: 80/3934b exec/s: 313 rss: 255Mb',
      '#315\tNEW    cov: 944 ft: 2589 corp: 81/3977b lim: 71 exec/s: 315 rss: 255Mb L: 43/71 MS: 2 ShuffleBytes-CopyPart-',
      '#524288\tpulse  cov: 1151 ft: 3373 corp: 237/12Kb lim: 1232 exec/s: 5550 rss: 234Mb',
      '#524301\tDONE   cov: 1151 ft: 3373 corp: 237/12Kb lim: 1232 exec/s: 5551 rss: 236Mb',
      "artifact_prefix='/x/fuzz/crashes/query-udp/'; Test unit written to /x/fuzz/crashes/query-udp/crash-0123456789abcdef0123456789abcdef01234567",
      'stat::number_of_executed_units: 524301',
      'stat::average_exec_per_sec:     5551',
      'stat::new_units_added:          331',
      // A line of stdout cut into stderr's (the dictionary libFuzzer prints at the end).
      '"$GENERATE" # Uses: 32 stat::peak_rss_mb:              272',
    ].join('\n');
    expect(parseLibFuzzerLog(log)).to.deep.equal({
      execs: 524301,
      execPerSec: 5551,
      cov: 1151,
      ft: 3373,
      corpus: 237,
      newUnits: 331,
      peakRssMb: 272,
      artifacts: ['/x/fuzz/crashes/query-udp/crash-0123456789abcdef0123456789abcdef01234567'],
      seed: 396254019,
    });
    // The child gone before its final stats came out: the last status line still tells.
    const cut = log.split('\n').slice(0, 5).join('\n');
    expect(parseLibFuzzerLog(cut)).to.deep.include({ execs: 524301, execPerSec: 5551, cov: 1151, ft: 3373, corpus: 237, newUnits: -1, peakRssMb: 255 });
    expect(parseLibFuzzerLog('INFO: Running with entropic power schedule')).to.deep.equal({ execs: 0, execPerSec: 0, cov: 0, ft: 0, corpus: 0, newUnits: -1, peakRssMb: 0, artifacts: [], seed: 0 });
  });
});
