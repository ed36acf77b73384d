import { expect } from 'chai';
import { mkdirSync, mkdtempSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname } from 'node:path';
import dnsPacket from 'dns-packet';
import { compileXfrAcl, type AclEntry } from '../../../src/xfr/acl.js';
import { ixfrQuerySerial } from '../../../src/xfr/ixfr.js';
import { encodeJournal, recordChange } from '../../../src/xfr/journal.js';
import { JournalFiles } from '../../../src/xfr/policy.js';
import { compareSerial } from '../../../src/xfr/serial.js';
import { journalPath } from '../../../src/zone/image/store.js';
import { head, image } from './helpers.js';

describe('allow-transfer / allow-notify lists', () => {
  const entries: AclEntry[] = [
    { address: '192.0.2.0/24', key: null },
    { address: null, key: 'k1.' },
    { address: '10.0.0.0/8', key: 'k2.' },
  ];
  const acl = compileXfrAcl(entries);
  const cases: [string, string | null, AclEntry | null][] = [
    ['192.0.2.9', null, entries[0]!],
    ['192.0.2.9', 'k2.', entries[0]!],
    ['203.0.113.1', 'k1.', entries[1]!],
    ['203.0.113.1', null, null],
    ['10.1.1.1', 'k2.', entries[2]!],
    ['10.1.1.1', null, null],
    ['203.0.113.1', 'k2.', null],
    ['::ffff:192.0.2.5', null, entries[0]!],
  ];
  for (const [address, key, entry] of cases) {
    it(`${address} ${key === null ? 'unsigned' : `signed with ${key}`}: ${entry === null ? 'nobody admits it' : `admitted by ${JSON.stringify(entry)}`}`, () => {
      expect(acl.admits(address, key)).to.deep.equal(entry);
    });
  }
  it('an empty list admits nobody; "any" everybody', () => {
    expect(compileXfrAcl([]).admits('127.0.0.1', null)).to.equal(null);
    expect(compileXfrAcl([{ address: 'any', key: null }]).admits('2001:db8::1', null)).to.not.equal(null);
  });
});

describe('SOA serial arithmetic (RFC 1982 §3.2)', () => {
  const cases: [number, number, number][] = [
    [1, 1, 0],
    [2, 1, 1],
    [1, 2, -1],
    [0, 4294967295, 1],
    [4294967295, 0, -1],
    [2147483647, 0, 1],
    [2147483649, 0, -1],
  ];
  for (const [a, b, sign] of cases) it(`compares ${a} with ${b}: ${sign}`, () => expect(Math.sign(compareSerial(a, b))).to.equal(sign));
});

describe('the serial of an IXFR query (RFC 1995 §3)', () => {
  const q = (authorities: unknown[], answers: unknown[] = []): Buffer =>
    dnsPacket.encode({ type: 'query', id: 1, questions: [{ name: 'example.com', type: 'IXFR', class: 'IN' }], answers: answers as never, authorities: authorities as never });
  const soa = (serial: number): unknown => ({ name: 'example.com', type: 'SOA', ttl: 0, data: { mname: 'ns.example.com', rname: 'h.example.com', serial, refresh: 0, retry: 0, expire: 0, minimum: 0 } });
  it('is read from the SOA in authority, names compressed or not', () => expect(ixfrQuerySerial(q([soa(4000000000)]))).to.equal(4000000000));
  it('is found after other authority records', () => expect(ixfrQuerySerial(q([{ name: 'example.com', type: 'A', ttl: 0, data: '192.0.2.1' }, soa(7)]))).to.equal(7));
  it('is -1 without one', () => expect(ixfrQuerySerial(q([]))).to.equal(-1));
  it('is -1 when the SOA is cut short', () => {
    const b = q([soa(7)]);
    expect(ixfrQuerySerial(b.subarray(0, b.length - 10))).to.equal(-1);
  });
});

describe('a worker\'s journal files', () => {
  const v1 = image(head(1) + 'www A 192.0.2.1\n');
  const v2 = image(head(2) + 'www A 192.0.2.2\n');
  const dir = mkdtempSync(`${tmpdir()}/shardns-journal-`);
  const warnings: string[] = [];
  const files = new JournalFiles(dir, (m) => warnings.push(m));
  const path = journalPath(dir, 'example.com.');

  it('no file: no journal', () => expect(files.journal(v2)).to.equal(null));

  it('the journal leading to the image served is used; for another image it is not', () => {
    const u = recordChange(null, v1, v2);
    if (u.kind !== 'kept') throw new Error('no journal');
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, encodeJournal(u.journal));
    expect(files.journal(v2)?.versions.map((v) => [v.from, v.to])).to.deep.equal([[1, 2]]);
    expect(files.journal(v1)).to.equal(null);
  });

  it('a file replaced is read again; a damaged one is not used and the log says why', () => {
    writeFileSync(path, Buffer.from('garbage'));
    utimesSync(path, new Date(), new Date(Date.now() + 5000));
    expect(files.journal(v2)).to.equal(null);
    expect(warnings.join('\n')).to.match(/zone example\.com\.: IXFR journal .* not used \(not a shardns IXFR journal\); IXFR is answered with the whole zone/);
  });
});
