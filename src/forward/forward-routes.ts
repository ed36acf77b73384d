/** Routing a name to its most specific forward zone (split DNS), and the packed form the forward zones travel to a worker in: a few strings and one typed array, however many zones there are. */

import { NOWHERE, type ForwardZone } from './forward-zones.js';
import { formatUpstream, parseUpstream, TLS_SCHEME, type Upstream } from './upstreams.js';

/**
 * Where one name goes: the default upstreams (`--forward`, no forward zone
 * holds it), its most specific forward zone's upstreams, or nowhere.
 */
export type Route = { kind: 'default' } | { kind: 'upstreams'; zone: string; upstreams: readonly Upstream[] } | { kind: 'nowhere'; zone: string };

const DEFAULT_ROUTE: Route = { kind: 'default' };

/** '.', the label separator. */
const DOT = 0x2e;

/**
 * The forward zones as the supervisor sends them to a worker. Structured
 * clone of 10,000 `ForwardZone` objects cost the worker 3.3 MB kept and
 * several more of garbage while it started; this is three values. Zones
 * with the same upstream list share one group.
 */
export interface PackedForwardZones {
  /** Every zone's name in presentation form (printable ASCII, trailing dot), a `\n` after each. */
  names: string;
  /** Every group's upstreams, each as {@link formatUpstream} writes it, comma-separated, or `none`; a `\n` after each group. */
  groups: string;
  /** Zone i's group: an index into `groups`. */
  groupOf: Uint32Array;
}

/** What {@link unpackForwardZones} made of a packed table: the routes, or what is wrong with it. */
export type UnpackOutcome = { kind: 'ok'; routes: ForwardRoutes } | { kind: 'error'; message: string };

/**
 * Packs validated forward zones (src/forward/forward-zones.ts) for the trip
 * to a worker, each distinct upstream list once.
 */
export function packForwardZones(zones: readonly ForwardZone[]): PackedForwardZones {
  const groupIndex = new Map<string, number>();
  const groupOf = new Uint32Array(zones.length);
  let names = '';
  let groups = '';
  zones.forEach((z, i) => {
    const text = z.to.kind === 'nowhere' ? NOWHERE : z.to.upstreams.map(formatUpstream).join(',');
    let g = groupIndex.get(text);
    if (g === undefined) {
      g = groupIndex.size;
      groupIndex.set(text, g);
      groups += `${text}\n`;
    }
    groupOf[i] = g;
    names += `${z.name}\n`;
  });
  return { names, groups, groupOf };
}

/**
 * The routes of a packed table, checked: every name ends in a dot, is given
 * once, and has a group. A group's upstreams are read when a name first
 * routes to it (reading 10,000 at start cost a worker 4 MB, in garbage and
 * the young generation it grew); one that does not read back is left out
 * and `onBadUpstream` told. A problem is a bug (the supervisor packed
 * validated zones), said as such.
 */
export function unpackForwardZones(packed: PackedForwardZones, onBadUpstream: (message: string) => void = () => undefined): UnpackOutcome {
  const bug = (what: string): UnpackOutcome => ({ kind: 'error', message: `forward zones sent to the worker are damaged: ${what} (this is a bug; please report it)` });
  const { names, groups } = packed;
  if (typeof names !== 'string' || typeof groups !== 'string' || !(packed.groupOf instanceof Uint32Array)) return bug('expected names, groups and groupOf');
  // A copy: the one received is a view into the whole IPC message, which it would keep alive.
  const groupOf = packed.groupOf.slice();
  const groupStarts = lineStarts(groups);
  if (groupStarts === null) return bug('the last group has no newline');
  const starts = lineStarts(names);
  if (starts === null) return bug('the last name has no newline');
  for (let i = 0; i + 1 < starts.length; i++) {
    const end = starts[i + 1]! - 1;
    if (names.charCodeAt(end - 1) !== DOT) return bug(`"${names.slice(starts[i]!, end)}" does not end in a dot`);
  }
  const count = starts.length - 1;
  if (count !== groupOf.length) return bug(`${count} names but ${groupOf.length} group indexes`);
  const groupCount = groupStarts.length - 1;
  for (let i = 0; i < count; i++) if (groupOf[i]! >= groupCount) return bug(`zone ${i + 1} names group ${groupOf[i]! + 1} of ${groupCount}`);
  const routes = new ForwardRoutes({ names, starts, groupOf, groups, groupStarts, anyTls: groups.includes(TLS_SCHEME), onBadUpstream });
  return routes.duplicate === null ? { kind: 'ok', routes } : bug(`${routes.duplicate} is given twice`);
}

/**
 * The routes of validated forward zones, in this process (tests, tools);
 * a worker gets them packed ({@link unpackForwardZones}).
 */
export function forwardRoutes(zones: readonly ForwardZone[]): ForwardRoutes {
  const r = unpackForwardZones(packForwardZones(zones));
  // Validated zones always pack and unpack; anything else is a bug in this module.
  if (r.kind === 'error') throw new Error(r.message);
  return r.routes;
}

/** Where each `\n`-ended line of `text` starts, then its length; null when the last line has no newline. */
function lineStarts(text: string): Uint32Array | null {
  let lines = 0;
  for (let at = text.indexOf('\n'); at >= 0; at = text.indexOf('\n', at + 1)) lines++;
  if (text.length > 0 && text.charCodeAt(text.length - 1) !== 0x0a) return null;
  const starts = new Uint32Array(lines + 1);
  for (let i = 1, at = text.indexOf('\n'); at >= 0; i++, at = text.indexOf('\n', at + 1)) starts[i] = at + 1;
  return starts;
}

/**
 * Group g's upstreams as packed, read back; null for nowhere. One that does
 * not read (a bug: formatUpstream wrote it) is left out and `onBad` told.
 */
function readGroup(groups: string, groupStarts: Uint32Array, g: number, onBad: (problem: string) => void): Upstream[] | null {
  const text = groups.slice(groupStarts[g]!, groupStarts[g + 1]! - 1);
  if (text === NOWHERE) return null;
  // map, not push: an array grown by push keeps room for 17 (136 octets where one upstream needs 8).
  const read = text.split(',').map(parseUpstream);
  if (read.every((u): u is Upstream => typeof u !== 'string')) return read;
  for (const u of read) if (typeof u === 'string') onBad(u);
  return read.filter((u): u is Upstream => typeof u !== 'string');
}

/** The checked parts of a packed table ({@link ForwardRoutes} keeps them as they are). */
interface Unpacked {
  names: string;
  /** Where zone i's line starts in `names`, then `names.length`. */
  starts: Uint32Array;
  groupOf: Uint32Array;
  groups: string;
  /** Where group g's line starts in `groups`, then `groups.length`. */
  groupStarts: Uint32Array;
  anyTls: boolean;
  /** Hears of an upstream that does not read back (a bug in packing). */
  onBadUpstream: (message: string) => void;
}

/**
 * The forward zones by name, for routing. Each zone's key (its name
 * lower-cased, RFC 4343, without the trailing dot) and each ancestor of one
 * (INTERIOR) sits in one open-addressed hash table held in typed arrays; a
 * key is a stretch of the packed names, so the table holds no string and
 * no object per zone. A name is routed by hashing its suffixes label by
 * label from the top-level label down (right to left, so each suffix's hash
 * extends the last one's), keeping the deepest forward zone met, and
 * stopping at the first suffix the table does not hold: a name outside
 * every forward zone costs one probe (its TLD), one in `a.b.corp.example`
 * with `corp.example.` configured three, however many zones there are
 * (CoreDNS #3144: a list scanned per query cost time and 3.5 GB at 100k
 * stanzas); routing allocates nothing.
 *
 * Memory grows with the zones in use, not those configured: a zone's
 * {@link Route} and its group's upstream objects are made the first time a
 * name routes there. 10,000 zones, each with its own upstream, hold under
 * 1 MB (the packed strings, the table) before any is used, and about 320
 * octets more for each zone in use.
 */
export class ForwardRoutes {
  /** The packed names lower-cased: the keys are stretches of it. */
  private readonly lower: string;
  /** The hash table: entry index + 1 per slot, 0 for none; a power of two long, at most half full. */
  private readonly slots: Int32Array;
  /** Entry e's key is lower[keyStart[e], keyEnd[e]), with hash keyHash[e] and value keyValue[e] (a zone index, or INTERIOR). */
  private readonly keyStart: Int32Array;
  private readonly keyEnd: Int32Array;
  private readonly keyHash: Int32Array;
  private readonly keyValue: Int32Array;
  /** The root's forward zone index, or -1. */
  private readonly root: number = -1;
  /** Routes made so far, by zone index. */
  private readonly made = new Map<number, Route>();
  /** Upstream lists read so far, by group index: zones of one group share one. */
  private readonly lists = new Map<number, readonly Upstream[]>();
  /** Forward zones held. */
  readonly size: number;
  /** True when some forward zone's upstreams include a tls:// one. */
  readonly anyTls: boolean;
  /** A zone name given twice (packed tables only: parseForwardZones refuses that), else null. */
  readonly duplicate: string | null = null;

  /** Use {@link unpackForwardZones} or {@link forwardRoutes}. */
  constructor(private readonly table: Unpacked) {
    const { names, starts } = table;
    this.size = starts.length - 1;
    this.anyTls = table.anyTls;
    // Names are ASCII (escapes for other octets), so this lower-cases each as nameKey would;
    // V8 gives back `names` itself when it has no capitals.
    const lower = names.toLowerCase();
    this.lower = lower;
    // At most one entry per label of every name; the table is sized for that, then built again for the entries there are.
    let labels = 0;
    for (let i = 0; i < this.size; i++) labels += countLabels(lower, starts[i]!, starts[i + 1]! - 2);
    const draft = new KeyTable(lower, labels);
    for (let i = 0; i < this.size; i++) {
      const start = starts[i]!;
      // Without the trailing dot and newline: empty for the root.
      const end = starts[i + 1]! - 2;
      if (end <= start) {
        if (this.root >= 0) this.duplicate = '.';
        this.root = i;
        continue;
      }
      // The suffixes from the top-level label down, the whole key last: ancestors are INTERIOR unless a zone.
      let h = HASH_BASIS;
      for (let at = end - 1; at >= start; at--) {
        const c = lower.charCodeAt(at);
        if (c === DOT && !escaped(lower, at, start)) draft.add(h, at + 1, end, INTERIOR);
        h = hashStep(h, c);
      }
      if (draft.add(h, start, end, i) !== INTERIOR) this.duplicate = this.zoneName(i);
    }
    const final = draft.compact();
    this.slots = final.slots;
    this.keyStart = final.keyStart;
    this.keyEnd = final.keyEnd;
    this.keyHash = final.keyHash;
    this.keyValue = final.keyValue;
  }

  /** Where `name` (a name string as src/zone/names.ts spells it: `\.` and `\DDD` escapes, trailing dot or not, any case) goes. */
  route(name: string): Route {
    if (this.size === 0) return DEFAULT_ROUTE;
    let end = name.length;
    if (end > 0 && name.charCodeAt(end - 1) === DOT && !escaped(name, end - 1, 0)) end--;
    let best = this.root;
    let h = HASH_BASIS;
    for (let at = end - 1; at >= -1; at--) {
      const c = at < 0 ? DOT : name.charCodeAt(at);
      if (c === DOT && (at < 0 || !escaped(name, at, 0))) {
        // name[at + 1, end) is a suffix made of whole labels.
        const v = this.find(h, name, at + 1, end);
        if (v === NOT_HELD) break;
        if (v !== INTERIOR) best = v;
      }
      h = hashStep(h, lowerCode(c));
    }
    return best < 0 ? DEFAULT_ROUTE : (this.made.get(best) ?? this.make(best));
  }

  /** The value of the key that is `name[from, to)` lower-cased, whose hash is `h`; NOT_HELD if none. */
  private find(h: number, name: string, from: number, to: number): number {
    const mask = this.slots.length - 1;
    const length = to - from;
    for (let slot = h & mask; ; slot = (slot + 1) & mask) {
      const e = this.slots[slot]! - 1;
      if (e < 0) return NOT_HELD;
      if (this.keyHash[e] !== h) continue;
      const start = this.keyStart[e]!;
      if (this.keyEnd[e]! - start !== length) continue;
      let k = 0;
      while (k < length && lowerCode(name.charCodeAt(from + k)) === this.lower.charCodeAt(start + k)) k++;
      if (k === length) return this.keyValue[e]!;
    }
  }

  /** `corp.example. → 10.1.2.3:53; home.arpa. → NXDOMAIN here`, the first `max` zones, then how many more. */
  describe(max: number): string {
    const shown: string[] = [];
    for (let i = 0; i < Math.min(max, this.size); i++) {
      const t = this.upstreamsOf(i);
      shown.push(`${this.zoneName(i)} → ${t === null ? 'NXDOMAIN here' : t.map(formatUpstream).join(', ')}`);
    }
    return `${this.size} forward zone(s): ${shown.join('; ')}${this.size > shown.length ? `; and ${this.size - shown.length} more` : ''}`;
  }

  /** Zone i's name as configured. */
  private zoneName(i: number): string {
    return this.table.names.slice(this.table.starts[i]!, this.table.starts[i + 1]! - 1);
  }

  /** Zone i's upstreams (its group's, read once), or null: nowhere. */
  private upstreamsOf(i: number): readonly Upstream[] | null {
    const g = this.table.groupOf[i]!;
    const held = this.lists.get(g);
    if (held !== undefined) return held;
    // An upstream that does not read back is a bug in packing: left out (with none left, the zone's names get SERVFAIL) and told.
    const list = readGroup(this.table.groups, this.table.groupStarts, g, (p) => this.table.onBadUpstream(`forward zone ${this.zoneName(i)}: upstream left out: ${p} (this is a bug; please report it)`));
    if (list !== null) this.lists.set(g, list);
    return list;
  }

  /** Zone i's route, made once. */
  private make(i: number): Route {
    const upstreams = this.upstreamsOf(i);
    const route: Route = upstreams === null ? { kind: 'nowhere', zone: this.zoneName(i) } : { kind: 'upstreams', zone: this.zoneName(i), upstreams };
    this.made.set(i, route);
    return route;
  }
}

/** A key's value for a name that is no forward zone but an ancestor of one. */
const INTERIOR = -1;
/** What find() says of a key the table does not hold. */
const NOT_HELD = -2;

/** FNV-1a, 32 bits, over a key's characters from its last to its first. */
const HASH_BASIS = 0x811c9dc5 | 0;
const HASH_PRIME = 0x01000193;
function hashStep(h: number, c: number): number {
  return Math.imul(h ^ c, HASH_PRIME);
}

/** A character code lower-cased as nameKey does: A–Z only (RFC 4343 §2: case is ASCII's). */
function lowerCode(c: number): number {
  return c >= 0x41 && c <= 0x5a ? c + 0x20 : c;
}

/** True when the character at `at` is escaped: an odd run of backslashes, back to `from`, stands right before it. */
function escaped(text: string, at: number, from: number): boolean {
  let slashes = 0;
  while (at - 1 - slashes >= from && text.charCodeAt(at - 1 - slashes) === 0x5c) slashes++;
  return slashes % 2 === 1;
}

/** The labels of the name at text[start, end): its unescaped dots plus one; 0 for the root. */
function countLabels(text: string, start: number, end: number): number {
  if (end <= start) return 0;
  let labels = 1;
  for (let at = start; at < end; at++) if (text.charCodeAt(at) === DOT && !escaped(text, at, start)) labels++;
  return labels;
}

/** The keys while they are added: room for `capacity`, compacted to the entries there are once all are in. */
class KeyTable {
  private readonly slots: Int32Array;
  private readonly keyStart: Int32Array;
  private readonly keyEnd: Int32Array;
  private readonly keyHash: Int32Array;
  private readonly keyValue: Int32Array;
  private count = 0;

  constructor(
    private readonly lower: string,
    capacity: number,
  ) {
    this.slots = new Int32Array(tableSize(capacity));
    this.keyStart = new Int32Array(capacity);
    this.keyEnd = new Int32Array(capacity);
    this.keyHash = new Int32Array(capacity);
    this.keyValue = new Int32Array(capacity);
  }

  /**
   * Adds lower[start, end) with hash h: a zone index replaces INTERIOR; an
   * INTERIOR leaves what is there. Returns the value there was (INTERIOR
   * when the key is new, so a zone given twice shows as a zone index).
   */
  add(h: number, start: number, end: number, value: number): number {
    const mask = this.slots.length - 1;
    const length = end - start;
    let slot = h & mask;
    for (; this.slots[slot] !== 0; slot = (slot + 1) & mask) {
      const e = this.slots[slot]! - 1;
      if (this.keyHash[e] !== h || this.keyEnd[e]! - this.keyStart[e]! !== length || !sameStretch(this.lower, this.keyStart[e]!, start, length)) continue;
      const before = this.keyValue[e]!;
      if (value !== INTERIOR) this.keyValue[e] = value;
      return before;
    }
    const e = this.count++;
    this.keyStart[e] = start;
    this.keyEnd[e] = end;
    this.keyHash[e] = h;
    this.keyValue[e] = value;
    this.slots[slot] = e + 1;
    return INTERIOR;
  }

  /** The table again, sized for the entries there are. */
  compact(): { slots: Int32Array; keyStart: Int32Array; keyEnd: Int32Array; keyHash: Int32Array; keyValue: Int32Array } {
    const n = this.count;
    const slots = new Int32Array(tableSize(n));
    const mask = slots.length - 1;
    for (let e = 0; e < n; e++) {
      let slot = this.keyHash[e]! & mask;
      while (slots[slot] !== 0) slot = (slot + 1) & mask;
      slots[slot] = e + 1;
    }
    return { slots, keyStart: this.keyStart.slice(0, n), keyEnd: this.keyEnd.slice(0, n), keyHash: this.keyHash.slice(0, n), keyValue: this.keyValue.slice(0, n) };
  }
}

/** Slots for `entries`: a power of two, at least twice as many (linear probing stays short at half full). */
function tableSize(entries: number): number {
  let size = 8;
  while (size < entries * 2) size *= 2;
  return size;
}

/** True when text[a, a + length) and text[b, b + length) are the same characters. */
function sameStretch(text: string, a: number, b: number, length: number): boolean {
  for (let k = 0; k < length; k++) if (text.charCodeAt(a + k) !== text.charCodeAt(b + k)) return false;
  return true;
}
