/** Reading a struct sockaddr_in / sockaddr_in6 (as recvmmsg fills it) without a system call. */

const AF_INET = 2;

/**
 * The IPv4 address of a sockaddr_in at `buf[at]` as an unsigned 32-bit
 * number (network order read big-endian), or -1 when it is not IPv4.
 */
export function sockaddrIpv4(buf: Uint8Array, at: number): number {
  if ((buf[at]! | (buf[at + 1]! << 8)) !== AF_INET) return -1;
  return ((buf[at + 4]! << 24) | (buf[at + 5]! << 16) | (buf[at + 6]! << 8) | buf[at + 7]!) >>> 0;
}

/** An IPv4 address given as an unsigned 32-bit number, in dotted-quad text (`192.0.2.1`). */
export function ipv4Text(v4: number): string {
  return `${v4 >>> 24}.${(v4 >>> 16) & 0xff}.${(v4 >>> 8) & 0xff}.${v4 & 0xff}`;
}

/** The port of a sockaddr_in or sockaddr_in6 at `buf[at]` (at the same place in both, network order). */
export function sockaddrPort(buf: Uint8Array, at: number): number {
  return (buf[at + 2]! << 8) | buf[at + 3]!;
}

/** The address of a sockaddr_in or sockaddr_in6 at `buf[at]` as text (`192.0.2.1`, `2001:db8:0:0:0:0:0:1`). */
export function sockaddrText(buf: Uint8Array, at: number): string {
  const v4 = sockaddrIpv4(buf, at);
  if (v4 >= 0) return ipv4Text(v4);
  const words: string[] = [];
  for (let i = 0; i < 8; i++) words.push(((buf[at + 8 + i * 2]! << 8) | buf[at + 9 + i * 2]!).toString(16));
  return words.join(':');
}
