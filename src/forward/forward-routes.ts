/** Routing a name to its most specific forward zone (split DNS), and the packed form the forward zones travel to a worker in: a few strings and one typed array, however many zones there are. */

import { nameKey } from '../zone/names.js';
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
 * The forward zones by name, for routing. One Map from each zone's key
 * (lower-cased, RFC 4343; no trailing dot) to its index, and from each
 * ancestor of a zone to INTERIOR; a name is routed by looking its suffixes
 * up from the top-level label down, keeping the deepest forward zone met,
 * and stopping at the first suffix the Map does not hold: a name outside
 * every forward zone costs one lookup (its TLD), one in `a.b.corp.example`
 * with `corp.example.` configured three, however many zones there are
 * (CoreDNS #3144: a list scanned per query cost time and 3.5 GB at 100k
 * stanzas).
 *
 * Memory grows with the zones in use, not those configured: the keys are
 * slices of the packed names (one string), and a zone's {@link Route} and
 * its group's upstream objects are made the first time a name routes
 * there. 10,000 zones, each with its own upstream, hold 1.2 MB of heap
 * before any is used, and about 320 octets more for each zone in use.
 */
export class ForwardRoutes {
  /** Zone index, or INTERIOR for an ancestor of a forward zone, by key. */
  private readonly byKey = new Map<string, number>();
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
    // V8 gives back `names` itself when it has no capitals, so the keys slice the one string.
    const lower = names.toLowerCase();
    for (let i = 0; i < this.size; i++) {
      // Without the trailing dot and newline: '' for the root.
      const key = lower.slice(starts[i]!, starts[i + 1]! - 2);
      if (key === '') {
        if (this.root >= 0) this.duplicate = '.';
        this.root = i;
        continue;
      }
      const before = this.byKey.get(key);
      if (before !== undefined && before !== INTERIOR) this.duplicate = this.zoneName(i);
      this.byKey.set(key, i);
      for (let dot = nextDot(key, 0); dot >= 0; dot = nextDot(key, dot + 1)) {
        const ancestor = key.slice(dot + 1);
        if (!this.byKey.has(ancestor)) this.byKey.set(ancestor, INTERIOR);
      }
    }
  }

  /** Where `name` (as dns-packet gives it, trailing dot or not, any case) goes. */
  route(name: string): Route {
    if (this.size === 0) return DEFAULT_ROUTE;
    const key = keyOf(name);
    let best = this.root;
    for (let end = key.length; end > 0; ) {
      const dot = previousDot(key, end - 1);
      const node = this.byKey.get(dot < 0 ? key : key.slice(dot + 1));
      if (node === undefined) break;
      if (node !== INTERIOR) best = node;
      end = dot;
    }
    return best < 0 ? DEFAULT_ROUTE : (this.made.get(best) ?? this.make(best));
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

/** The Map's mark for a name that is no forward zone but an ancestor of one. */
const INTERIOR = -1;

/** The index of the first label-separating dot at or after `from` (an escaped `\.` is inside a label), or -1. */
function nextDot(key: string, from: number): number {
  for (let i = from; i < key.length; i++) {
    const c = key.charCodeAt(i);
    if (c === 0x5c) i++;
    else if (c === 0x2e) return i;
  }
  return -1;
}

/** The index of the last label-separating dot at or before `from`, or -1. */
function previousDot(key: string, from: number): number {
  for (let i = key.lastIndexOf('.', from); i >= 0; i = key.lastIndexOf('.', i - 1)) {
    let slashes = 0;
    while (i - 1 - slashes >= 0 && key.charCodeAt(i - 1 - slashes) === 0x5c) slashes++;
    if (slashes % 2 === 0) return i;
    if (i === 0) break;
  }
  return -1;
}

/** The map key of a query name: lower case (RFC 4343), no trailing dot, '' for the root. */
function keyOf(name: string): string {
  const key = nameKey(name);
  if (key === '.' || key === '') return '';
  return key.endsWith('.') && !key.endsWith('\\.') ? key.slice(0, -1) : key;
}
