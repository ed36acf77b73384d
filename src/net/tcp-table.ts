/** TCP connection accounting for one worker: per-client counts, idle and reading connections oldest first, who is closed to admit a new one, and why each connection closed. Pure: no sockets, no clocks. */

/** The limits the table enforces (RFC 7766 §6.2.2: servers MAY limit connections per client address or subnet, and in total). */
export interface TcpTableLimits {
  /** Connections the worker holds at most, from all clients. */
  maxConnections: number;
  /** Connections one client (see {@link clientKey}) holds at most. */
  maxPerClient: number;
}

/**
 * What a connection is doing, which decides whether it may be closed to make room:
 * `idle` waits for the client's next query (closed first, the longest idle first: RFC 7766
 * §6.2.3 lets a loaded server use a zero idle timeout); `reading` has a query begun but
 * not whole (next, the one whose query began longest ago: a slow sender); `waiting` owes
 * the client answers still being worked out (never closed to make room).
 */
export type ConnectionState = 'idle' | 'reading' | 'waiting';

/** Why a connection was closed (or refused at once), as counted in the worker's stats. */
export const CLOSE_REASONS = [
  /** Nothing from the client for the idle timeout (RFC 7766 §6.2.3). */
  'idleTimeout',
  /** A query begun did not arrive whole within the message timeout (a slow sender). */
  'messageTimeout',
  /** The worker was at its connection limit: this one (idle, or else reading the longest) made room for a new one. */
  'evictedWorkerFull',
  /** Its client was at the per-client limit: this one, the client's own longest idle (or else longest reading), made room for the client's new one. */
  'evictedClientFull',
  /** A new connection closed at once: the worker was at its limit and every connection was owed answers. */
  'refusedWorkerFull',
  /** A new connection closed at once: its client was at the per-client limit and every one of its connections was owed answers. */
  'refusedClientFull',
  /** The client sent a frame shorter than a DNS header, or a message that is not a query. */
  'badFrame',
  /** The client closed the connection, or it failed (reset, broken pipe). */
  'peer',
  /** The worker was shutting down. */
  'shutdown',
  /** A zone transfer's next message could not be made (a bug, counted as an internal error): the transfer is cut off. */
  'transferFailed',
] as const;
/** One of {@link CLOSE_REASONS}. */
export type CloseReason = (typeof CLOSE_REASONS)[number];

/** The counters of a table, as reported over IPC. */
export interface TcpCounters {
  /** Connections admitted since the worker started. */
  accepted: number;
  /** Connections held now. */
  open: number;
  /** Of those, waiting for the client's next query. */
  idle: number;
  /** Connections closed (or refused), by reason. */
  closed: Record<CloseReason, number>;
}

/** The outcome of {@link TcpTable.admit}: the caller closes `victim` (already removed from the table) or the refused connection. */
export type Admission<C> =
  | { kind: 'admit' }
  | { kind: 'admit-evicting'; victim: C; reason: 'evictedWorkerFull' | 'evictedClientFull' }
  | { kind: 'refuse'; reason: 'refusedWorkerFull' | 'refusedClientFull' };

/** A node of a {@link Queue}. */
interface Link<T> {
  value: T;
  prev: Link<T> | null;
  next: Link<T> | null;
}

/** A doubly linked list: append at the tail, remove any node, read the head, each O(1). */
class Queue<T> {
  private head: Link<T> | null = null;
  private tail: Link<T> | null = null;
  length = 0;

  push(value: T): Link<T> {
    const link: Link<T> = { value, prev: this.tail, next: null };
    if (this.tail) this.tail.next = link;
    else this.head = link;
    this.tail = link;
    this.length++;
    return link;
  }

  remove(link: Link<T>): void {
    if (link.prev) link.prev.next = link.next;
    else this.head = link.next;
    if (link.next) link.next.prev = link.prev;
    else this.tail = link.prev;
    link.prev = link.next = null;
    this.length--;
  }

  first(): T | undefined {
    return this.head?.value;
  }
}

/** One client's connections: how many, and its idle and reading ones oldest first. */
interface Client<C> {
  key: string;
  count: number;
  idle: Queue<Entry<C>>;
  reading: Queue<Entry<C>>;
}

/** One connection: its client, its state, and where it sits in the worker's and its client's queues. */
interface Entry<C> {
  conn: C;
  client: Client<C>;
  state: ConnectionState;
  /** In the worker's queue for `state` (none for `waiting`). */
  link: Link<Entry<C>> | null;
  /** In the client's queue for `state` (none for `waiting`). */
  clientLink: Link<Entry<C>> | null;
}

/**
 * The connections one worker holds, shared by its TCP listeners. A new
 * connection is admitted while its client and the worker are under their
 * limits; at a limit, the longest idle connection (of that client, or of the
 * worker) is closed to make room, or else the one whose query began longest
 * ago, so a client holding hundreds of connections cannot lock fresh clients
 * out until timeouts free slots. Only when every candidate is owed answers is
 * the new connection refused. Every operation is O(1).
 *
 * The table never closes anything itself: {@link admit} names the connection
 * to close, and the caller reports each close with {@link remove}.
 */
export class TcpTable<C> {
  private readonly entries = new Map<C, Entry<C>>();
  private readonly clients = new Map<string, Client<C>>();
  private readonly idleQueue = new Queue<Entry<C>>();
  private readonly readingQueue = new Queue<Entry<C>>();
  private accepted = 0;
  private readonly closed = Object.fromEntries(CLOSE_REASONS.map((r) => [r, 0])) as Record<CloseReason, number>;

  constructor(private readonly limits: TcpTableLimits) {}

  /** Connections held. */
  get size(): number {
    return this.entries.size;
  }

  /** Connections held for the client with this key. */
  clientConnections(key: string): number {
    return this.clients.get(key)?.count ?? 0;
  }

  /** The state of a connection held, or undefined. */
  stateOf(conn: C): ConnectionState | undefined {
    return this.entries.get(conn)?.state;
  }

  /**
   * Decides on a new connection from the client with key `key` (see
   * {@link clientKey}). Admitted, it is held as `idle` (nothing received yet).
   * A victim named in the outcome has been removed and counted already.
   */
  admit(conn: C, key: string): Admission<C> {
    if (this.entries.has(conn)) return { kind: 'admit' };
    let client = this.clients.get(key);
    let outcome: Admission<C> = { kind: 'admit' };
    if (client !== undefined && client.count >= this.limits.maxPerClient) {
      const victim = client.idle.first() ?? client.reading.first();
      if (victim === undefined) return this.refuse('refusedClientFull');
      this.drop(victim, 'evictedClientFull');
      outcome = { kind: 'admit-evicting', victim: victim.conn, reason: 'evictedClientFull' };
    } else if (this.entries.size >= this.limits.maxConnections) {
      const victim = this.idleQueue.first() ?? this.readingQueue.first();
      if (victim === undefined) return this.refuse('refusedWorkerFull');
      this.drop(victim, 'evictedWorkerFull');
      outcome = { kind: 'admit-evicting', victim: victim.conn, reason: 'evictedWorkerFull' };
    }
    // The victim may have been the client's last connection, taking its record with it.
    client = this.clients.get(key);
    if (client === undefined) {
      client = { key, count: 0, idle: new Queue(), reading: new Queue() };
      this.clients.set(key, client);
    }
    client.count++;
    const entry: Entry<C> = { conn, client, state: 'waiting', link: null, clientLink: null };
    this.entries.set(conn, entry);
    this.enter(entry, 'idle');
    this.accepted++;
    return outcome;
  }

  /** The connection has answered everything and waits for the client's next query; it becomes the most recently idle. */
  idle(conn: C): void {
    const entry = this.entries.get(conn);
    if (entry) this.enter(entry, 'idle');
  }

  /** A new query has begun arriving on the connection (not the one already counted as begun). */
  reading(conn: C): void {
    const entry = this.entries.get(conn);
    if (entry) this.enter(entry, 'reading');
  }

  /** The connection is owed answers (forwarded questions in flight): it is not closed to make room. */
  waiting(conn: C): void {
    const entry = this.entries.get(conn);
    if (entry && entry.state !== 'waiting') this.enter(entry, 'waiting');
  }

  /** A connection closed; counts it under `reason`. False (and nothing counted) for one the table does not hold, e.g. a victim it already removed. */
  remove(conn: C, reason: CloseReason): boolean {
    const entry = this.entries.get(conn);
    if (entry === undefined) return false;
    this.drop(entry, reason);
    return true;
  }

  /** A copy of the counters. */
  snapshot(): TcpCounters {
    return { accepted: this.accepted, open: this.entries.size, idle: this.idleQueue.length, closed: { ...this.closed } };
  }

  private refuse(reason: 'refusedWorkerFull' | 'refusedClientFull'): Admission<C> {
    this.closed[reason]++;
    return { kind: 'refuse', reason };
  }

  /** Moves an entry to the tail of the queues for `state` (leaving the ones it was in). */
  private enter(entry: Entry<C>, state: ConnectionState): void {
    this.leave(entry);
    entry.state = state;
    if (state === 'idle') {
      entry.link = this.idleQueue.push(entry);
      entry.clientLink = entry.client.idle.push(entry);
    } else if (state === 'reading') {
      entry.link = this.readingQueue.push(entry);
      entry.clientLink = entry.client.reading.push(entry);
    }
  }

  private leave(entry: Entry<C>): void {
    if (entry.link) (entry.state === 'idle' ? this.idleQueue : this.readingQueue).remove(entry.link);
    if (entry.clientLink) (entry.state === 'idle' ? entry.client.idle : entry.client.reading).remove(entry.clientLink);
    entry.link = entry.clientLink = null;
  }

  private drop(entry: Entry<C>, reason: CloseReason): void {
    this.leave(entry);
    this.entries.delete(entry.conn);
    this.closed[reason]++;
    if (--entry.client.count === 0) this.clients.delete(entry.client.key);
  }
}

/**
 * The client a connection is counted against: an IPv4 address (an IPv4-mapped
 * IPv6 one as the IPv4 address); for IPv6, the /64. One IPv6 host normally holds
 * a whole /64 (interface identifiers are 64 bits, RFC 4291 §2.5.1; SLAAC and
 * temporary addresses, RFC 4862 and RFC 8981, pick any of them), so a per-address
 * limit would not hold it back; the /64 is the smallest block that does, and no
 * wider one is taken, so unrelated hosts of one site are not counted together.
 * Link-local addresses (fe80::/10) share one /64 on every link: each is its own
 * client, with its zone. Letters are lowercased.
 */
export function clientKey(address: string): string {
  const a = address.toLowerCase();
  if (!a.includes(':')) return a;
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(a);
  if (mapped) return mapped[1]!;
  const groups = ipv6Groups(a.split('%')[0]!);
  if (groups === null) return a;
  if ((groups[0]! & 0xffc0) === 0xfe80) return a;
  return `${groups.slice(0, 4).map((g) => g.toString(16)).join(':')}::/64`;
}

/** The eight 16-bit groups of an IPv6 address (`::` expanded, a dotted IPv4 tail as two groups), or null if it is not one. */
function ipv6Groups(a: string): number[] | null {
  const halves = a.split('::');
  if (halves.length > 2) return null;
  const words = (s: string | undefined, last: boolean): number[] | null => {
    const out: number[] = [];
    const list = s ? s.split(':') : [];
    for (const [i, w] of list.entries()) {
      if (last && i === list.length - 1 && w.includes('.')) {
        const q = w.split('.').map(Number);
        if (q.length !== 4 || q.some((n) => !Number.isInteger(n) || n < 0 || n > 255)) return null;
        out.push((q[0]! << 8) | q[1]!, (q[2]! << 8) | q[3]!);
      } else {
        if (!/^[0-9a-f]{1,4}$/.test(w)) return null;
        out.push(parseInt(w, 16));
      }
    }
    return out;
  };
  const l = words(halves[0], halves.length === 1);
  const r = words(halves[1], true);
  if (l === null || r === null) return null;
  const missing = 8 - l.length - r.length;
  if (halves.length === 2 ? missing < 1 : missing !== 0) return null;
  return [...l, ...new Array<number>(missing).fill(0), ...r];
}
