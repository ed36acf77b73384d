/** fuzz/jazzer/confirm.ts: the uninstrumented replay that decides whether an input slow under Jazzer.js is a finding. */

import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { FUZZ_DIR } from '../../fuzz/context.js';
import { confirm } from '../../fuzz/jazzer/confirm.js';
import { corpusFiles } from '../../fuzz/run.js';

describe('confirm (fuzz/jazzer/confirm.ts)', function () {
  this.timeout(60_000);

  it('passes a seed and a small zone, and says when there is no such target', () => {
    const seed = corpusFiles(`${FUZZ_DIR}corpus/query-udp/`)[0]!;
    expect(confirm('query-udp', readFileSync(seed))).to.deep.equal({ kind: 'pass' });
    const v = confirm('zone-parser', Buffer.from('$TTL 3600\n@ IN SOA ns1 host 1 2 3 4 5\n@ IN NS ns1\nns1 IN A 192.0.2.1\n'));
    expect(v).to.deep.equal({ kind: 'pass' });
    expect(confirm('no-such-target', Buffer.alloc(0))).to.deep.equal({ kind: 'error', message: 'no target "no-such-target"' });
  });
});
