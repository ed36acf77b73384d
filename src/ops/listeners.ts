/** The server's listening sockets, one set per worker slot: opened by the supervisor (before it drops root), handed to each worker it forks, kept open for the server's life and passed on to an upgraded supervisor. */

import { ShardnsError } from '../errors.js';
import { formatEndpoint, openReusePortSocket, type OpenSocket, type Transport } from '../net/reuseport.js';
import { libc as realLibc, type Libc } from '../sys/libc.js';

/*
 * Why the supervisor binds, not the workers (NSD keeps its sockets in the
 * parent for the same reason): a socket lives as long as some process holds
 * it. When a worker owned its socket, a worker killed or replaced took its
 * socket with it, and the queries the kernel had already queued there were
 * lost; the group of reuseport sockets also shrank and grew, moving clients
 * between workers. Held by the supervisor, each slot's sockets stay in the
 * group for the server's life: while a slot's worker is down the kernel
 * keeps queueing that slot's share, and the replacement, handed the same
 * sockets, answers it. An upgrade hands the same sockets to the new
 * supervisor: nothing is closed, nothing re-bound. Binding before the
 * privilege drop also lets an unprivileged server answer on port 53.
 */

/** The first descriptor number a forked child sees its sockets at: 0–2 are stdio, 3 the IPC channel. */
export const FIRST_CHILD_FD = 4;

/** One worker slot's sockets: a UDP and a TCP socket for each listen address, in the config's order. */
export interface SlotSockets {
  slot: number;
  sockets: OpenSocket[];
}

/** Every slot's sockets, opened, or why one could not be (then none is left open). */
export type ListenersOutcome = { kind: 'ok'; slots: SlotSockets[] } | { kind: 'error'; error: ShardnsError };

/** What sockets to open: every address, on one port, for this many worker slots. */
export interface ListenPlan {
  listen: readonly string[];
  port: number;
  workers: number;
}

/**
 * Opens `workers` sets of sockets (SO_REUSEPORT, src/net/reuseport.ts), each
 * with a UDP and a TCP socket on every address: the kernel hashes each
 * datagram's 4-tuple to one UDP socket of the group, so to one slot. On a
 * failure everything opened so far is closed and the error says what to do.
 */
export function openListeners(plan: ListenPlan, c: Libc = realLibc): ListenersOutcome {
  const slots: SlotSockets[] = [];
  for (let slot = 0; slot < plan.workers; slot++) {
    const sockets: OpenSocket[] = [];
    slots.push({ slot, sockets });
    for (const address of plan.listen) {
      for (const transport of ['udp', 'tcp'] as const) {
        const r = openReusePortSocket({ address, port: plan.port, transport }, c);
        if (!r.ok) {
          closeListeners(slots, c);
          return { kind: 'error', error: r.error };
        }
        sockets.push(r.socket);
      }
    }
  }
  return { kind: 'ok', slots };
}

/** Closes every socket (a failed start; a running server never closes them: its exit does). */
export function closeListeners(slots: readonly SlotSockets[], c: Libc = realLibc): void {
  for (const s of slots) for (const sock of s.sockets) c.close(sock.fd);
}

/**
 * How a forked child gets one slot's sockets: the descriptors to put in
 * fork's `stdio` after stdio and the IPC channel, and the sockets as the
 * child will see them (numbered from {@link FIRST_CHILD_FD}).
 */
export function childSockets(slot: SlotSockets): { stdio: number[]; sockets: OpenSocket[] } {
  return {
    stdio: slot.sockets.map((s) => s.fd),
    sockets: slot.sockets.map((s, i) => ({ ...s, fd: FIRST_CHILD_FD + i })),
  };
}

/** One inherited socket as an upgrade describes it to the new supervisor: which slot, what it listens on, which descriptor. */
export interface InheritedSocket {
  slot: number;
  fd: number;
  family: 4 | 6;
  address: string;
  port: number;
  transport: Transport;
}

/** Every slot's sockets as a flat list (the order an upgrade passes them in). */
export function describeListeners(slots: readonly SlotSockets[]): InheritedSocket[] {
  return slots.flatMap((s) => s.sockets.map((k) => ({ slot: s.slot, fd: k.fd, family: k.family, address: k.spec.address, port: k.spec.port, transport: k.spec.transport })));
}

/**
 * Takes over sockets a previous supervisor passed on (src/ops/upgrade.ts):
 * checks that they are what this configuration listens on, one set per
 * worker, and marks each close-on-exec (the zone builder must not inherit
 * them). The listen addresses, the port and the worker count cannot change
 * in an upgrade: the sockets are the old ones, never re-bound.
 */
export function adoptListeners(inherited: readonly InheritedSocket[], plan: ListenPlan, c: Libc = realLibc): ListenersOutcome {
  const want = (slot: number): string[] => plan.listen.flatMap((a) => [`${slot} ${formatEndpoint(a, plan.port)}/udp`, `${slot} ${formatEndpoint(a, plan.port)}/tcp`]);
  const expected = Array.from({ length: plan.workers }, (_, slot) => want(slot)).flat();
  const got = inherited.map((s) => `${s.slot} ${formatEndpoint(s.address, s.port)}/${s.transport}`);
  if (expected.join('\n') !== got.join('\n')) {
    const had = new Set(inherited.map((s) => s.slot)).size;
    const endpoints = [...new Set(inherited.map((s) => formatEndpoint(s.address, s.port)))].join(', ');
    return {
      kind: 'error',
      error: new ShardnsError(
        'E_UPGRADE',
        `the running server listens on ${endpoints} with ${had} worker(s); this configuration asks for ${plan.listen.map((a) => formatEndpoint(a, plan.port)).join(', ')} with ${plan.workers}`,
        'an upgrade takes over the open sockets and cannot change listen, port or workers: put them back, or stop and start shardns to change them',
      ),
    };
  }
  const slots: SlotSockets[] = Array.from({ length: plan.workers }, (_, slot) => ({ slot, sockets: [] }));
  for (const s of inherited) {
    const r = c.setCloseOnExec(s.fd, true);
    if (r.kind === 'errno') {
      return {
        kind: 'error',
        error: new ShardnsError('E_UPGRADE', `inherited socket ${formatEndpoint(s.address, s.port)}/${s.transport} (descriptor ${s.fd}) is not open: ${c.strerror(r.errno).toLowerCase()}`, 'start the upgrade with "shardns ctl upgrade" or SIGUSR2 to the running supervisor, not by hand'),
      };
    }
    slots[s.slot]!.sockets.push({ fd: s.fd, family: s.family, spec: { address: s.address, port: s.port, transport: s.transport } });
  }
  return { kind: 'ok', slots };
}
