/**
 * Catalog zones, consumer side (RFC 9432): the member zones a catalog
 * zone's image lists, with their properties, and what changed between two
 * such lists (zones to add, remove, reset, regroup, take over from another
 * catalog, or ignore because another owner serves them). Pure: the caller
 * transfers the catalog, builds its image, and acts on the outcome.
 */

import type { ZoneImage } from '../zone/image/image.js';
import { escapeLabel, presentLabels } from '../zone/names.js';
import { typeMnemonic } from '../zone/rdata/rrtypes.js';

/** Record types read here. */
const PTR = 12;
const TXT = 16;
/** DNSSEC records a signed catalog carries beside its data (RFC 4034 §3, §4): never warned about. */
const RRSIG = 46;
const NSEC = 47;

/** One member zone of a catalog (RFC 9432 §4.1), with its properties (§4.3). */
export interface CatalogMember {
  /** The member zone, in presentation form with the trailing dot, as written in the PTR RDATA (case kept). */
  zone: string;
  /** The member node's `<unique-N>` label, in presentation form, as the owner name wrote it (case kept). */
  id: string;
  /**
   * The `group` property's values (RFC 9432 §4.3.2), one per TXT record at
   * `group.<unique-N>.zones.$CATZ`, sorted; empty when there is none. A value
   * is the record's entire RDATA: its character-strings joined by one space,
   * each written bare (`blue`) unless it is empty or holds a space, `"`, `\`
   * or an octet outside printable ASCII; then quoted, with `\"`, `\\` and
   * `\DDD` escapes (`"operator y"`), so two different RDATAs never give the
   * same value.
   */
  group: string[];
  /** The `coo` property (RFC 9432 §4.3.1): the catalog this member may migrate to, presentation form with the trailing dot; null when there is none. */
  coo: string | null;
}

/**
 * What a catalog zone lists. `ok`: it is a version "2" catalog and these are
 * its members, in the catalog's canonical order of member nodes; `warnings`
 * name records that were ignored. `error`: the catalog is broken in a way
 * RFC 9432 says MUST NOT be processed (§5.1); `why` says what, and that the
 * member list stays as it was.
 */
export type CatalogOutcome = { kind: 'ok'; version: number; members: CatalogMember[]; warnings: string[] } | { kind: 'error'; why: string };

/** Bounds on what one catalog may make the consumer do. */
export interface CatalogLimits {
  /** Member zones one catalog may list; a catalog with more is refused as a whole (the member list stays as it was). */
  maxMembers: number;
  /** Warnings reported in one outcome; further ones are counted in a last line. */
  maxWarnings: number;
}

/** The default bounds: 100,000 member zones (each a zone this server transfers, maps and serves), 20 warnings. */
export const CATALOG_LIMITS: CatalogLimits = { maxMembers: 100_000, maxWarnings: 20 };

/** The one schema version RFC 9432 defines (§4.2.1). */
const SCHEMA_VERSION = '2';

/**
 * The member zones of the catalog zone `image` (RFC 9432), or why the
 * catalog must not be processed. The rules, each from the RFC:
 *
 * - §4.2.1: `version.$CATZ` must hold exactly one TXT record, whose RDATA is
 *   the one character-string "2". Missing, several, or another value
 *   (version "1" is BIND 9.11's older schema): error.
 * - §4.1: a member node is `<unique-N>.zones.$CATZ`, one label under the
 *   `zones` label under the apex. Its PTR RRset names the member zone and
 *   must hold exactly one record: more is an error. A member node without a
 *   PTR is no member (its properties are ignored, with a warning). Other
 *   types at a member node are ignored (§3), with a warning (RRSIG and NSEC
 *   of a signed catalog silently).
 * - §4.1: two member nodes naming the same zone (names compared without
 *   regard to ASCII case, RFC 4343): error.
 * - §5.2: a member naming the catalog zone itself clashes with a zone this
 *   server already has: that member is ignored, with a warning. (Clashes
 *   with other zones are for catalogChanges, which knows them.)
 * - §4.3.2: `group.<unique-N>.zones.$CATZ` TXT records, any number, each
 *   one value (see CatalogMember.group).
 * - §4.3.1: `coo.<unique-N>.zones.$CATZ` PTR: exactly one record, else
 *   error. A coo naming this very catalog means nothing and is ignored,
 *   with a warning.
 * - §4.2: a known property (`group`, `coo`) with records of another type:
 *   those records are not the property and are ignored, with a warning.
 *   Unknown properties, custom ones (`ext`, §4.4), anything deeper below a
 *   member node, and names outside `zones` and `version` are ignored
 *   silently (§3).
 * - §4.1: the class is IN and TTLs mean nothing: images hold only class IN,
 *   and TTLs are not read.
 *
 * A catalog listing more than `limits.maxMembers` members is refused.
 * Pure; the image is only read (nothing returned is a view of it).
 */
export function catalogMembers(image: ZoneImage, limits: CatalogLimits = CATALOG_LIMITS): CatalogOutcome {
  const catalog = ownerText(image, 0);
  const keep = `the member zones stay as the last valid version of ${catalog} listed them`;
  const broken = (what: string): CatalogOutcome => ({ kind: 'error', why: `catalog zone ${catalog}: ${what} (RFC 9432 §5.1: a broken catalog is not processed; ${keep})` });

  // §4.2.1: the schema version.
  const versionNode = findChild(image, 0, 'version');
  const versionSet = versionNode < 0 ? -1 : image.rrset(versionNode, TXT);
  if (versionSet < 0) return broken(`no version property: version.${catalog} must hold one TXT record "2" (RFC 9432 §4.2.1)`);
  if (image.setSize(versionSet) !== 1) return broken(`version.${catalog} holds ${image.setSize(versionSet)} TXT records; it must hold exactly one, "2" (RFC 9432 §4.2.1)`);
  const version = txtText(image.rdatas(versionSet)[0]!);
  if (version !== `"${SCHEMA_VERSION}"`) {
    const old = version === '"1"' ? ' (version "1" is the schema of BIND 9.11 and the drafts before RFC 9432; only "2" is implemented)' : '';
    return broken(`version.${catalog} is TXT ${version ?? '(malformed RDATA)'}, not "2"${old} (RFC 9432 §4.2.1)`);
  }

  const warnings = new Warnings(limits.maxWarnings);
  const members: CatalogMember[] = [];
  const zonesNode = findChild(image, 0, 'zones');
  if (zonesNode < 0) return { kind: 'ok', version: 2, members, warnings: warnings.list() };

  const catalogKey = catalog.toLowerCase();
  /** Member node → its member (absent: not a member, or ignored). */
  const byNode = new Map<number, CatalogMember>();
  /** Member zone (lower case) → the id that named it first. */
  const byZone = new Map<string, string>();

  for (let n = zonesNode; n < image.nodeCount; n++) {
    const depth = n === zonesNode ? 0 : depthBelow(image, n, zonesNode);
    if (depth < 0) break; // canonical order: the descendants of `zones` come right after it, together
    const owner = ownerText(image, n);
    if (depth === 0) {
      warnOtherTypes(image, n, [], warnings, (t) => `${owner}: ${t} records at the zones label itself are ignored; member nodes are <unique-N>.zones.${catalog} (RFC 9432 §4.1)`);
      continue;
    }
    if (depth === 1) {
      // §4.1: a member node.
      const ptr = image.rrset(n, PTR);
      warnOtherTypes(image, n, [PTR], warnings, (t) => `${owner}: ${t} records at a member node are ignored (RFC 9432 §3, §4.1)`);
      if (ptr < 0) continue;
      if (image.setSize(ptr) !== 1) return broken(`member node ${owner} holds ${image.setSize(ptr)} PTR records; a member node names exactly one zone (RFC 9432 §4.1)`);
      const zone = ptrName(image.rdatas(ptr)[0]!);
      if (zone === null) return broken(`member node ${owner}: its PTR RDATA is not a valid absolute domain name (RFC 9432 §4.1)`);
      const id = escapeLabel(firstLabel(image.owner(n)));
      const key = zone.toLowerCase();
      const first = byZone.get(key);
      if (first !== undefined) return broken(`member zone ${zone} is listed twice, by member nodes ${first} and ${id}; each zone must have one member node (RFC 9432 §4.1)`);
      byZone.set(key, id);
      if (key === catalogKey) {
        warnings.add(`member node ${owner} names the catalog zone itself: ignored, a zone this server already has (RFC 9432 §5.2)`);
        continue;
      }
      if (members.length >= limits.maxMembers) {
        const why = `catalog zone ${catalog}: it lists more than ${limits.maxMembers} member zones, the most one catalog may list here, so it is not processed (${keep}); split it into several catalogs, or raise the limit`;
        return { kind: 'error', why };
      }
      const member: CatalogMember = { zone, id, group: [], coo: null };
      members.push(member);
      byNode.set(n, member);
      continue;
    }
    if (depth > 2) continue; // below a property (custom properties, §4.4): not read
    // §4.3: a property of the member node above.
    const name = firstLabelKey(image.owner(n));
    if (name !== 'group' && name !== 'coo') continue; // unknown or custom (§4.4): ignored (§3)
    const memberNode = image.parent(n);
    const member = byNode.get(memberNode);
    const type = name === 'group' ? TXT : PTR;
    const set = image.rrset(n, type);
    warnOtherTypes(image, n, [type], warnings, (t) => `${owner}: ${t} records are not the ${name} property (${typeMnemonic(type)}) and are ignored (RFC 9432 §4.3)`);
    if (set < 0) continue;
    if (member === undefined) {
      if (image.rrset(memberNode, PTR) < 0) warnings.add(`${owner}: a ${name} property of ${ownerText(image, memberNode)}, which is no member node (it has no PTR record): ignored (RFC 9432 §4.3)`);
      continue;
    }
    if (name === 'group') {
      // §4.3.2: any number of TXT records, each one value.
      for (const rdata of image.rdatas(set)) {
        const value = groupValue(rdata);
        if (value === null) return broken(`${owner}: a TXT record whose RDATA is not character-strings (RFC 1035 §3.3.14)`);
        member.group.push(value);
      }
      member.group.sort();
      continue;
    }
    // §4.3.1: exactly one PTR, naming the catalog the member may migrate to.
    if (image.setSize(set) !== 1) return broken(`${owner} holds ${image.setSize(set)} PTR records; the coo property is exactly one (RFC 9432 §4.3.1)`);
    const coo = ptrName(image.rdatas(set)[0]!);
    if (coo === null) return broken(`${owner}: its PTR RDATA is not a valid absolute domain name (RFC 9432 §4.3.1)`);
    if (coo.toLowerCase() === catalogKey) {
      warnings.add(`${owner} names this catalog itself as the new owner of ${member.zone}: ignored (RFC 9432 §4.3.1 migrates to another catalog)`);
      continue;
    }
    member.coo = coo;
  }
  return { kind: 'ok', version: 2, members, warnings: warnings.list() };
}

/** A zone's current owner on this server, as the caller of catalogChanges knows it. */
export type ZoneOwner =
  /** A zone from the configuration (not from any catalog). */
  | { kind: 'configured' }
  /** A member of catalog `catalog` (this one or another): `member` is that catalog's entry as last applied (its last valid version). */
  | { kind: 'catalog'; catalog: string; member: CatalogMember };

/** What catalogChanges needs to know beyond two member lists: which catalog this is, and who owns each zone now. */
export interface CatalogContext {
  /** This catalog zone's name (any case, trailing dot). */
  catalog: string;
  /**
   * Who serves `zone` now (the member's zone, any case: compare as
   * catalogNameKey does), or null when this server does not serve it.
   */
  ownerOf(zone: string): ZoneOwner | null;
}

/** A member taken over from another catalog (RFC 9432 §4.3.1, §5.5). */
export interface CatalogMigration {
  /** The member as this catalog lists it. */
  member: CatalogMember;
  /** The catalog it came from. */
  from: string;
  /** True unless both catalogs gave it the same `<unique-N>` label: its state (zone data, keys) must be reset (§4.3.1). */
  resetState: boolean;
}

/** A member this catalog lists that another owner serves: ignored (RFC 9432 §5.2). */
export interface CatalogClash {
  /** The member as this catalog lists it. */
  member: CatalogMember;
  /** `configuration`, or the name of the catalog that owns the zone. */
  owner: string;
  /** One line for the log. */
  why: string;
}

/** What to do after a catalog's member list changed. */
export interface CatalogChanges {
  /** Zones to start serving as members of this catalog (transfer them in). */
  added: CatalogMember[];
  /** Zones to stop serving, their state removed (RFC 9432 §5.3). */
  removed: CatalogMember[];
  /** Zones whose `<unique-N>` changed: remove with all state, then add anew (RFC 9432 §5.4, §5.6). */
  reset: CatalogMember[];
  /** Zones with the same `<unique-N>` whose group values changed (RFC 9432 §4.3.2): apply the configuration of the new groups. */
  regrouped: CatalogMember[];
  /** Zones taken over from another catalog whose coo names this one (RFC 9432 §4.3.1, §5.5). Only with a context. */
  migrated: CatalogMigration[];
  /** Zones listed here but owned by the configuration or another catalog: ignored, to be logged (RFC 9432 §5.2). Only with a context; reported on every change while they last. */
  clashes: CatalogClash[];
}

/** The comparison form of a presentation name: ASCII letters in lower case (RFC 4343 §3; presentation names are ASCII, escapes are digits). */
export function catalogNameKey(name: string): string {
  return name.toLowerCase();
}

/**
 * What changed from the member list `before` (the last valid version of
 * this catalog; null when there was none) to `after` (catalogMembers of the
 * new version).
 *
 * Without `context` (one catalog, nothing else to clash with), a plain
 * comparison by zone name (without regard to case): a zone only in `after`
 * is added, only in `before` removed; in both, a changed `<unique-N>` is a
 * reset (§5.4: removal with all state, then addition), else changed group
 * values are a regroup.
 *
 * With `context`, who owns each zone now decides (RFC 9432 §5.2–§5.5), and
 * `before` only says which zones this catalog listed until now:
 * - a listed zone nobody serves is added;
 * - a listed zone this catalog owns is compared with the entry last applied
 *   for it (reset or regrouped, as above);
 * - a listed zone another catalog owns is migrated here when that catalog's
 *   entry (its last valid version) has a coo naming this catalog (§4.3.1:
 *   the migration waits for this catalog to list the zone, and the old
 *   catalog's coo must still be there), its state reset unless both
 *   catalogs use the same `<unique-N>`; it is left alone, silently, when
 *   this catalog's own entry has a coo naming that owner (migrated away,
 *   §4.3.1: the old owner removes it later); otherwise it clashes (§5.2), as
 *   does a listed zone the configuration serves;
 * - a zone `before` listed and `after` does not is removed only when this
 *   catalog owns it (§5.3).
 *
 * Lists come in the order of `after` (removals: of `before`).
 */
export function catalogChanges(before: readonly CatalogMember[] | null, after: readonly CatalogMember[], context?: CatalogContext): CatalogChanges {
  const changes: CatalogChanges = { added: [], removed: [], reset: [], regrouped: [], migrated: [], clashes: [] };
  const listed = new Set(after.map((m) => catalogNameKey(m.zone)));
  if (context === undefined) {
    const old = new Map((before ?? []).map((m) => [catalogNameKey(m.zone), m]));
    for (const m of after) {
      const was = old.get(catalogNameKey(m.zone));
      if (was === undefined) changes.added.push(m);
      else compareApplied(was, m, changes);
    }
    for (const m of before ?? []) if (!listed.has(catalogNameKey(m.zone))) changes.removed.push(m);
    return changes;
  }

  const self = catalogNameKey(context.catalog);
  for (const m of after) {
    const owner = context.ownerOf(m.zone);
    if (owner === null) {
      changes.added.push(m);
    } else if (owner.kind === 'configured') {
      changes.clashes.push({ member: m, owner: 'configuration', why: `member zone ${m.zone} of catalog ${context.catalog} is ignored: the configuration already serves it (RFC 9432 §5.2)` });
    } else if (catalogNameKey(owner.catalog) === self) {
      compareApplied(owner.member, m, changes);
    } else if (owner.member.coo !== null && catalogNameKey(owner.member.coo) === self) {
      changes.migrated.push({ member: m, from: owner.catalog, resetState: owner.member.id.toLowerCase() !== m.id.toLowerCase() });
    } else if (m.coo === null || catalogNameKey(m.coo) !== catalogNameKey(owner.catalog)) {
      changes.clashes.push({
        member: m,
        owner: owner.catalog,
        why: `member zone ${m.zone} of catalog ${context.catalog} is ignored: it is a member of catalog ${owner.catalog}, whose entry has no coo property naming ${context.catalog} (RFC 9432 §5.2, §4.3.1)`,
      });
    }
  }
  for (const m of before ?? []) {
    if (listed.has(catalogNameKey(m.zone))) continue;
    const owner = context.ownerOf(m.zone);
    if (owner?.kind === 'catalog' && catalogNameKey(owner.catalog) === self) changes.removed.push(m);
  }
  return changes;
}

/** Files `now` under reset or regrouped when it differs so from `was`, the same zone's applied entry. */
function compareApplied(was: CatalogMember, now: CatalogMember, changes: CatalogChanges): void {
  if (was.id.toLowerCase() !== now.id.toLowerCase()) changes.reset.push(now);
  else if (!sameGroups(was.group, now.group)) changes.regrouped.push(now);
}

/** Whether two group lists hold the same values (as sets: catalogMembers sorts them, callers may not). */
function sameGroups(a: readonly string[], b: readonly string[]): boolean {
  const x = [...new Set(a)].sort();
  const y = [...new Set(b)].sort();
  return x.length === y.length && x.every((v, i) => v === y[i]);
}

// ---------- reading the image ----------

/** The node named `<label>.<parent's name>` (label in lower-case ASCII), or -1. */
function findChild(image: ZoneImage, parent: number, label: string): number {
  const parentKey = image.key(parent);
  const name = new Uint8Array(1 + label.length + parentKey.length);
  name[0] = label.length;
  for (let i = 0; i < label.length; i++) name[1 + i] = label.charCodeAt(i);
  name.set(parentKey, 1 + label.length);
  return image.find(name, 0, name.length);
}

/** How many labels node `n` is below node `top` (1: a child), or -1 when it is not below it. Parents precede their children in the image. */
function depthBelow(image: ZoneImage, n: number, top: number): number {
  let depth = 0;
  let p = n;
  for (; p > top; p = image.parent(p)) depth++;
  return p === top && depth > 0 ? depth : -1;
}

/** The node's owner name in presentation form, as the zone wrote it. */
function ownerText(image: ZoneImage, n: number): string {
  const owner = image.owner(n);
  return presentLabels(wireLabels(owner, 0, owner.length) ?? []);
}

/** The first label of a wire name (a view). */
function firstLabel(wire: Uint8Array): Uint8Array {
  return wire.subarray(1, 1 + wire[0]!);
}

/** The first label of a wire name as lower-case text (property names are ASCII). */
function firstLabelKey(wire: Uint8Array): string {
  return Buffer.from(firstLabel(wire)).toString('latin1').toLowerCase();
}

/**
 * The labels of the uncompressed wire name filling `bytes[from, to)`
 * exactly (RFC 1035 §3.1: labels of at most 63 octets, 255 octets in all,
 * ending with the root), or null when the octets are not one.
 */
function wireLabels(bytes: Uint8Array, from: number, to: number): Uint8Array[] | null {
  const labels: Uint8Array[] = [];
  let at = from;
  for (;;) {
    if (at >= to) return null;
    const len = bytes[at]!;
    if (len === 0) break;
    if (len > 63 || at + 1 + len >= to) return null;
    labels.push(bytes.subarray(at + 1, at + 1 + len));
    at += 1 + len;
  }
  return at + 1 === to && at + 1 - from <= 255 ? labels : null;
}

/** A PTR RDATA's name in presentation form with the trailing dot, or null when it is not one name. */
function ptrName(rdata: Uint8Array): string | null {
  const labels = wireLabels(rdata, 0, rdata.length);
  return labels === null ? null : presentLabels(labels);
}

/** A TXT RDATA's character-strings (RFC 1035 §3.3.14), or null when the octets are not whole strings. */
function txtStrings(rdata: Uint8Array): Uint8Array[] | null {
  const out: Uint8Array[] = [];
  for (let at = 0; at < rdata.length; ) {
    const len = rdata[at]!;
    if (at + 1 + len > rdata.length) return null;
    out.push(rdata.subarray(at + 1, at + 1 + len));
    at += 1 + len;
  }
  return out.length === 0 ? null : out;
}

/** A TXT RDATA in presentation form (each string quoted), or null when malformed: what messages show. */
function txtText(rdata: Uint8Array): string | null {
  const strings = txtStrings(rdata);
  return strings === null ? null : strings.map(quoted).join(' ');
}

/** A group value: the RDATA's strings joined by a space, each bare or quoted (see CatalogMember.group); null when malformed. */
function groupValue(rdata: Uint8Array): string | null {
  const strings = txtStrings(rdata);
  return strings === null ? null : strings.map((s) => (bareSafe(s) ? Buffer.from(s).toString('latin1') : quoted(s))).join(' ');
}

/** Whether a string can be written without quotes: not empty, printable ASCII without space, `"` or `\`. */
function bareSafe(s: Uint8Array): boolean {
  if (s.length === 0) return false;
  for (const c of s) if (c <= 0x20 || c >= 0x7f || c === 0x22 || c === 0x5c) return false;
  return true;
}

/** A character-string in quotes, `"` and `\` escaped by a backslash, octets outside printable ASCII as `\DDD` (RFC 1035 §5.1). */
function quoted(s: Uint8Array): string {
  let out = '"';
  for (const c of s) {
    if (c === 0x22 || c === 0x5c) out += '\\' + String.fromCharCode(c);
    else if (c < 0x20 || c > 0x7e) out += '\\' + String(c).padStart(3, '0');
    else out += String.fromCharCode(c);
  }
  return out + '"';
}

/** Warns about the node's RRsets of types other than `expected` (RRSIG and NSEC aside). */
function warnOtherTypes(image: ZoneImage, n: number, expected: readonly number[], warnings: Warnings, say: (type: string) => string): void {
  const first = image.firstSet(n);
  const seen = new Set<number>();
  for (let s = first; s < first + image.setCount(n); s++) {
    const type = image.setType(s);
    if (expected.includes(type) || type === RRSIG || type === NSEC || seen.has(type)) continue;
    seen.add(type);
    warnings.add(say(typeMnemonic(type)));
  }
}

/** Warnings, at most `max` kept; the rest counted in a last line. */
class Warnings {
  private readonly kept: string[] = [];
  private dropped = 0;

  constructor(private readonly max: number) {}

  add(line: string): void {
    if (this.kept.length < this.max) this.kept.push(line);
    else this.dropped++;
  }

  list(): string[] {
    return this.dropped === 0 ? [...this.kept] : [...this.kept, `… and ${this.dropped} more warnings like these`];
  }
}
