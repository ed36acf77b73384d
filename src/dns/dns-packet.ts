/** dns-packet, loaded through require(), not import: the one way every module here gets it. */

import { createRequire } from 'node:module';
import type DnsPacket from 'dns-packet';

/*
 * dns-packet is a CommonJS package. Loaded with `import` from an ES module,
 * Node 20 runs its CommonJS export lexer over the package, which leaves about
 * 5 MB of memory resident in the process for good (measured with
 * /proc/PID/smaps: a 5 MB mapping, 3-4 MB of it touched); require() does
 * not. Every worker pays that once, so N workers pay it N times. Import
 * the default export from here, and only types from 'dns-packet'.
 */
const dnsPacket = createRequire(import.meta.url)('dns-packet') as typeof DnsPacket;

export default dnsPacket;
