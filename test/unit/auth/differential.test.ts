/**
 * answer() on zone images gives, octet for octet, the recorded outcome for
 * every question of the table in test/helpers/answer-questions.ts: the
 * fixture holds digests of the outcomes (first of the dns-packet answer
 * path, then rewritten where issue 14 aligned replies with NSD; see
 * capture-answers.ts) and the zone files read.
 * Set SHARDNS_FULL_OUTCOMES to a file written by `capture-answers.js --full`
 * to see the differing replies in full.
 *
 * One intended change: a name that owns only NSEC3 records (and their
 * RRSIGs) does not exist for lookups (RFC 5155 §7.2, as NSD answers it),
 * where the old path answered it like any other name. Those questions are
 * not compared with the fixture; each must now get NXDOMAIN.
 */

import { expect } from 'chai';
import { existsSync, readFileSync } from 'node:fs';
import { answer, answerInto } from '../../../src/dns/answer.js';
import { recordTypeCode, rrsets, rrsetKey, coveredType, type Zone } from '../../../src/zone/parse/zone.js';
import { loadZones, type ZoneFiles } from '../../../src/zones.js';
import { contextFor, digest, FIXTURE, outcomeText, questionKey, questionsFor, queryBytes, VARIANTS, type OutcomeFixture } from '../../helpers/answer-questions.js';

const fixture = JSON.parse(readFileSync(FIXTURE, 'utf8')) as OutcomeFixture;
const fullFile = process.env['SHARDNS_FULL_OUTCOMES'];
const full = fullFile && existsSync(fullFile) ? new Map(JSON.parse(readFileSync(fullFile, 'utf8')) as [string, string][]) : null;

describe('answers on zone images equal the recorded outcomes, octet for octet', () => {
  let total = 0;
  after(() => expect(total, 'questions compared').to.be.at.least(10_000));
  for (const [label, set] of Object.entries(fixture.sets)) {
    it(`${label}: ${Object.keys(set.outcomes).length} questions`, () => {
      const files: ZoneFiles = Object.fromEntries(Object.entries(set.files).map(([path, b64]) => [path, Buffer.from(b64, 'base64')]));
      const loaded = loadZones(set.zones, { from: files });
      if (!loaded.ok) throw new Error(loaded.errors.join('\n'));
      const questions = questionsFor({ label, ...(set.full ? { full: set.full } : {}) }, loaded.loaded);
      const differing: string[] = [];
      const asked = new Set<string>();
      const nsec3Owners = nsec3OnlyOwners(loaded.loaded);
      for (const q of questions) {
        const key = questionKey(q);
        asked.add(key);
        const v = VARIANTS[q.variant]!;
        const out = answer(queryBytes(q), contextFor(loaded.zones, v), { transport: v.transport, address: '127.0.0.1' });
        if (q.klass === 'IN' && (v.edns?.version ?? 0) === 0 && nsec3Owners.has(q.name.toLowerCase())) {
          const rcode = out.kind === 'reply' ? out.bytes[3]! & 0xf : -1;
          if (rcode !== 3) differing.push(`${key}: an NSEC3-only owner name must be NXDOMAIN, got ${out.kind === 'reply' ? `rcode ${rcode}` : out.kind}`);
          continue;
        }
        const text = outcomeText(out);
        if (digest(text) === set.outcomes[key]) continue;
        const before = full?.get(`${label}|${key}`);
        differing.push(`${key}${before ? `\n    was ${before}\n    now ${text}` : ''}`);
      }
      total += asked.size;
      expect([...asked].sort(), 'the fixture\'s questions').to.deep.equal(Object.keys(set.outcomes).sort());
      expect(differing, `${differing.length} of ${questions.length} differ:\n  ${differing.slice(0, 8).join('\n  ')}`).to.deep.equal([]);
    });
  }
});

describe('answerInto() writes in place the octets answer() gives', () => {
  for (const [label, set] of Object.entries(fixture.sets)) {
    it(`${label}: every UDP question of the table, into a send area at an odd offset`, () => {
      const files: ZoneFiles = Object.fromEntries(Object.entries(set.files).map(([path, b64]) => [path, Buffer.from(b64, 'base64')]));
      const loaded = loadZones(set.zones, { from: files });
      if (!loaded.ok) throw new Error(loaded.errors.join('\n'));
      const area = Buffer.alloc(8192);
      const differing: string[] = [];
      let written = 0;
      for (const q of questionsFor({ label, ...(set.full ? { full: set.full } : {}) }, loaded.loaded)) {
        const v = VARIANTS[q.variant]!;
        if (v.transport !== 'udp') continue;
        const ctx = contextFor(loaded.zones, v);
        const client = { transport: v.transport, address: '127.0.0.1' };
        const want = outcomeText(answer(queryBytes(q), ctx, client));
        area.fill(0xee);
        const into = answerInto(queryBytes(q), ctx, client, area, 3, 4096);
        let got: string;
        if (into.kind === 'written') {
          written++;
          got = outcomeText({ kind: 'reply', bytes: Buffer.from(area.subarray(3, 3 + into.length)) });
          // Nothing is written past the reply.
          if (area[3 + into.length] !== 0xee) got += ' (and more octets after it)';
        } else {
          got = outcomeText(into);
        }
        if (got !== want) differing.push(`${questionKey(q)}\n    answer()     ${want}\n    answerInto() ${got}`);
      }
      expect(differing, `${differing.length} differ:\n  ${differing.slice(0, 5).join('\n  ')}`).to.deep.equal([]);
      expect(written, 'replies written in place').to.be.greaterThan(0);
    });
  }
});

/** The lower-cased names (no trailing dot) that own only NSEC3 records and RRSIGs covering them. */
function nsec3OnlyOwners(zones: readonly Zone[]): Set<string> {
  const out = new Set<string>();
  for (const zone of zones) {
    for (const records of zone.nodes.values()) {
      const sets = rrsets(records);
      const only = sets.every((set) => {
        const code = recordTypeCode(set[0]!);
        return code === 50 || (code === 46 && coveredType(rrsetKey(code, set[0]!.data)) === 50);
      });
      if (only) out.add(records[0]!.name.toLowerCase());
    }
  }
  return out;
}
