/** dns-packet is loaded through src/dns/dns-packet.ts (require), never with an ES import of its code: such an import leaves ~5 MB resident in every worker. */

import { expect } from 'chai';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import dnsPacket from '../../../src/dns/dns-packet.js';
import { ROOT } from '../../helpers/server.js';

function sources(dir: string): string[] {
  const out: string[] = [];
  for (const f of readdirSync(dir)) {
    const p = join(dir, f);
    if (statSync(p).isDirectory()) out.push(...sources(p));
    else if (f.endsWith('.ts')) out.push(p);
  }
  return out;
}

describe('dns-packet is required, not imported', () => {
  it('no module of src/ or workers/ imports dns-packet (or a file of it) other than for types', () => {
    const offenders: string[] = [];
    for (const f of [...sources(join(ROOT, 'src')), ...sources(join(ROOT, 'workers'))]) {
      for (const line of readFileSync(f, 'utf8').split('\n')) {
        if (/^\s*import\s+(?!type\b)[^;]*from\s+'dns-packet(\/[^']*)?'/.test(line)) offenders.push(`${relative(ROOT, f)}: ${line.trim()}`);
      }
    }
    expect(offenders).to.deep.equal([]);
  });

  it('the module gives dns-packet itself', () => {
    const wire = dnsPacket.encode({ type: 'query', id: 7, questions: [{ type: 'A', name: 'example.com' }] });
    expect(dnsPacket.decode(wire).questions?.[0]?.name).to.equal('example.com');
  });
});
