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
 * A random integer in [0, 2^31) read from the kernel's CSPRNG
 * (/dev/urandom, as node:crypto's randomInt draws from), without loading
 * node:crypto: for seeds made at start.
 */
export function randomSeed31(): number {
  const b = Buffer.alloc(4);
  const fd = openSync('/dev/urandom', 'r');
  try {
    if (readSync(fd, b, 0, 4, null) !== 4) throw new Error('short read from /dev/urandom');
  } finally {
    closeSync(fd);
  }
  return b.readUInt32BE(0) >>> 1;
}
