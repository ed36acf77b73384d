/** What a secondary keeps in the state directory: each zone's transferred data as a zone file, and its refresh state (when it last heard from a primary, its last transfer). */

import { mkdirSync, readFileSync, unlinkSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { SoaTimers } from './secondary.js';
import { DIR_MODE, originPart, stateDirError, writeAtomic, type WriteOutcome } from '../zone/image/store.js';

/** `<state dir>/secondary`: the secondary zones' files. */
export const SECONDARY_DIR = 'secondary';

/** How one transfer in ended, as `shardns check`, `ctl status` and the logs show it. */
export interface TransferRecord {
  /** When it ended (ISO 8601). */
  at: string;
  /** AXFR or IXFR (the one that ended it), or SOA when the refresh found the zone current. */
  kind: 'AXFR' | 'IXFR' | 'SOA';
  /** The primary (`address port N`, with its key). */
  from: string;
  /** `ok`, or what went wrong. */
  outcome: 'ok' | 'failed';
  /** The serial served after it. */
  serial: number | null;
  /** Why it failed (every primary tried), or what it did (records, versions). */
  detail: string;
  ms: number;
}

/** A secondary zone's refresh state, kept across restarts (so expiry counts from the last contact, not from the start). */
export interface SecondaryState {
  origin: string;
  /** The serial of the data kept, or null before the first transfer. */
  serial: number | null;
  /** When a primary last confirmed our data (a transfer, or an SOA query answered with our serial): ms since 1970. */
  lastContact: number | null;
  /** The SOA's expire (seconds, clamped) of the data kept. */
  expire: number | null;
  /** The SOA timers of the data kept (clamped), so a restart keeps the zone's rhythm without reading its image. */
  timers?: SoaTimers | null;
  /** The last transfer attempted (or refresh check that failed). */
  last: TransferRecord | null;
}

/** Whether a value read back is a set of SOA timers. */
function validTimers(t: unknown): t is SoaTimers {
  if (typeof t !== 'object' || t === null) return false;
  const o = t as Record<string, unknown>;
  return ['refresh', 'retry', 'expire'].every((k) => typeof o[k] === 'number' && Number.isFinite(o[k]) && (o[k] as number) > 0);
}

/** The folder of the secondary zones' files in state directory `stateDir`. */
export function secondaryDir(stateDir: string): string {
  return join(resolve(stateDir), SECONDARY_DIR);
}

/** Where a secondary zone's transferred data is kept (a zone file the builder compiles like any other). */
export function secondaryZonePath(stateDir: string, origin: string): string {
  return join(secondaryDir(stateDir), `${originPart(origin)}.zone`);
}

/** Where a secondary zone's refresh state is kept. */
export function secondaryStatePath(stateDir: string, origin: string): string {
  return join(secondaryDir(stateDir), `${originPart(origin)}.state.json`);
}

/** Where the IXFR versions applied since the zone file was written are kept (src/xfr/patch-store.ts). */
export function secondaryDeltaPath(stateDir: string, origin: string): string {
  return join(secondaryDir(stateDir), `${originPart(origin)}.ixfr`);
}

/** The zone's refresh state; a fresh one when there is none or it cannot be read (a warning says why). */
export function readSecondaryState(stateDir: string, origin: string): { state: SecondaryState; warning: string | null } {
  const fresh: SecondaryState = { origin, serial: null, lastContact: null, expire: null, last: null };
  const path = secondaryStatePath(stateDir, origin);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return { state: fresh, warning: code === 'ENOENT' ? null : `zone ${origin}: cannot read ${path} (${code ?? (err as Error).message}); the zone's expiry counts from now` };
  }
  try {
    const o = JSON.parse(text) as Partial<SecondaryState>;
    if (typeof o !== 'object' || o === null || o.origin !== origin) throw new Error('not this zone');
    return {
      state: {
        origin,
        serial: typeof o.serial === 'number' ? o.serial : null,
        lastContact: typeof o.lastContact === 'number' ? o.lastContact : null,
        expire: typeof o.expire === 'number' ? o.expire : null,
        timers: validTimers(o.timers) ? o.timers : null,
        last: typeof o.last === 'object' && o.last !== null ? o.last : null,
      },
      warning: null,
    };
  } catch (err) {
    return { state: fresh, warning: `zone ${origin}: ${path} is unusable (${(err as Error).message}); the zone's expiry counts from now` };
  }
}

/** Writes a file of the secondary folder whole (temporary name, fsync, rename), creating the folder. */
export function writeSecondaryFile(stateDir: string, path: string, bytes: Uint8Array): WriteOutcome {
  const dir = secondaryDir(stateDir);
  try {
    mkdirSync(dir, { recursive: true, mode: DIR_MODE });
  } catch (err) {
    return { kind: 'error', error: stateDirError(dir, 'create', err as NodeJS.ErrnoException) };
  }
  return writeAtomic(dir, path.slice(dir.length + 1), bytes);
}

/** Writes the zone's refresh state. */
export function writeSecondaryState(stateDir: string, state: SecondaryState): WriteOutcome {
  return writeSecondaryFile(stateDir, secondaryStatePath(stateDir, state.origin), Buffer.from(`${JSON.stringify(state, null, 2)}\n`));
}

/** Deletes a zone's kept data, changes and state (a catalog member removed, RFC 9432 §5.3; or reset, §5.4). */
export function removeSecondaryFiles(stateDir: string, origin: string): void {
  for (const path of [secondaryZonePath(stateDir, origin), secondaryDeltaPath(stateDir, origin), secondaryStatePath(stateDir, origin)]) {
    try {
      unlinkSync(path);
    } catch {
      /* already gone */
    }
  }
}
