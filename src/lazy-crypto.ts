/** node:crypto loaded at its first use, and a random seed without it: a worker answers its first queries before it needs a hash or an HMAC. */

import { closeSync, openSync, readSync } from 'node:fs';
import { createRequire } from 'node:module';

let cryptoModule: typeof import('node:crypto') | null = null;

/**
 * node:crypto, required the first time it is asked for. Importing it costs
 * ~5 ms of CPU and ~0.5 MB per process (about twenty internal modules and
 * OpenSSL's set-up); a worker needs it only for the first cookie secret,
 * a TSIG-signed message or an IXFR journal, so its start does without.
 */
export function nodeCrypto(): typeof import('node:crypto') {
  return (cryptoModule ??= createRequire(import.meta.url)('node:crypto') as typeof import('node:crypto'));
}

/**
 * `n` random octets from the kernel's CSPRNG (/dev/urandom, the source
 * node:crypto's randomBytes draws from too), without loading node:crypto:
 * for seeds made at start, by the supervisor before it forks and by workers.
 * Where `source` cannot be opened, node:crypto's randomBytes gives them.
 */
export function randomOctets(n: number, source = '/dev/urandom'): Buffer {
  const b = Buffer.alloc(n);
  let fd: number;
  try {
    fd = openSync(source, 'r');
  } catch {
    // No device there (a chroot without /dev): node:crypto's generator, which asks the kernel through getrandom().
    return nodeCrypto().randomBytes(n);
  }
  try {
    for (let got = 0; got < n; ) {
      const r = readSync(fd, b, got, n - got, null);
      if (r <= 0) throw new Error('/dev/urandom gave no more octets');
      got += r;
    }
  } finally {
    closeSync(fd);
  }
  return b;
}

/** A random integer in [0, 2^31) from {@link randomOctets}. */
export function randomSeed31(): number {
  return randomOctets(4).readUInt32BE(0) >>> 1;
}
