import { expect } from 'chai';
import { chainFrom, decodeJournal, diffImages, encodeJournal, recordChange, type Journal } from '../../../src/xfr/journal.js';
import { apply, head, image, recordsOf, wireLines } from './helpers.js';

/** An NSEC3 owner label (base32hex, 32 characters) and an NSEC3 record there; its own chain does not matter to the diff. */
const H1 = '0p9mhaveqvm6t7vbl5lop2u3t2rp3tom';
const H2 = '2t7b4g4vsa5smi47k61mv5bv1a22bojr';
const nsec3 = (owner: string, next: string, types: string): string => `${owner} 3600 NSEC3 1 0 0 - ${next.toUpperCase()} ${types}\n`;

describe('IXFR journal: the difference of two images (RFC 1995 §4)', () => {
  const cases: { name: string; before: string; after: string; deleted: string[]; added: string[] }[] = [
    { name: 'a record added to an RRset', before: 'www A 192.0.2.1\n', after: 'www A 192.0.2.1\nwww A 192.0.2.2\n', deleted: [], added: ['www A'] },
    { name: 'one of two records removed', before: 'www A 192.0.2.1\nwww A 192.0.2.2\n', after: 'www A 192.0.2.2\n', deleted: ['www A'], added: [] },
    { name: 'the same records in another order: nothing', before: 'www A 192.0.2.1\nwww A 192.0.2.2\n', after: 'www A 192.0.2.2\nwww A 192.0.2.1\n', deleted: [], added: [] },
    { name: 'a TTL changed: the RRset deleted and added again', before: 'www 300 A 192.0.2.1\nwww 300 A 192.0.2.2\n', after: 'www 60 A 192.0.2.1\nwww 60 A 192.0.2.2\n', deleted: ['www A', 'www A'], added: ['www A', 'www A'] },
    { name: 'a new name below names that did not exist (empty non-terminals carry nothing)', before: '', after: 'a.b.c A 192.0.2.9\n', deleted: [], added: ['a.b.c A'] },
    { name: 'a name removed', before: 'old TXT "x"\nold AAAA 2001:db8::1\nkeep A 192.0.2.3\n', after: 'keep A 192.0.2.3\n', deleted: ['old TXT', 'old AAAA'], added: [] },
    { name: 'the apex NS changed (the SOA is not among the records)', before: '@ NS ns2.example.net.\n', after: '@ NS ns3.example.net.\n', deleted: ['@ NS'], added: ['@ NS'] },
    { name: 'types at a name changed, names before and after untouched', before: 'a A 192.0.2.1\nm MX 10 a\nz A 192.0.2.3\n', after: 'a A 192.0.2.1\nm TXT "mail moved"\nz A 192.0.2.3\n', deleted: ['m MX'], added: ['m TXT'] },
    { name: 'NSEC3 owners (outside the tree) added and removed', before: nsec3(H1, H2, 'A'), after: nsec3(H2, H1, 'A'), deleted: [`${H1} NSEC3`], added: [`${H2} NSEC3`] },
    { name: 'an NSEC3 owner that gains other data moves into the tree: deleted there, added here', before: nsec3(H1, H1, 'A'), after: nsec3(H1, H1, 'A') + `${H1} A 192.0.2.50\n`, deleted: [`${H1} NSEC3`], added: [`${H1} NSEC3`, `${H1} A`] },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const old = image(head(1) + c.before);
      const now = image(head(2) + c.after);
      const v = diffImages(old, now);
      const short = (l: string): string => {
        const [owner, type] = l.split(' ');
        const name = owner === 'example.com.' ? '@' : owner!.replace(/\.example\.com\.$/, '');
        const types: Record<string, string> = { 1: 'A', 2: 'NS', 15: 'MX', 16: 'TXT', 28: 'AAAA', 50: 'NSEC3' };
        return `${name} ${types[type!] ?? type}`;
      };
      expect(wireLines(v.deleted).map(short).sort()).to.deep.equal([...c.deleted].sort());
      expect(wireLines(v.added).map(short).sort()).to.deep.equal([...c.added].sort());
      expect(v.deletedCount).to.equal(c.deleted.length);
      expect(v.addedCount).to.equal(c.added.length);
      expect({ from: v.from, to: v.to }).to.deep.equal({ from: 1, to: 2 });
      expect(wireLines(v.oldSoa)).to.deep.equal(recordsOf(old, true).filter((l) => l.startsWith('example.com. 6 ')));
      expect(wireLines(v.newSoa)).to.deep.equal(recordsOf(now, true).filter((l) => l.startsWith('example.com. 6 ')));
      // Applied as a secondary applies it, the old records become the new.
      expect(apply(recordsOf(old), wireLines(v.deleted), wireLines(v.added))).to.deep.equal(recordsOf(now));
    });
  }

  /** A small pseudo-random generator (mulberry32): the same zones for the same seed. */
  function random(seed: number): () => number {
    let a = seed >>> 0;
    return () => {
      a = (a + 0x6d2b79f5) >>> 0;
      let t = a;
      t = Math.imul(t ^ (t >>> 15), t | 1);
      t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
  }

  /** Random records over a small pool of names and types, so two draws overlap. */
  function randomZone(next: () => number): string {
    const names = ['a', 'b', 'b.a', 'c.b.a', 'z', 'Mixed', '*.w', 'x-1', 'deep.er.still'];
    let text = '';
    for (const n of names) {
      if (next() < 0.3) continue;
      const ttl = next() < 0.2 ? 60 : 3600;
      for (let i = 0; i < 3; i++) {
        if (next() < 0.5) text += `${n} ${ttl} A 10.0.0.${Math.floor(next() * 4)}\n`;
        if (next() < 0.3) text += `${n} ${ttl} TXT "t${Math.floor(next() * 3)}"\n`;
        if (next() < 0.2) text += `${n} ${ttl} MX ${Math.floor(next() * 3)} mail.example.net.\n`;
      }
    }
    return text;
  }

  for (let seed = 1; seed <= 40; seed++) {
    it(`random pair of zones, seed ${seed}: the old records with the difference applied are the new`, () => {
      const next = random(seed);
      const old = image(head(1) + randomZone(next));
      const now = image(head(2) + randomZone(next));
      const v = diffImages(old, now);
      expect(apply(recordsOf(old), wireLines(v.deleted), wireLines(v.added))).to.deep.equal(recordsOf(now));
    });
  }
});

describe('IXFR journal: versions kept, bounded, chained to the image served', () => {
  const v1 = image(head(1) + 'www A 192.0.2.1\n');
  const v2 = image(head(2) + 'www A 192.0.2.2\n');
  const v3 = image(head(3) + 'www A 192.0.2.3\n');
  const v4 = image(head(4) + 'www A 192.0.2.4\n');

  /** The journal after recording each step in turn. */
  function history(steps: [typeof v1, typeof v1][], limits = { maxVersions: 20, maxBytes: 1 << 20 }): Journal | null {
    let j: Journal | null = null;
    for (const [a, b] of steps) {
      const u = recordChange(j, a, b, limits);
      j = u.kind === 'kept' ? u.journal : null;
    }
    return j;
  }

  it('each change appends a version; the chain from any serial it holds leads to the image served', () => {
    const j = history([[v1, v2], [v2, v3], [v3, v4]])!;
    expect(j.versions.map((v) => [v.from, v.to])).to.deep.equal([[1, 2], [2, 3], [3, 4]]);
    expect(j.endHash).to.equal(v4.meta.source);
    expect(chainFrom(j, 2, v4)?.map((v) => v.from)).to.deep.equal([2, 3]);
    expect(chainFrom(j, 1, v4)).to.have.length(3);
    expect(chainFrom(j, 7, v4), 'a serial it never held').to.equal(null);
    expect(chainFrom(j, 1, v3), 'another image than the one it leads to').to.equal(null);
  });

  it('keeps at most maxVersions, and at most maxBytes of records, dropping the oldest', () => {
    expect(history([[v1, v2], [v2, v3], [v3, v4]], { maxVersions: 2, maxBytes: 1 << 20 })!.versions.map((v) => v.from)).to.deep.equal([2, 3]);
    const one = history([[v1, v2]])!;
    const size = one.versions[0]!.oldSoa.length + one.versions[0]!.newSoa.length + one.versions[0]!.deleted.length + one.versions[0]!.added.length;
    expect(history([[v1, v2], [v2, v3], [v3, v4]], { maxVersions: 20, maxBytes: size * 2 })!.versions.map((v) => v.from)).to.deep.equal([2, 3]);
    expect(recordChange(null, v1, v2, { maxVersions: 20, maxBytes: size - 1 })).to.deep.include({ kind: 'reset' });
  });

  it('a journal that does not lead to the old image starts over from this change', () => {
    const j = history([[v1, v2]])!;
    const u = recordChange(j, v3, v4);
    expect(u.kind === 'kept' && u.journal.versions.map((v) => v.from)).to.deep.equal([3]);
  });

  it('a change without a serial increase resets it and says to increase the serial; a serial going back resets it too', () => {
    const same = image(head(1) + 'www A 192.0.2.9\n');
    const u = recordChange(history([[v1, v2]]), v1, same);
    expect(u.kind).to.equal('reset');
    expect(u.kind === 'reset' && u.note).to.match(/changed but its SOA serial stayed 1: .*increase the serial/);
    const back = recordChange(null, v2, v1);
    expect(back.kind === 'reset' && back.note).to.match(/went back from 2 to 1/);
  });

  it('the same data under another source (a comment edited) keeps the history, now leading to the new image', () => {
    const j = history([[v1, v2]])!;
    const comment = image(head(2) + 'www A 192.0.2.2 ; a comment\n');
    const u = recordChange(j, v2, comment);
    expect(u.kind === 'kept' && { versions: u.journal.versions.length, end: u.journal.endHash }).to.deep.equal({ versions: 1, end: comment.meta.source });
  });

  it('round-trips through its file form; a damaged file is refused with the reason', () => {
    const j = history([[v1, v2], [v2, v3]])!;
    const back = decodeJournal(encodeJournal(j));
    expect(back).to.not.be.a('string');
    const b = back as Journal;
    expect(b.endHash).to.equal(j.endHash);
    expect(b.versions.map((v) => [v.from, v.to, wireLines(v.deleted), wireLines(v.added), wireLines(v.oldSoa)])).to.deep.equal(
      j.versions.map((v) => [v.from, v.to, wireLines(v.deleted), wireLines(v.added), wireLines(v.oldSoa)]),
    );
    const bytes = encodeJournal(j);
    expect(decodeJournal(bytes.subarray(0, bytes.length - 3))).to.equal('the journal is cut short');
    expect(decodeJournal(Buffer.from('not a journal at all'))).to.equal('not a shardns IXFR journal');
  });
});
