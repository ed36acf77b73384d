/** Who may transfer a zone or notify us of one: `allow-transfer` and `allow-notify` entries (addresses and/or TSIG keys), compiled and checked. */

import { compileAcl, type Acl } from '../forward/acl.js';

/**
 * One entry of an `allow-transfer` or `allow-notify` list, as config.ts
 * validated it: clients in `address` (a CIDR block, an address, or `any`),
 * with a request signed by `key` (a lower-cased key name with its trailing
 * dot); null: that part is not required. At least one is set.
 */
export interface AclEntry {
  address: string | null;
  key: string | null;
}

/** A compiled list: which entry lets this client in, if any. */
export interface XfrAcl {
  /**
   * The first entry that admits a request from `address`, signed with the
   * verified key `key` (null: unsigned), or null. An entry with a key admits
   * only requests signed with that key; one without admits signed and
   * unsigned requests alike from its addresses.
   */
  admits(address: string, key: string | null): AclEntry | null;
  /** Whether the list admits nobody at all (empty). */
  readonly empty: boolean;
}

/** The list admitting nobody. */
export const NOBODY: XfrAcl = { admits: () => null, empty: true };

/** Compiles entries (already validated: an address that does not compile is a bug, thrown). */
export function compileXfrAcl(entries: readonly AclEntry[]): XfrAcl {
  if (entries.length === 0) return NOBODY;
  const compiled: { entry: AclEntry; acl: Acl | null }[] = entries.map((entry) => {
    if (entry.address === null) return { entry, acl: null };
    const acl = compileAcl([entry.address]);
    if (typeof acl === 'string') throw new Error(`allow list: ${acl}`);
    return { entry, acl };
  });
  return {
    empty: false,
    admits(address, key) {
      for (const { entry, acl } of compiled) {
        if (entry.key !== null && entry.key !== key) continue;
        if (acl !== null && !acl.allows(address)) continue;
        return entry;
      }
      return null;
    },
  };
}

/** An entry as a person reads it in a log: `192.0.2.0/24 key xfr-key.`, `key xfr-key.`, `any`. */
export function describeEntry(entry: AclEntry): string {
  return [entry.address, entry.key === null ? null : `key ${entry.key}`].filter((p) => p !== null).join(' ');
}
