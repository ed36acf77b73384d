/**
 * answer() on zone images gives, octet for octet, what the dns-packet answer
 * path gave (src/zone/tree.ts, lookup.ts, dns/respond.ts, truncate.ts) for
 * every question of the table in test/helpers/answer-questions.ts: the
 * fixture holds that path's outcomes (digests) and the zone files it read.
 * Set SHARDNS_FULL_OUTCOMES to a file written by `capture-answers.js --full`
 * to see the differing replies in full.
 */

import { expect } from 'chai';
import { existsSync, readFileSync } from 'node:fs';
import { answer } from '../../../src/dns/answer.js';
import { loadZones, type ZoneFiles } from '../../../src/zones.js';
import { contextFor, digest, FIXTURE, outcomeText, questionKey, questionsFor, queryBytes, VARIANTS, type OutcomeFixture } from '../../helpers/answer-questions.js';

const fixture = JSON.parse(readFileSync(FIXTURE, 'utf8')) as OutcomeFixture;
const fullFile = process.env['SHARDNS_FULL_OUTCOMES'];
const full = fullFile && existsSync(fullFile) ? new Map(JSON.parse(readFileSync(fullFile, 'utf8')) as [string, string][]) : null;

describe('answers on zone images equal the dns-packet path\'s, octet for octet', () => {
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
      for (const q of questions) {
        const key = questionKey(q);
        asked.add(key);
        const v = VARIANTS[q.variant]!;
        const text = outcomeText(answer(queryBytes(q), contextFor(loaded.zones, v), { transport: v.transport, address: '127.0.0.1' }));
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
