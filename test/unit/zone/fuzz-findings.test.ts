/** Zone parser bugs the zone-parser fuzz target found (fuzz/crashes/zone-parser/), each with the case that failed before its fix. */

import { expect } from 'chai';
import { errors, load, loadBody, ok } from './helpers.js';

describe('zone parser: $GENERATE with a huge width (fuzz finding)', () => {
  // Before the fix, padStart threw RangeError: Invalid string length out of the parser.
  const cases: [string, string, string][] = [
    ['decimal', '$GENERATE 0-1 x$ TXT "${-5,42949672964}"\n', 'zone.db:5:22: $GENERATE "${-5,42949672964}" makes 42949672964 characters, BIND allows at most 127: use a smaller width'],
    ['hexadecimal', '$GENERATE 0-1 x${0,1000000000,x} A 192.0.2.1\n', 'zone.db:5:15: $GENERATE "${0,1000000000,x}" makes 1000000000 characters, BIND allows at most 127: use a smaller width'],
    ['nibbles', '$GENERATE 0-1 x${0,4294967296,n} A 192.0.2.1\n', 'zone.db:5:15: $GENERATE "${0,4294967296,n}" makes 4294967296 characters, BIND allows at most 127: use a smaller width'],
  ];
  for (const [what, body, message] of cases) {
    it(`refuses a ${what} width beyond what a name can hold, with where and what`, () => {
      expect(errors(loadBody(body))).to.deep.equal([message]);
    });
  }

  it('still accepts a width up to the limit', () => {
    expect(ok(loadBody('$GENERATE 0-1 x${0,60} A 192.0.2.1\n')).size).to.equal(5);
  });
});

describe('zone parser: a TTL above 2^31-1 as the default of later records (fuzz finding)', () => {
  // No $TTL: records without a TTL take the previous record's (RFC 1035 §5.1). That one is above
  // 2^31-1, read as 0 (RFC 2181 §8); the later records took the unclamped 2147483648 before the fix,
  // which the canonical print then wrote and read back as 0. named-checkzone -D gives every record TTL 0.
  const text = ['toobig  2147483648 A 192.0.2.8', 'ns1     IN A   192.0.2.1', '@       IN SOA ns1 hostmaster 17 7200 3600 1209600 300', '        IN NS  ns1', ''].join('\n');

  it('gives the later records TTL 0, as BIND does', () => {
    const zone = ok(load({ 'zone.db': text }));
    const ttls = [...zone.nodes.values()].flat().map((r) => `${r.name} ${r.type} ${r.ttl}`).sort();
    expect(ttls).to.deep.equal(['example.com NS 0', 'example.com SOA 0', 'ns1.example.com A 0', 'toobig.example.com A 0']);
  });
});

describe('zone parser: duplicates in a big RRset (fuzz finding)', () => {
  // fuzz/crashes/zone-parser/crash-b06077f8…: a $GENERATE at one owner, twice. Each duplicate of the second
  // walked the whole RRset to find its twin: quadratic, 2 × 2,695 records took 177 ms of CPU (the target
  // allows 55). Found by key now, the parse is linear in the records.
  const line = '$GENERATE 1-3000 dup PTR host-$.example.com.\n';

  function cpuMs(body: string): number {
    const t0 = process.cpuUsage();
    loadBody(body);
    const t = process.cpuUsage(t0);
    return (t.user + t.system) / 1000;
  }

  it('collapses the repeated records, as BIND does', () => {
    const zone = ok(loadBody(line.replace('1-3000', '1-100') + line.replace('1-3000', '1-100')));
    expect(zone.nodes.get('dup.example.com')?.length).to.equal(100);
  });

  it('takes no longer for 3,000 duplicates than for 3,000 new records of the same RRset (best of 5, within 3 times)', () => {
    const twice = line + line;
    const apart = line + line.replace('1-3000', '3001-6000');
    loadBody(twice);
    loadBody(apart);
    let dup = Infinity;
    let fresh = Infinity;
    for (let i = 0; i < 5; i++) {
      dup = Math.min(dup, cpuMs(twice));
      fresh = Math.min(fresh, cpuMs(apart));
    }
    expect(dup, `duplicates ${dup.toFixed(1)} ms, new records ${fresh.toFixed(1)} ms`).to.be.below(3 * fresh + 5);
  });
});
