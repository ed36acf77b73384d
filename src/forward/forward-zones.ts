/** Conditional forwarding (split DNS): `forward-zones` read and checked (routing names by them: src/forward/forward-routes.ts). */

import { NameError, isAtOrBelow, nameKey, parseZoneName, presentName } from '../zone/names.js';
import { formatUpstream, parseUpstream, type Upstream } from './upstreams.js';

/** Where a forward zone's names go: these upstreams, or nowhere (answered NXDOMAIN here). */
export type ForwardTarget = { kind: 'upstreams'; upstreams: Upstream[] } | { kind: 'nowhere' };

/** One `forward-zones` entry, validated: a domain (presentation form, trailing dot) and where its names go. */
export interface ForwardZone {
  name: string;
  to: ForwardTarget;
}

/** What a `to` of "none" says: the domain is sent nowhere (answered NXDOMAIN here). */
export const NOWHERE = 'none';

/**
 * Reads `forward-zones` as the config file gives it (`[{ "name":
 * "corp.example.", "to": ["10.1.2.3", "tls://10.1.2.4#dns.corp.example"] }]`,
 * `"to": "none"` for a domain sent nowhere) or as `--forward-zone` flags
 * (`corp.example.=10.1.2.3,tls://…`, `home.arpa.=none`). Every problem is
 * returned, each saying which entry and what to write instead.
 */
export function parseForwardZones(raw: unknown): { ok: true; zones: ForwardZone[] } | { ok: false; problems: string[] } {
  const items = Array.isArray(raw) ? raw : [raw];
  const zones: ForwardZone[] = [];
  const problems: string[] = [];
  const seen = new Map<string, number>();
  items.forEach((item, index) => {
    const where = items.length > 1 || Array.isArray(raw) ? `entry ${index + 1}: ` : '';
    const entry = readEntry(item);
    if (typeof entry === 'string') {
      problems.push(`${where}${entry}`);
      return;
    }
    const parsed = parseZoneName(entry.name);
    if (parsed instanceof NameError) {
      problems.push(`${where}bad domain name "${entry.name}": ${parsed.message}; write it as in a zone file, e.g. corp.example. or 10.in-addr.arpa.`);
      return;
    }
    const name = presentName(parsed);
    const to = readTarget(entry.to);
    if (typeof to === 'string') {
      problems.push(`${where}${name}: ${to}`);
      return;
    }
    const key = nameKey(name);
    const before = seen.get(key);
    if (before !== undefined) {
      problems.push(`${where}${name} is listed twice (entries ${before + 1} and ${index + 1}): give it once, with every upstream in its "to"`);
      return;
    }
    seen.set(key, index);
    zones.push({ name, to });
  });
  return problems.length > 0 ? { ok: false, problems } : { ok: true, zones };
}

/** The name and the raw `to` of one entry, from the flag's `NAME=TO` or the file's object. */
function readEntry(item: unknown): { name: string; to: unknown } | string {
  if (typeof item === 'string') {
    const eq = item.indexOf('=');
    if (eq <= 0 || eq === item.length - 1) return `expected DOMAIN=UPSTREAMS, got "${item}" (e.g. corp.example.=10.1.2.3,10.1.2.4 or home.arpa.=${NOWHERE})`;
    return { name: item.slice(0, eq), to: item.slice(eq + 1) };
  }
  if (item === null || typeof item !== 'object' || Array.isArray(item)) return `expected { "name": "corp.example.", "to": ["10.1.2.3"] }, got ${JSON.stringify(item)}`;
  const o = item as Record<string, unknown>;
  const unknownKeys = Object.keys(o).filter((k) => k !== 'name' && k !== 'to');
  if (unknownKeys.length > 0) return `unknown key ${unknownKeys.map((k) => `"${k}"`).join(', ')} in ${JSON.stringify(item)}; an entry has "name" and "to"`;
  if (typeof o['name'] !== 'string' || o['name'] === '') return `each entry needs a "name" (the domain, e.g. "corp.example."), got ${JSON.stringify(item)}`;
  if (o['to'] === undefined) return `${o['name']}: "to" is missing: give upstream addresses ("to": ["10.1.2.3"]) or "${NOWHERE}" to answer NXDOMAIN here`;
  return { name: o['name'], to: o['to'] };
}

/** `none`, or upstreams as `--forward` takes them (comma lists or arrays). */
function readTarget(to: unknown): ForwardTarget | string {
  const values = Array.isArray(to) ? to : [to];
  if (values.some((v) => typeof v !== 'string')) return `"to" must be upstream addresses as strings or "${NOWHERE}", got ${JSON.stringify(to)}`;
  const items = (values as string[]).flatMap((v) => v.split(',')).map((v) => v.trim()).filter(Boolean);
  if (items.length === 0) return `"to" is empty: give upstream addresses, or "${NOWHERE}" to answer NXDOMAIN here`;
  if (items.includes(NOWHERE)) return items.length === 1 ? { kind: 'nowhere' } : `"${NOWHERE}" cannot be combined with upstream addresses`;
  const upstreams: Upstream[] = [];
  for (const item of items) {
    const u = parseUpstream(item);
    if (typeof u === 'string') return u;
    if (!upstreams.some((x) => formatUpstream(x) === formatUpstream(u))) upstreams.push(u);
  }
  return { kind: 'upstreams', upstreams };
}

/**
 * Forward zones that could never be used: at or below one of our own zones,
 * whose names we answer ourselves (own zones win over all). One problem each,
 * saying what to do.
 */
export function shadowedForwardZones(forwardZones: readonly ForwardZone[], ownZones: readonly { name: string }[]): string[] {
  const problems: string[] = [];
  for (const f of forwardZones) {
    const owner = ownZones.find((z) => isAtOrBelow(nameKey(f.name), nameKey(z.name)));
    if (owner) problems.push(`${f.name} is ${nameKey(f.name) === nameKey(owner.name) ? '' : 'inside '}our zone ${owner.name}, which we answer ourselves: the forward zone would never be used; remove it (or delegate the name in the zone file)`);
  }
  return problems;
}
