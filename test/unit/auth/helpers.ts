/** Helpers for the src/auth tests: zones from text compiled to images, and wire names. */

import type { ZoneSet } from '../../../src/auth/zone-set.js';
import { compiledZones } from '../../../src/zones.js';
import { ZoneImage } from '../../../src/zone/image/image.js';
import { load, ok } from '../zone/helpers.js';

/** The zones of `texts` (origin → zone file text) compiled into one set, as loadZones builds it. */
export function zoneSet(texts: Record<string, string>): ZoneSet {
  const zones = Object.entries(texts).map(([origin, text]) => ok(load({ 'zone.db': text }, origin)));
  const compiled = compiledZones(zones);
  if (compiled.kind === 'error') throw new Error(compiled.errors.join('\n'));
  return compiled.zones;
}

/** The image of the zone with this origin (`example.com.`). */
export function imageOf(set: ZoneSet, origin: string): ZoneImage {
  const image = set.images().find((z) => z.meta.origin === origin);
  if (!image) throw new Error(`no zone ${origin}`);
  return image;
}

/** Wire form of a presentation name of plain labels (`www.example.com`, `.`), case kept. */
export function wire(name: string): Uint8Array {
  const out: number[] = [];
  for (const label of name.replace(/\.$/, '').split('.')) {
    if (label === '') continue;
    out.push(label.length, ...Buffer.from(label, 'latin1'));
  }
  out.push(0);
  return Uint8Array.from(out);
}

/** Presentation form of a wire name of plain labels (`www.example.com.`). */
export function text(w: Uint8Array, at = 0): string {
  const labels: string[] = [];
  for (let i = at; w[i] !== 0; i += w[i]! + 1) labels.push(Buffer.from(w.subarray(i + 1, i + 1 + w[i]!)).toString('latin1'));
  return labels.join('.') + '.';
}
