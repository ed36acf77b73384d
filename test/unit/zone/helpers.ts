/** Helpers for the zone tests: in-memory files, a standard zone head, and short views of results. */

import { expect } from 'chai';
import { formatDiagnostic, parseZone, printZone, type Zone, type ZoneLoadResult, type ZoneRecord } from '../../../src/zone/index.js';

/** Four lines every small test zone starts with; records under test begin on line 5. */
export const HEAD = ['$TTL 3600', '@ IN SOA ns1 hostmaster 1 7200 3600 1209600 300', '  IN NS ns1', 'ns1 IN A 192.0.2.1'].join('\n') + '\n';

/** Loads a zone from in-memory files; the first file is the zone file. */
export function load(files: Record<string, string>, origin = 'example.com.'): ZoneLoadResult {
  const [main] = Object.keys(files);
  return parseZone({
    origin,
    file: main!,
    readFile: (f) => {
      const text = files[f];
      if (text === undefined) throw new Error('no such file');
      return text;
    },
  });
}

/** Loads HEAD plus `body` as zone.db. */
export function loadBody(body: string, origin = 'example.com.'): ZoneLoadResult {
  return load({ 'zone.db': HEAD + body }, origin);
}

/** The zone of a load that must succeed. */
export function ok(r: ZoneLoadResult): Zone {
  if (!r.ok) expect.fail(`zone refused:\n${r.errors.map(formatDiagnostic).join('\n')}`);
  return r.zone;
}

/** The errors of a load that must fail, formatted. */
export function errors(r: ZoneLoadResult): string[] {
  if (r.ok) expect.fail('zone loaded, but errors were expected');
  return r.errors.map(formatDiagnostic);
}

/** Warnings, formatted. */
export function warnings(r: ZoneLoadResult): string[] {
  return r.warnings.map(formatDiagnostic);
}

/** Printed lines with blanks collapsed to one space, without the four HEAD records. */
export function lines(zone: Zone): string[] {
  return printZone(zone)
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => l.replace(/[ \t]+/g, ' '))
    .filter((l) => !/^(example\.com\. 3600 IN (SOA|NS) |ns1\.example\.com\. 3600 IN A 192\.0\.2\.1$)/.test(l));
}

/** Every record at a name (any case), in stored order. */
export function at(zone: Zone, name: string): ZoneRecord[] {
  return zone.nodes.get(name.toLowerCase()) ?? [];
}
