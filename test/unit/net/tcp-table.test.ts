import { expect } from 'chai';
import { CLOSE_REASONS, TcpTable, clientKey, type Admission, type CloseReason, type TcpTableLimits } from '../../../src/net/tcp-table.js';

/**
 * One step of a script against a table of string connections:
 * `admit` (with the outcome expected, written `admit`, `evict:<victim>:<reason>` or `refuse:<reason>`),
 * a state change, or a close with the result expected.
 */
type Step =
  | ['admit', string, string, string]
  | ['idle' | 'reading' | 'waiting', string]
  | ['remove', string, CloseReason, boolean];

interface Case {
  name: string;
  limits: TcpTableLimits;
  steps: Step[];
  /** Connections held at the end. */
  open: number;
  /** Counters that are not zero at the end. */
  closed?: Partial<Record<CloseReason, number>>;
}

const A = '192.0.2.1';
const B = '192.0.2.2';
const C = '192.0.2.3';

function outcome(a: Admission<string>): string {
  switch (a.kind) {
    case 'admit':
      return 'admit';
    case 'admit-evicting':
      return `evict:${a.victim}:${a.reason}`;
    case 'refuse':
      return `refuse:${a.reason}`;
  }
}

const CASES: Case[] = [
  {
    name: 'admits while the worker and the client are under their limits',
    limits: { maxConnections: 3, maxPerClient: 3 },
    steps: [['admit', 'a1', A, 'admit'], ['admit', 'b1', B, 'admit'], ['admit', 'a2', A, 'admit']],
    open: 3,
  },
  {
    name: 'worker full: the longest idle connection (here the first admitted, never used) makes room',
    limits: { maxConnections: 2, maxPerClient: 10 },
    steps: [['admit', 'a1', A, 'admit'], ['admit', 'b1', B, 'admit'], ['admit', 'c1', C, 'evict:a1:evictedWorkerFull']],
    open: 2,
    closed: { evictedWorkerFull: 1 },
  },
  {
    name: 'worker full: a connection that just answered is the most recently idle, so the other goes',
    limits: { maxConnections: 2, maxPerClient: 10 },
    steps: [['admit', 'a1', A, 'admit'], ['admit', 'b1', B, 'admit'], ['idle', 'a1'], ['admit', 'c1', C, 'evict:b1:evictedWorkerFull']],
    open: 2,
    closed: { evictedWorkerFull: 1 },
  },
  {
    name: 'worker full, nothing idle: the connection whose query began longest ago (a slow sender) makes room',
    limits: { maxConnections: 3, maxPerClient: 10 },
    steps: [
      ['admit', 'a1', A, 'admit'], ['admit', 'b1', B, 'admit'], ['admit', 'b2', B, 'admit'],
      ['reading', 'b1'], ['reading', 'a1'], ['waiting', 'b2'],
      ['admit', 'c1', C, 'evict:b1:evictedWorkerFull'],
    ],
    open: 3,
    closed: { evictedWorkerFull: 1 },
  },
  {
    name: 'worker full: an idle connection goes before any reading one, however old the reading one is',
    limits: { maxConnections: 2, maxPerClient: 10 },
    steps: [['admit', 'a1', A, 'admit'], ['reading', 'a1'], ['admit', 'b1', B, 'admit'], ['admit', 'c1', C, 'evict:b1:evictedWorkerFull']],
    open: 2,
    closed: { evictedWorkerFull: 1 },
  },
  {
    name: 'a second query begun moves a reading connection behind the others',
    limits: { maxConnections: 2, maxPerClient: 10 },
    steps: [['admit', 'a1', A, 'admit'], ['admit', 'b1', B, 'admit'], ['reading', 'a1'], ['reading', 'b1'], ['reading', 'a1'], ['admit', 'c1', C, 'evict:b1:evictedWorkerFull']],
    open: 2,
    closed: { evictedWorkerFull: 1 },
  },
  {
    name: 'worker full and every connection owed answers: the new one is refused, nothing is closed',
    limits: { maxConnections: 2, maxPerClient: 10 },
    steps: [['admit', 'a1', A, 'admit'], ['admit', 'b1', B, 'admit'], ['waiting', 'a1'], ['waiting', 'b1'], ['admit', 'c1', C, 'refuse:refusedWorkerFull']],
    open: 2,
    closed: { refusedWorkerFull: 1 },
  },
  {
    name: 'client full: its own longest idle connection makes room, though another client idles longer',
    limits: { maxConnections: 10, maxPerClient: 2 },
    steps: [['admit', 'b1', B, 'admit'], ['admit', 'a1', A, 'admit'], ['admit', 'a2', A, 'admit'], ['admit', 'a3', A, 'evict:a1:evictedClientFull']],
    open: 3,
    closed: { evictedClientFull: 1 },
  },
  {
    name: 'client full, nothing of its own idle: its own slow sender goes',
    limits: { maxConnections: 10, maxPerClient: 2 },
    steps: [['admit', 'a1', A, 'admit'], ['admit', 'a2', A, 'admit'], ['waiting', 'a1'], ['reading', 'a2'], ['admit', 'a3', A, 'evict:a2:evictedClientFull']],
    open: 2,
    closed: { evictedClientFull: 1 },
  },
  {
    name: 'client full and all its connections owed answers: refused, though the worker has room and others idle',
    limits: { maxConnections: 10, maxPerClient: 2 },
    steps: [['admit', 'b1', B, 'admit'], ['admit', 'a1', A, 'admit'], ['admit', 'a2', A, 'admit'], ['waiting', 'a1'], ['waiting', 'a2'], ['admit', 'a3', A, 'refuse:refusedClientFull']],
    open: 3,
    closed: { refusedClientFull: 1 },
  },
  {
    name: 'client and worker both full: the client pays, not the others',
    limits: { maxConnections: 3, maxPerClient: 2 },
    steps: [['admit', 'b1', B, 'admit'], ['admit', 'a1', A, 'admit'], ['admit', 'a2', A, 'admit'], ['admit', 'a3', A, 'evict:a1:evictedClientFull']],
    open: 3,
    closed: { evictedClientFull: 1 },
  },
  {
    name: 'worker full: the victim may be the newcomer\'s own last connection; its count starts again',
    limits: { maxConnections: 2, maxPerClient: 5 },
    steps: [['admit', 'a1', A, 'admit'], ['admit', 'b1', B, 'admit'], ['waiting', 'b1'], ['admit', 'a2', A, 'evict:a1:evictedWorkerFull'], ['waiting', 'a2'], ['admit', 'a3', A, 'refuse:refusedWorkerFull']],
    open: 2,
    closed: { evictedWorkerFull: 1, refusedWorkerFull: 1 },
  },
  {
    name: 'closes are counted by reason; a victim already removed is not counted twice',
    limits: { maxConnections: 2, maxPerClient: 5 },
    steps: [
      ['admit', 'a1', A, 'admit'], ['admit', 'b1', B, 'admit'], ['admit', 'c1', C, 'evict:a1:evictedWorkerFull'],
      ['remove', 'a1', 'peer', false], ['remove', 'b1', 'idleTimeout', true], ['remove', 'c1', 'messageTimeout', true], ['remove', 'c1', 'peer', false],
    ],
    open: 0,
    closed: { evictedWorkerFull: 1, idleTimeout: 1, messageTimeout: 1 },
  },
  {
    name: 'a closed connection frees its client\'s slot',
    limits: { maxConnections: 10, maxPerClient: 1 },
    steps: [['admit', 'a1', A, 'admit'], ['waiting', 'a1'], ['admit', 'a2', A, 'refuse:refusedClientFull'], ['remove', 'a1', 'badFrame', true], ['admit', 'a3', A, 'admit']],
    open: 1,
    closed: { refusedClientFull: 1, badFrame: 1 },
  },
  {
    name: 'a waiting connection that answers becomes idle again, and a candidate',
    limits: { maxConnections: 2, maxPerClient: 5 },
    steps: [['admit', 'a1', A, 'admit'], ['admit', 'b1', B, 'admit'], ['waiting', 'a1'], ['waiting', 'b1'], ['idle', 'b1'], ['admit', 'c1', C, 'evict:b1:evictedWorkerFull']],
    open: 2,
    closed: { evictedWorkerFull: 1 },
  },
];

describe('TCP connection table (src/net/tcp-table.ts)', () => {
  for (const c of CASES) {
    it(c.name, () => {
      const table = new TcpTable<string>(c.limits);
      for (const [i, step] of c.steps.entries()) {
        const at = `step ${i + 1} ${JSON.stringify(step)}`;
        switch (step[0]) {
          case 'admit':
            expect(outcome(table.admit(step[1], step[2])), at).to.equal(step[3]);
            break;
          case 'remove':
            expect(table.remove(step[1], step[2]), at).to.equal(step[3]);
            break;
          default:
            table[step[0]](step[1]);
        }
      }
      const snap = table.snapshot();
      expect(snap.open).to.equal(c.open);
      expect(table.size).to.equal(c.open);
      const expected = Object.fromEntries(CLOSE_REASONS.map((r) => [r, c.closed?.[r] ?? 0]));
      expect(snap.closed).to.deep.equal(expected);
    });
  }

  it('counts admissions, open and idle connections, and per-client connections', () => {
    const table = new TcpTable<string>({ maxConnections: 10, maxPerClient: 10 });
    table.admit('a1', A);
    table.admit('a2', A);
    table.admit('b1', B);
    table.reading('a2');
    table.waiting('b1');
    expect(table.snapshot()).to.include({ accepted: 3, open: 3, idle: 1 });
    expect([table.clientConnections(A), table.clientConnections(B), table.clientConnections(C)]).to.deep.equal([2, 1, 0]);
    expect([table.stateOf('a1'), table.stateOf('a2'), table.stateOf('b1'), table.stateOf('zz')]).to.deep.equal(['idle', 'reading', 'waiting', undefined]);
    table.remove('a1', 'peer');
    table.remove('a2', 'peer');
    expect(table.clientConnections(A)).to.equal(0);
  });

  it('agrees with a plain model over thousands of random operations (queues stay consistent)', () => {
    // The model keeps every connection in arrays and picks victims by scanning: slow but obviously right.
    type M = { conn: string; client: string; state: 'idle' | 'reading' | 'waiting'; since: number };
    const limits = { maxConnections: 40, maxPerClient: 12 };
    const table = new TcpTable<string>(limits);
    const model = new Map<string, M>();
    let clock = 0;
    let seed = 12345;
    const rand = (n: number): number => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    const oldest = (list: M[], state: M['state']): M | undefined =>
      list.filter((m) => m.state === state).sort((x, y) => x.since - y.since)[0];
    const expectVictim = (list: M[]): M | undefined => oldest(list, 'idle') ?? oldest(list, 'reading');
    let next = 0;
    for (let i = 0; i < 20_000; i++) {
      clock++;
      const live = [...model.values()];
      const op = rand(10);
      if (op < 4 || live.length === 0) {
        const conn = `c${next++}`;
        const client = `10.0.0.${rand(6)}`;
        const mine = live.filter((m) => m.client === client);
        let want: string;
        let victim: M | undefined;
        if (mine.length >= limits.maxPerClient) {
          victim = expectVictim(mine);
          want = victim ? `evict:${victim.conn}:evictedClientFull` : 'refuse:refusedClientFull';
        } else if (live.length >= limits.maxConnections) {
          victim = expectVictim(live);
          want = victim ? `evict:${victim.conn}:evictedWorkerFull` : 'refuse:refusedWorkerFull';
        } else want = 'admit';
        expect(outcome(table.admit(conn, client)), `operation ${i}`).to.equal(want);
        if (victim) model.delete(victim.conn);
        if (!want.startsWith('refuse')) model.set(conn, { conn, client, state: 'idle', since: clock });
      } else {
        const m = live[rand(live.length)]!;
        if (op === 9) {
          expect(table.remove(m.conn, 'peer')).to.equal(true);
          model.delete(m.conn);
        } else {
          const state = (['idle', 'reading', 'waiting'] as const)[rand(3)]!;
          table[state](m.conn);
          // A repeated `waiting` keeps its place (it is in no queue); idle and reading go to the back.
          if (!(state === 'waiting' && m.state === 'waiting')) m.since = clock;
          m.state = state;
        }
      }
      expect(table.size).to.equal(model.size);
    }
    const idle = [...model.values()].filter((m) => m.state === 'idle').length;
    expect(table.snapshot()).to.include({ open: model.size, idle });
  });
});

describe('clientKey: what a per-client limit counts against', () => {
  const CASES: [string, string, string][] = [
    ['an IPv4 address is the client', '192.0.2.7', '192.0.2.7'],
    ['an IPv4-mapped IPv6 address is its IPv4 address', '::ffff:192.0.2.7', '192.0.2.7'],
    ['same, in capitals', '::FFFF:192.0.2.7', '192.0.2.7'],
    ['IPv6: the /64', '2001:db8:1:2:aaaa:bbbb:cccc:dddd', '2001:db8:1:2::/64'],
    ['IPv6: another address in the same /64 is the same client', '2001:db8:1:2::53', '2001:db8:1:2::/64'],
    ['IPv6: the next /64 is another client', '2001:db8:1:3::53', '2001:db8:1:3::/64'],
    ['IPv6: zeros compressed inside the /64 prefix', '2001:db8::1', '2001:db8:0:0::/64'],
    ['IPv6: leading zeros and capitals do not matter', '2001:0DB8:0001:0002::1', '2001:db8:1:2::/64'],
    ['IPv6 loopback', '::1', '0:0:0:0::/64'],
    ['IPv6 with an embedded IPv4 tail (not mapped)', '64:ff9b::192.0.2.1', '64:ff9b:0:0::/64'],
    ['link-local: each address is its own client (every link shares fe80::/64)', 'fe80::1%eth0', 'fe80::1%eth0'],
    ['link-local, another host on the link', 'fe80::2%eth0', 'fe80::2%eth0'],
    ['not an address: kept as given (never merged with a real one)', 'nonsense:::', 'nonsense:::'],
  ];
  for (const [name, address, key] of CASES) {
    it(`${name}: ${address} → ${key}`, () => expect(clientKey(address)).to.equal(key));
  }
});
