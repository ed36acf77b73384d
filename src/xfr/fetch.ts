/**
 * A secondary zone's transfer job, run in a builder process: IXFR from the
 * version we serve (RFC 1995), AXFR when that cannot be had (RFC 5936), each
 * primary in turn; the result checked, written as a zone file in the state
 * directory and built into an image like any zone. The old version keeps
 * serving until the new image is built: a transfer that fails half-way
 * changes nothing.
 */

import { readFileSync } from 'node:fs';
import type { Logger } from '../log.js';
import { buildZones } from '../zone/image/build.js';
import { ZoneImage } from '../zone/image/image.js';
import { mapFile, type Mapping } from '../sys/mapping.js';
import type { BuiltZone } from '../zone/image/reuse.js';
import { applyVersions, type ZoneRecords } from './apply.js';
import { imageRecords, soaRecord } from './journal.js';
import { removeSecondaryDelta, storePatched } from './patch-store.js';
import { describeRemote } from './report.js';
import { secondaryZonePath, writeSecondaryFile, type TransferRecord } from './secondary-files.js';
import type { FetchJob, FetchOutcome, SoaTimers } from './secondary.js';
import { compareSerial } from './serial.js';
import { transferIn, type TransferInOutcome } from './transfer-in.js';
import { tsigKey, TsigKeyring, type TsigKey, type TsigKeySpec } from './tsig.js';
import { zoneText } from './zone-text.js';

/** How long one transfer may take, and may stay silent (RFC 5936 §4.1 leaves it to us; NSD waits 120 s idle). */
export const TRANSFER_TIMEOUT_MS = { total: 600_000, idle: 30_000 } as const;

/** What a fetch needs besides the job. */
export interface FetchContext {
  stateDir: string;
  /** The TSIG keys the primaries name. */
  keys: readonly TsigKeySpec[];
  log: Logger;
  /** ms since 1970. */
  now?: () => number;
  /** Per-transfer timeouts (tests shorten them). */
  timeoutMs?: { total: number; idle: number };
  /**
   * Given: an image the IXFR fast path writes is not fsynced before the job
   * answers; its path is handed here, for the caller to sync once the
   * workers have been told (src/xfr/patch-store.ts says why that is safe).
   * Absent: every file is synced before the job answers.
   */
  deferSync?: (path: string) => void;
}

/** The SOA's refresh, retry and expire (RFC 1035 §3.3.13) from one uncompressed SOA wire record. */
export function soaTimers(soa: Uint8Array): SoaTimers {
  const end = soa.length;
  const u32 = (at: number): number => ((soa[at]! << 24) | (soa[at + 1]! << 16) | (soa[at + 2]! << 8) | soa[at + 3]!) >>> 0;
  // RDATA ends with serial, refresh, retry, expire, minimum: five 32-bit fields.
  return { refresh: u32(end - 16), retry: u32(end - 12), expire: u32(end - 8) };
}

/** The serial of one uncompressed SOA wire record. */
export function soaRecordSerial(soa: Uint8Array): number {
  const end = soa.length;
  return ((soa[end - 20]! << 24) | (soa[end - 19]! << 16) | (soa[end - 18]! << 8) | soa[end - 17]!) >>> 0;
}

/**
 * Runs the job: for each primary, IXFR when we have a version (the changes
 * applied to it; a primary that does not do IXFR, or changes that do not
 * apply, lead to an AXFR from the same primary), else AXFR; the first that
 * brings a newer serial is written and built. `current` when a primary says
 * we are up to date; `failed` with every primary's reason otherwise.
 */
export async function fetchZone(job: FetchJob, ctx: FetchContext): Promise<FetchOutcome> {
  const now = ctx.now ?? Date.now;
  const t0 = now();
  const problems: string[] = [];
  // The served image, mapped (not read and checksummed again): it was verified when it was written, and the workers
  // serve these very pages. Its header and regions are still checked; the mapping is released when the job ends.
  let current: ZoneImage | null = null;
  let mapping: Mapping | null = null;
  if (job.current !== null) {
    const t = now();
    const mapped = mapFile(job.current.imagePath);
    if (mapped.kind === 'error') {
      problems.push(`the served image ${job.current.imagePath} cannot be read (${mapped.error.describe()}): transferring the whole zone`);
    } else {
      mapping = mapped.mapping;
      try {
        current = new ZoneImage(mapping.bytes);
        ctx.log.debug(`zone ${job.origin}: served image of serial ${current.serial} mapped in ${now() - t} ms`);
      } catch (err) {
        problems.push(`the served image ${job.current.imagePath} cannot be read (${(err as Error).message}): transferring the whole zone`);
      }
    }
  }
  try {
    return await transferAndStore(job, ctx, current, problems, t0);
  } finally {
    // Nothing made from the mapping outlives the job: the outcome holds paths and numbers only.
    mapping?.unmap();
  }
}

/** The transfers of {@link fetchZone}, primary by primary, with the served image (or none) at hand. */
async function transferAndStore(job: FetchJob, ctx: FetchContext, current: ZoneImage | null, problems: string[], t0: number): Promise<FetchOutcome> {
  const now = ctx.now ?? Date.now;
  const at = (): string => new Date(now()).toISOString();
  const timeouts = ctx.timeoutMs ?? TRANSFER_TIMEOUT_MS;
  const keyring = new TsigKeyring(ctx.keys.map(tsigKey));
  for (const primary of job.primaries) {
    const from = describeRemote(primary);
    let key: TsigKey | null = null;
    if (primary.key !== null) {
      key = keyring.named(primary.key) ?? null;
      if (key === null) {
        problems.push(`${from}: key ${primary.key} is not among the keys`);
        continue;
      }
    }
    const ask = (qtype: 'axfr' | 'ixfr'): Promise<TransferInOutcome> =>
      transferIn({
        origin: job.origin,
        remote: { address: primary.address, port: primary.port },
        key,
        qtype,
        ...(qtype === 'ixfr' && current !== null ? { soa: soaRecord(current) } : {}),
        timeoutMs: timeouts.total,
        idleTimeoutMs: timeouts.idle,
      });
    let zone: ZoneRecords | null = null;
    let via: 'AXFR' | 'IXFR' = 'AXFR';
    let detail = '';
    if (current !== null) {
      const asked = now();
      const r = await ask('ixfr');
      ctx.log.debug(`zone ${job.origin}: IXFR from ${from} answered (${r.kind}) in ${now() - asked} ms`);
      if (r.kind === 'current') {
        return { kind: 'current', record: { at: at(), kind: 'IXFR', from, outcome: 'ok', serial: current.serial, detail: `the primary has serial ${r.serial}: up to date`, ms: now() - t0 } };
      }
      if (r.kind === 'ixfr' && job.current !== null && r.versions.length > 0 && compareSerial(r.versions.at(-1)!.to, current.serial) > 0) {
        // Fast path: the changes applied to the served image itself, no zone-file text on the way (src/xfr/patch-store.ts).
        const fast = storePatched(job.origin, current, job.current.imagePath, r.versions, ctx);
        if (fast.kind === 'ok') {
          ctx.log.debug(`zone ${job.origin}: ${fast.zone.reason}`);
          const last = r.versions.at(-1)!;
          const detail = `${r.versions.length} version${r.versions.length === 1 ? '' : 's'}: ${fast.deleted} records deleted, ${fast.added} added, applied to the image`;
          const record: TransferRecord = { at: at(), kind: 'IXFR', from, outcome: 'ok', serial: last.to, detail, ms: now() - t0 };
          return { kind: 'updated', zone: fast.zone, timers: soaTimers(last.newSoa), record, warnings: fast.warnings };
        }
        ctx.log.debug(`zone ${job.origin}: IXFR from ${from} not applied to the image (${fast.why}); building it in full`);
      }
      if (r.kind === 'ixfr') {
        const base = imageRecords(current);
        const applied = applyVersions({ soa: soaRecord(current), ...base }, current.serial, r.versions);
        if (applied.kind === 'ok') {
          zone = applied.zone;
          via = 'IXFR';
          detail = `${r.versions.length} version${r.versions.length === 1 ? '' : 's'}: ${applied.deleted} records deleted, ${applied.added} added`;
        } else {
          problems.push(`${from}: IXFR does not apply to serial ${current.serial} (${applied.why}); asking for AXFR`);
        }
      } else if (r.kind === 'axfr') {
        zone = r;
        via = 'IXFR';
        detail = `answered in AXFR form: ${r.count + 1} records`;
      } else {
        problems.push(failure(from, 'IXFR', r.why));
        // Without an answer at all (no connection, a timeout), an AXFR would fare no better.
        if (r.rcode === undefined) continue;
      }
    }
    if (zone === null) {
      const r = await ask('axfr');
      if (r.kind !== 'axfr') {
        problems.push(failure(from, 'AXFR', r.kind === 'error' ? r.why : `answered as ${r.kind}`));
        continue;
      }
      zone = r;
      via = 'AXFR';
      detail = `${r.count + 1} records`;
    }
    const serial = soaRecordSerial(zone.soa);
    if (current !== null && compareSerial(serial, current.serial) <= 0) {
      if (serial === current.serial) return { kind: 'current', record: { at: at(), kind: via, from, outcome: 'ok', serial, detail: `the primary has serial ${serial}: up to date`, ms: now() - t0 } };
      problems.push(`${from}: ${via} brought serial ${serial}, older than ours (${current.serial}, RFC 1982): not used`);
      continue;
    }
    const built = store(job.origin, zone, { via, from, at: at() }, ctx);
    if (built.kind === 'error') {
      problems.push(`${from}: ${via} of serial ${serial} not served: ${built.why}`);
      continue;
    }
    const record: TransferRecord = { at: at(), kind: via, from, outcome: 'ok', serial, detail, ms: now() - t0 };
    return { kind: 'updated', zone: built.zone, timers: soaTimers(zone.soa), record, warnings: built.warnings };
  }
  const record: TransferRecord = { at: at(), kind: current === null ? 'AXFR' : 'IXFR', from: job.primaries.map(describeRemote).join(', '), outcome: 'failed', serial: current?.serial ?? null, detail: problems.join('; ') || 'no primary', ms: now() - t0 };
  return { kind: 'failed', record };
}

/**
 * One primary's failure as a problem: the transfer's own account when it
 * already says which transfer from where (`AXFR of z. from 127.0.0.1:53 key
 * k., message 1: …`), else that account after the primary and the kind.
 */
function failure(from: string, kind: 'AXFR' | 'IXFR', why: string): string {
  return why.startsWith(`${kind} of `) && why.includes(` from ${from}`) ? why : `${from}: ${kind}: ${why}`;
}

/** Writes the zone file and builds its image (journal kept: others may transfer it from us). */
function store(origin: string, zone: ZoneRecords, how: { via: string; from: string; at: string }, ctx: FetchContext): { kind: 'ok'; zone: BuiltZone; warnings: string[] } | { kind: 'error'; why: string } {
  const path = secondaryZonePath(ctx.stateDir, origin);
  // The file of the version served: put back should the new one not build, so a restart serves what was served.
  let previous: Buffer | null = null;
  try {
    previous = readFileSync(path);
  } catch {
    /* the first transfer */
  }
  const text = zoneText(zone, [`zone ${origin}, serial ${soaRecordSerial(zone.soa)}: transferred by ${how.via} from ${how.from} at ${how.at}`, 'written by shardns as a secondary: the next transfer replaces this file, edits are lost']);
  const w = writeSecondaryFile(ctx.stateDir, path, text);
  if (w.kind === 'error') return { kind: 'error', why: w.error.describe() };
  const outcome = buildZones([{ name: origin, file: path, journal: true }], ctx.stateDir, { log: ctx.log });
  if (outcome.kind === 'error') {
    if (previous !== null) writeSecondaryFile(ctx.stateDir, path, previous);
    return { kind: 'error', why: outcome.errors.join('; ') };
  }
  // The zone file now describes the served version alone: changes kept beside it by the fast path are stale.
  removeSecondaryDelta(ctx.stateDir, origin);
  return { kind: 'ok', zone: outcome.zones[0]!, warnings: outcome.warnings };
}
