/** Opening listening sockets: socket/setsockopt/bind/listen (through src/sys/libc.ts) → a descriptor Node or the mmsg engine can adopt; errno → coded error. */

import { isIP } from 'node:net';
import { ShardnsError } from '../errors.js';
import { ERRNO, libc as realLibc, type Libc, type SysResult } from '../sys/libc.js';

// Linux constants (x86_64 and arm64; socket(7), ip(7), ipv6(7), errno(3)).
const AF_INET = 2;
const AF_INET6 = 10;
const SOCK_STREAM = 1;
const SOCK_DGRAM = 2;
const SOCK_NONBLOCK = 0o4000;
const SOCK_CLOEXEC = 0o2000000;
/** `SOL_SOCKET` level for setsockopt(2). */
export const SOL_SOCKET = 1;
/** `SO_REUSEADDR`: what libuv turns on when it adopts a UDP descriptor. */
export const SO_REUSEADDR = 2;
/** `SO_REUSEPORT`: several sockets of one uid share an address; the kernel hashes between them. */
export const SO_REUSEPORT = 15;
const SO_SNDBUF = 7;
/** `SO_RCVBUF`: the receive queue's size, capped by net.core.rmem_max. */
export const SO_RCVBUF = 8;
/** `SO_RCVBUFFORCE`: the same, past net.core.rmem_max, for a process with CAP_NET_ADMIN (root). */
const SO_RCVBUFFORCE = 33;
/** UDP send buffer asked for (the kernel doubles the value for its bookkeeping, within net.core.wmem_max). */
const UDP_SEND_BUFFER_BYTES = 2 * 1024 * 1024;
/**
 * UDP receive queue asked for (doubled by the kernel). The supervisor holds
 * every socket for the server's life, so while a worker is replaced the
 * queries hashed to its socket wait here and the replacement answers them:
 * 4 MiB (8 MiB counted) holds about 10,000 small queries, some 2 s of a
 * worker's share of 20,000 queries a second on 4 workers, the time a stalled
 * worker takes to be noticed (--worker-timeout 1) and replaced. The memory is
 * used only while queries wait.
 */
const UDP_RECEIVE_BUFFER_BYTES = 4 * 1024 * 1024;
/** `IPPROTO_IPV6` level for setsockopt(2). */
export const IPPROTO_IPV6 = 41;
const IPV6_V6ONLY = 26;
/** `IPPROTO_IP` level for setsockopt(2). */
export const IPPROTO_IP = 0;
/** `IP_MTU_DISCOVER` option (ip(7)): path-MTU discovery and DF for IPv4. */
export const IP_MTU_DISCOVER = 10;
/** `IPV6_MTU_DISCOVER` option (ipv6(7)). */
export const IPV6_MTU_DISCOVER = 23;
/** `IP_PMTUDISC_OMIT` / `IPV6_PMTUDISC_OMIT`: ignore path-MTU information and never set DF. */
export const PMTUDISC_OMIT = 5;

/** UDP or TCP: the two transports DNS runs on. */
export type Transport = 'udp' | 'tcp';

/** Where one socket listens. */
export interface ListenSpec {
  /** An IPv4 or IPv6 literal; IPv6 may carry a zone (`fe80::1%eth0`). */
  address: string;
  port: number;
  transport: Transport;
  /** TCP accept backlog. */
  backlog?: number;
}

/** A socket opened and bound, ready for `dgram` `bind({ fd })` or `net.Server.listen({ fd })`. */
export interface OpenSocket {
  fd: number;
  family: 4 | 6;
  spec: ListenSpec;
}

/** The outcome of opening a socket: the descriptor, or an error that says what to do. */
export type OpenResult = { ok: true; socket: OpenSocket } | { ok: false; error: ShardnsError };

/** `127.0.0.1:53` or `[::1]:53`, as people write endpoints. */
export function formatEndpoint(address: string, port: number): string {
  return isIP(address.split('%')[0] ?? '') === 6 ? `[${address}]:${port}` : `${address}:${port}`;
}

/**
 * Opens a socket with SO_REUSEPORT on (and IPV6_V6ONLY for IPv6, so `0.0.0.0`
 * and `::` can both be bound), close-on-exec and non-blocking, binds it and,
 * for TCP, listens. Errors are read from errno, never guessed. `c` is the C
 * library to call (tests may pass a fake).
 */
export function openReusePortSocket(spec: ListenSpec, c: Libc = realLibc): OpenResult {
  const where = `${formatEndpoint(spec.address, spec.port)}/${spec.transport}`;
  const addr = sockaddrFor(c, spec.address, spec.port);
  if (!addr.ok) return { ok: false, error: new ShardnsError('E_CONFIG', `cannot listen on ${where}: ${addr.reason}`, addr.hint) };

  const type = (spec.transport === 'udp' ? SOCK_DGRAM : SOCK_STREAM) | SOCK_NONBLOCK | SOCK_CLOEXEC;
  const opened = c.socket(addr.family === 4 ? AF_INET : AF_INET6, type, 0);
  if (opened.kind === 'errno') return { ok: false, error: bindError(c, opened.errno, where, spec, 'socket') };
  const fd = opened.value;

  const fail = (step: string, errno: number): OpenResult => {
    c.close(fd);
    return { ok: false, error: bindError(c, errno, where, spec, step) };
  };
  const reusePort = setIntOption(c, fd, SOL_SOCKET, SO_REUSEPORT, 1);
  if (reusePort.kind === 'errno') return fail('setsockopt(SO_REUSEPORT)', reusePort.errno);
  if (spec.transport === 'udp') {
    // The default queue holds ~256 small datagrams: too few for a burst of
    // queries while a worker is busy or being replaced. Ask for more: past
    // net.core.rmem_max when privileged (the supervisor binds before it drops
    // root), else within it; a refusal is not an error.
    if (setIntOption(c, fd, SOL_SOCKET, SO_RCVBUFFORCE, UDP_RECEIVE_BUFFER_BYTES).kind === 'errno') {
      setIntOption(c, fd, SOL_SOCKET, SO_RCVBUF, UDP_RECEIVE_BUFFER_BYTES);
    }
    setIntOption(c, fd, SOL_SOCKET, SO_SNDBUF, UDP_SEND_BUFFER_BYTES);
    // As NSD and Knot do: replies go out without DF and sized by the interface MTU,
    // never by path-MTU data a forged ICMP "fragmentation needed" could lower
    // (which would fragment our replies and open them to fragment spoofing).
    // Kernels before 3.15 lack OMIT; a refusal is not an error.
    if (addr.family === 4) setIntOption(c, fd, IPPROTO_IP, IP_MTU_DISCOVER, PMTUDISC_OMIT);
    else setIntOption(c, fd, IPPROTO_IPV6, IPV6_MTU_DISCOVER, PMTUDISC_OMIT);
  }
  if (addr.family === 6) {
    const v6only = setIntOption(c, fd, IPPROTO_IPV6, IPV6_V6ONLY, 1);
    if (v6only.kind === 'errno') return fail('setsockopt(IPV6_V6ONLY)', v6only.errno);
  }
  const bound = c.bind(fd, addr.bytes);
  if (bound.kind === 'errno') return fail('bind', bound.errno);
  if (spec.transport === 'tcp') {
    const listening = c.listen(fd, spec.backlog ?? 511);
    if (listening.kind === 'errno') return fail('listen', listening.errno);
  }
  return { ok: true, socket: { fd, family: addr.family, spec } };
}

/**
 * Hijack guard: libuv's `uv_udp_open` (behind `dgram` `bind({ fd })`) turns
 * SO_REUSEADDR on for the socket it adopts. With it on, a process of another
 * user may bind the same UDP port with SO_REUSEADDR alone and receive our
 * datagrams. Turning it off again makes such a bind fail with EADDRINUSE.
 */
export function clearReuseAddr(fd: number, c: Libc = realLibc): void {
  const r = setIntOption(c, fd, SOL_SOCKET, SO_REUSEADDR, 0);
  if (r.kind === 'errno') {
    throw new ShardnsError('E_SOCKET', `cannot clear SO_REUSEADDR on fd ${fd}: ${errnoText(c, r.errno)}`, 'this is unexpected; please report it with the output of "ss -lunpt"');
  }
}

/** Reads an integer socket option (for tests and the hijack guard's checks). */
export function getIntOption(fd: number, level: number, name: number, c: Libc = realLibc): number {
  const value = Buffer.alloc(4);
  const r = c.getsockopt(fd, level, name, value);
  if (r.kind === 'errno') {
    throw new ShardnsError('E_SOCKET', `getsockopt(${level}, ${name}) on fd ${fd}: ${errnoText(c, r.errno)}`, 'this is unexpected; please report it');
  }
  return value.readInt32LE(0);
}

/** Closes a descriptor that Node has not adopted (adopted ones close with their Node handle). */
export function closeFd(fd: number, c: Libc = realLibc): void {
  c.close(fd);
}

function setIntOption(c: Libc, fd: number, level: number, name: number, value: number): SysResult<void> {
  const buf = Buffer.alloc(4);
  buf.writeInt32LE(value);
  return c.setsockopt(fd, level, name, buf);
}

type SockaddrResult =
  | { ok: true; family: 4 | 6; bytes: Buffer }
  | { ok: false; reason: string; hint: string };

/** Builds a `struct sockaddr_in` / `sockaddr_in6`, using inet_pton for the address bytes. */
function sockaddrFor(c: Libc, address: string, port: number): SockaddrResult {
  const [host = '', zone] = address.split('%', 2);
  const family = isIP(host);
  if (family === 4 && zone === undefined) {
    const sa = Buffer.alloc(16);
    sa.writeUInt16LE(AF_INET, 0);
    sa.writeUInt16BE(port, 2);
    c.inetPton(AF_INET, host, sa.subarray(4, 8));
    return { ok: true, family: 4, bytes: sa };
  }
  if (family === 6) {
    const sa = Buffer.alloc(28);
    sa.writeUInt16LE(AF_INET6, 0);
    sa.writeUInt16BE(port, 2);
    c.inetPton(AF_INET6, host, sa.subarray(8, 24));
    if (zone !== undefined) {
      const index = /^\d+$/.test(zone) ? Number(zone) : c.ifNameToIndex(zone);
      if (!index) return { ok: false, reason: `no network interface "${zone}"`, hint: 'check the zone after % against "ip link"' };
      sa.writeUInt32LE(index, 24);
    }
    return { ok: true, family: 6, bytes: sa };
  }
  return { ok: false, reason: `"${address}" is not an IP address`, hint: 'give an IPv4 or IPv6 literal, e.g. 127.0.0.1 or ::1' };
}

function errnoText(c: Libc, errno: number): string {
  return `${c.strerror(errno).toLowerCase()} (errno ${errno})`;
}

/** Turns a failed system call into an error that tells the operator what to do. */
function bindError(c: Libc, errno: number, where: string, spec: ListenSpec, step: string): ShardnsError {
  const what = `cannot bind ${where}: ${errnoText(c, errno)}`;
  switch (errno) {
    case ERRNO.EACCES:
      return new ShardnsError(
        'E_BIND_ACCESS',
        what,
        `ports below 1024 need privilege: run as root, grant CAP_NET_BIND_SERVICE (setcap cap_net_bind_service=+ep "$(command -v node)"), ` +
          `or use --port 5353; in a container: --sysctl net.ipv4.ip_unprivileged_port_start=53 or --cap-add NET_BIND_SERVICE`,
      );
    case ERRNO.EADDRINUSE:
      return new ShardnsError(
        'E_BIND_IN_USE',
        what,
        `another program holds port ${spec.port} without SO_REUSEPORT, or runs as another user; ` +
          `find it with "ss -lunpt 'sport = :${spec.port}'", stop it, or choose another --port`,
      );
    case ERRNO.EADDRNOTAVAIL:
    case ERRNO.ENODEV:
      return new ShardnsError('E_BIND_NO_ADDR', what, `${spec.address} is not an address of this host; check --listen against "ip addr"`);
    case ERRNO.EAFNOSUPPORT:
      return new ShardnsError('E_BIND_FAMILY', what, `IPv${spec.address.includes(':') ? 6 : 4} is not available on this host; remove ${spec.address} from --listen`);
    default:
      return new ShardnsError('E_SOCKET', `${what} (in ${step})`, 'this is unexpected; please report it with the output of "ss -lunpt"');
  }
}
