/** dns-packet, loaded through require(), not import, and only at its first use: the one way every module here gets it. */

import { createRequire } from 'node:module';
import type DnsPacket from 'dns-packet';

/*
 * dns-packet is a CommonJS package. Loaded with `import` from an ES module,
 * Node 20 runs its CommonJS export lexer over the package, which leaves about
 * 5 MB of memory resident in the process for good (measured with
 * /proc/PID/smaps: a 5 MB mapping, 3-4 MB of it touched); require() does
 * not. Every worker pays that once, so N workers pay it N times. Import
 * the default export from here, and only types from 'dns-packet'.
 *
 * It is required at the first property read, not when this module loads: a
 * worker answers plain queries from their bytes (src/dns/query.ts) and needs
 * dns-packet only for other messages, CH answers and forwarding, so its
 * start does without (~4 ms of CPU and ~0.4 MB on a loaded 2-core machine).
 */
let loaded: typeof DnsPacket | null = null;

const dnsPacket = new Proxy({} as typeof DnsPacket, {
  get: (_target, key) => Reflect.get((loaded ??= createRequire(import.meta.url)('dns-packet') as typeof DnsPacket), key) as unknown,
});

export default dnsPacket;
