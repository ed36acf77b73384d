/** The printer's layout, byte for byte as `named-checkzone -D` lays lines out (tabs of 8, fields at 46, RDATA at 64). */

import { expect } from 'chai';
import { printRecord, printZone } from '../../../src/zone/index.js';
import { at, HEAD, load, loadBody, ok } from './helpers.js';

describe('zone printer', () => {
  // Lines copied from named-checkzone 9.18 output.
  const cases: [string, string, string][] = [
    ['short name, four-digit TTL', 'www 3600 IN A 192.0.2.1', 'www.example.com.\t\t\t      3600 IN A\t\t192.0.2.1'],
    ['one-digit TTL', 'www 5 IN A 192.0.2.1', 'www.example.com.\t\t\t      5\tIN A\t\t192.0.2.1'],
    ['two-digit TTL', 'www 77 IN A 192.0.2.1', 'www.example.com.\t\t\t      77 IN A\t\t192.0.2.1'],
    ['long type name', 'www 3600 IN NSEC3PARAM 1 0 10 -', 'www.example.com.\t\t\t      3600 IN NSEC3PARAM 1 0 10 -'],
    ['name past column 46', `${'v'.repeat(56)} 3600 IN A 192.0.2.7`, `${'v'.repeat(56)}.example.com. 3600 IN A\t192.0.2.7`],
    ['name that ends at a tab stop', 'abcdefghijklmnopqrstu 300 IN TXT "x"', 'abcdefghijklmnopqrstu.example.com.\t      300 IN TXT\t"x"'],
  ];
  for (const [name, line, want] of cases) {
    it(name, () => {
      const label = line.split(' ')[0]!;
      expect(printRecord(at(ok(loadBody(line + '\n')), `${label}.example.com`)[0]!)).to.equal(want);
    });
  }

  it('orders names canonically, SOA and NS first at a name, RRSIG after its type, NSEC3 last', () => {
    const zone = ok(
      load({
        z:
          HEAD +
          [
            '@ TXT "apex"',
            '@ A 192.0.2.10',
            '@ RRSIG A 13 2 60 20300101000000 20200101000000 1 example.com. AAAA',
            '2t7b4g4vsa5smi47k61mv5bv1a22bojr NSEC3 1 1 10 - 2T7B4G4VSA5SMI47K61MV5BV1A22BOJR A',
            'b TXT "zz"',
            'b TXT "b"',
            'Z A 192.0.2.3',
            'a.b A 192.0.2.2',
            '* A 192.0.2.1',
          ].join('\n') +
          '\n',
      }),
    );
    const names = printZone(zone)
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => l.replace(/[\t ]+/g, ' ').split(' ').filter((_, i) => i === 0 || i === 3 || i > 3).slice(0, 3).join(' '));
    expect(names).to.deep.equal([
      'example.com. SOA ns1.example.com.',
      'example.com. NS ns1.example.com.',
      'example.com. A 192.0.2.10',
      'example.com. RRSIG A',
      'example.com. TXT "apex"',
      '*.example.com. A 192.0.2.1',
      'b.example.com. TXT "b"',
      'b.example.com. TXT "zz"',
      'a.b.example.com. A 192.0.2.2',
      'ns1.example.com. A 192.0.2.1',
      'Z.example.com. A 192.0.2.3',
      '2t7b4g4vsa5smi47k61mv5bv1a22bojr.example.com. NSEC3 1',
    ]);
  });

  it('prints nothing for nothing, and ends every line with a newline', () => {
    const text = printZone(ok(loadBody('')));
    expect(text.endsWith('\n')).to.equal(true);
    expect(text.split('\n')).to.have.length(4);
  });
});
