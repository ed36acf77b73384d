/** Names with any octet (RFC 4343) and a local root zone (RFC 8806), answered from zone images: compared with NSD on the same files. */

import { expect } from 'chai';
import { udpExchange } from '../helpers/dns-client.js';
import { nsdUnavailable, replySummary, startBeside, type Nsd } from '../helpers/nsd.js';
import { ROOT, type RunningServer } from '../helpers/server.js';
import { loadZoneFile, nameToWire } from '../../src/zone/index.js';

const FIXTURES = `${ROOT}test/fixtures/zones/`;
const ZONES = [
  { name: 'example.com.', file: `${FIXTURES}escaped-names.zone` },
  { name: '.', file: `${FIXTURES}root.zone` },
];
const TYPES: [string, number][] = [['A', 1], ['NS', 2], ['CNAME', 5], ['SOA', 6], ['PTR', 12], ['MX', 15], ['TXT', 16], ['AAAA', 28], ['DS', 43], ['ANY', 255]];

/**
 * Intended differences from NSD 4.6.1, each with its reason; anything else that differs fails.
 * Names are the wire octets in hex.
 */
const INTENDED: { why: string; matches: (nameHex: string, type: string) => boolean }[] = [
  {
    why: 'NSD 4.6.1 loads no record for the owner `\\` (a label of one backslash) at the start of a line; named-checkzone reads it as shardns does (test/integration/zone-named-checkzone.test.ts)',
    matches: (n) => n === '015c076578616d706c6503636f6d00' || n === '0178015c076578616d706c6503636f6d00',
  },
];

/** A query for a name given in wire form (dns-packet cannot write a label holding a dot), with or without EDNS. */
function query(name: Uint8Array, type: number, edns: boolean): Buffer {
  const head = Buffer.from([0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, edns ? 1 : 0]);
  const tail = Buffer.from([type >> 8, type & 0xff, 0, 1]);
  const opt = edns ? Buffer.from([0, 0, 41, 0x04, 0xd0, 0, 0, 0, 0, 0, 0]) : Buffer.alloc(0);
  return Buffer.concat([head, name, tail, opt]);
}

/** A name one label deeper (`x.<name>`), for NXDOMAIN and wildcard-free misses. */
function below(name: Uint8Array): Uint8Array {
  return Uint8Array.from([1, 0x78, ...name]);
}

describe('answers with escaped labels and a local root, against NSD', function () {
  this.timeout(120_000);
  let nsd: Nsd;
  let server: RunningServer;

  before(async function () {
    const why = nsdUnavailable();
    if (why) {
      console.log(`      skip: ${why}`);
      this.skip();
    }
    ({ nsd, server } = await startBeside(ZONES));
  });
  after(() => {
    nsd?.stop();
    server?.kill();
  });

  it('gives NSD\'s rcode, size, AA, TC, answer and authority for every owner (and a name below it) and type', async () => {
    const names: Uint8Array[] = [];
    for (const z of ZONES) {
      const r = loadZoneFile(z.name, z.file);
      if (!r.ok) throw new Error(`fixture ${z.file} does not load`);
      for (const records of r.zone.nodes.values()) {
        const w = nameToWire(records[0]!.name);
        names.push(w, below(w));
      }
    }
    const differences: string[] = [];
    let compared = 0;
    let i = 0;
    for (const name of names) {
      await Promise.all(
        TYPES.map(async ([type, code]) => {
          const q = query(name, code, i++ % 2 === 0);
          const [ours, theirs] = await Promise.all([udpExchange(q, server.port), udpExchange(q, nsd.port)]);
          compared++;
          const a = replySummary(ours);
          const b = replySummary(theirs);
          const hex = Buffer.from(name).toString('hex');
          if (JSON.stringify(a) !== JSON.stringify(b) && !INTENDED.some((d) => d.matches(hex, type))) differences.push(`${hex} ${type}\n  shardns: ${JSON.stringify(a)}\n  nsd:     ${JSON.stringify(b)}`);
        }),
      );
    }
    expect(compared).to.be.at.least(500);
    expect(differences, `${differences.length} of ${compared} differ:\n${differences.slice(0, 10).join('\n')}`).to.deep.equal([]);
  });
});
