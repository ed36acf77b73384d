/**
 * Writes test/fixtures/answers/outcomes.json: for every question of the
 * differential table (answer-questions.ts), a digest of what answer() gives.
 * The file was first written by the answer path of the dns-packet era
 * (before issue 13 item 4) and rewritten when issue 14 made replies follow
 * NSD where that path did not (every A of the additional section before any
 * AAAA, NSD's choice for ANY, class ANY without AA, NS or SOA, RRsets fitted
 * one at a time with the minimal-response size, NSEC3-only owners absent),
 * each change checked against NSD 4.6 on the same zones;
 * test/unit/auth/differential.test.ts requires today's answer() to give the
 * same octets. Rewrite it only when a reply is meant to change, and check
 * the changed replies against NSD first:
 *
 *   npx tsc -p . && node dist/test/helpers/capture-answers.js [--full FILE]
 *
 * `--full FILE` also writes every outcome in full (hex), for comparing by hand.
 */

import { writeFileSync } from 'node:fs';
import { answer } from '../../src/dns/answer.js';
import { loadZones, type ZoneFiles } from '../../src/zones.js';
import { ROOT } from './server.js';
import { contextFor, digest, FIXTURE, outcomeText, questionKey, questionsFor, queryBytes, VARIANTS, zoneSetCases, type OutcomeFixture } from './answer-questions.js';

/** Every question's key and outcome text, in table order, for one zone set loaded from `files` (or the file system). */
export function outcomesOf(set: { label: string; zones: { name: string; file: string }[]; full?: string[] }, files?: ZoneFiles): { files: ZoneFiles; outcomes: [string, string][] } {
  const loaded = loadZones(set.zones, files ? { from: files, keepFiles: true } : { keepFiles: true });
  if (!loaded.ok) throw new Error(`${set.label}: ${loaded.errors.join('; ')}`);
  const outcomes: [string, string][] = [];
  for (const q of questionsFor(set, loaded.loaded)) {
    const v = VARIANTS[q.variant]!;
    const result = answer(queryBytes(q), contextFor(loaded.zones, v), { transport: v.transport, address: '127.0.0.1' });
    outcomes.push([questionKey(q), outcomeText(result)]);
  }
  return { files: loaded.files!, outcomes };
}

if (process.argv[1]?.endsWith('capture-answers.js')) {
  process.chdir(ROOT);
  const fixture: OutcomeFixture = { about: 'digests (length:sha256) of answer() outcomes; written by test/helpers/capture-answers.ts', sets: {} };
  const all: [string, string][] = [];
  for (const set of zoneSetCases()) {
    let got: ReturnType<typeof outcomesOf>;
    try {
      got = outcomesOf(set);
    } catch (err) {
      process.stdout.write(`skipped ${set.label}: ${(err as Error).message}\n`);
      continue;
    }
    const files = Object.fromEntries(Object.entries(got.files).map(([path, octets]) => [path, Buffer.from(octets).toString('base64')]));
    fixture.sets[set.label] = { zones: set.zones, ...(set.full ? { full: set.full } : {}), files, outcomes: Object.fromEntries(got.outcomes.map(([k, t]) => [k, digest(t)])) };
    for (const [k, t] of got.outcomes) all.push([`${set.label}|${k}`, t]);
  }
  writeFileSync(FIXTURE, JSON.stringify(fixture).replace(/","/g, '",\n"') + '\n');
  const full = process.argv.indexOf('--full');
  if (full > 0) writeFileSync(process.argv[full + 1]!, JSON.stringify(all));
  const outcomes = all;
  process.stdout.write(`${outcomes.length} outcomes written to ${FIXTURE}\n`);
}
