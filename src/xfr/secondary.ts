/**
 * The secondary side's clock (RFC 1035 §4.3.5, RFC 1996): per secondary
 * zone, when to ask the primaries for the SOA, when to transfer, when to
 * retry, and when the data has expired; a NOTIFY brings the check forward.
 * The I/O (SOA queries, transfers in a builder process, serving the result)
 * comes in through {@link SecondaryDeps}, so this runs unchanged in tests.
 */

import type { Remote, SecondaryZone } from '../config.js';
import type { Logger } from '../log.js';
import type { BuiltZone } from '../zone/image/reuse.js';
import { describeRemote } from './report.js';
import type { SecondaryState, TransferRecord } from './secondary-files.js';
import { serialNewer } from './serial.js';

/** The SOA timers of a zone's data (RFC 1035 §3.3.13), in seconds. */
export interface SoaTimers {
  refresh: number;
  retry: number;
  expire: number;
}

/**
 * Bounds on the SOA's timers, as Knot bounds them (refresh-min-interval and
 * refresh-max-interval, retry-…, expire-…): a zone asking for a refresh
 * every second, or an expiry of ten years, is clamped.
 */
export const TIMER_BOUNDS = {
  refresh: { min: 2, max: 86_400 },
  retry: { min: 2, max: 86_400 },
  expire: { min: 3, max: 4 * 7 * 86_400 },
} as const;

/** How long a zone with no data waits between attempts (no SOA tells us yet): doubling from the first to the last. */
export const NO_DATA_RETRY = { firstS: 5, maxS: 300 } as const;

/** At most this many transfers at once (each is a builder process; this machine class has few cores). */
export const MAX_TRANSFERS = 2;

/** The timers clamped to {@link TIMER_BOUNDS}. */
export function clampTimers(t: SoaTimers): SoaTimers {
  const clamp = (v: number, b: { min: number; max: number }) => Math.min(b.max, Math.max(b.min, v));
  return { refresh: clamp(t.refresh, TIMER_BOUNDS.refresh), retry: clamp(t.retry, TIMER_BOUNDS.retry), expire: clamp(t.expire, TIMER_BOUNDS.expire) };
}

/** A transfer job for the builder: the zone, its primaries in order, and what we serve now. */
export interface FetchJob {
  origin: string;
  primaries: Remote[];
  /** The image served now and its serial; null before the first transfer (AXFR then). */
  current: { imagePath: string; serial: number } | null;
  /** The serial the primary announced (SOA query or NOTIFY), when known. */
  announced: number | null;
}

/** What a transfer job did. `updated`: a new version is built (its image and SOA timers). */
export type FetchOutcome =
  | { kind: 'updated'; zone: BuiltZone; timers: SoaTimers; record: TransferRecord; warnings: string[] }
  | { kind: 'current'; record: TransferRecord }
  | { kind: 'failed'; record: TransferRecord };

/** An SOA query's answer: the primary's serial, or why it gave none. */
export type SoaCheck = { kind: 'ok'; serial: number } | { kind: 'error'; why: string };

/** What the secondary clock does through others. */
export interface SecondaryDeps {
  /** ms since 1970. */
  now(): number;
  /** Asks one primary for the zone's SOA (RFC 1035 §4.3.5). */
  querySoa(origin: string, primary: Remote): Promise<SoaCheck>;
  /** Transfers and builds the zone (in a builder process). */
  fetch(job: FetchJob): Promise<FetchOutcome>;
  /** A zone's served version changed: a new image, or null when its data expired (answered SERVFAIL). */
  serve(origin: string, zone: BuiltZone | null): void;
  /** Keeps the zone's state across restarts. */
  persist(state: SecondaryState): void;
  /** Told how every refresh ended (for the metrics). */
  recorded?(record: TransferRecord): void;
  log: Logger;
  /** Timers (tests pass fake ones). */
  setTimer?(fn: () => void, ms: number): unknown;
  clearTimer?(t: unknown): void;
}

/** One secondary zone's standing: for `ctl status`, metrics and the logs. */
export interface SecondaryStatus {
  origin: string;
  serial: number | null;
  /** `serving`, `expired` (SERVFAIL), or `pending` (no data yet: SERVFAIL). */
  standing: 'serving' | 'expired' | 'pending';
  /** When the next check is due (ISO 8601), or null while one runs. */
  nextCheck: string | null;
  last: TransferRecord | null;
}

interface ZoneState {
  spec: SecondaryZone;
  persisted: SecondaryState;
  /** The version served, or null (no data, or expired). */
  served: BuiltZone | null;
  /** The version kept (served unless expired). */
  kept: BuiltZone | null;
  timers: SoaTimers | null;
  timer: unknown;
  dueAt: number | null;
  running: boolean;
  /** A NOTIFY came while a check ran: check again when it ends (with the serial it announced, if any). */
  again: { serial: number | null } | null;
  /** Consecutive failed attempts while there is no data (the backoff). */
  failures: number;
  expireTimer: unknown;
  removed: boolean;
}

/**
 * Keeps every secondary zone fresh. `start()` takes each zone's kept data
 * (already built at start, or none) and its persisted state, serves what has
 * not expired, and checks every zone at once (as NSD and Knot do at start).
 * Afterwards each zone is checked every `refresh`, retried every `retry`
 * after a failure, and stops being served `expire` after the last contact
 * with a primary (RFC 1035 §4.3.5). `notified()` (RFC 1996 §3.11) checks
 * at once; a NOTIFY announcing a newer serial skips the SOA query.
 */
export class SecondaryZones {
  private readonly zones = new Map<string, ZoneState>();
  private readonly queue: ZoneState[] = [];
  private active = 0;
  private stopped = false;
  /** Checks are scheduled only once begun (the workers serve first). */
  private begun = false;

  constructor(private readonly deps: SecondaryDeps) {}

  /** Adds a zone (at start, or a catalog member added later) with what the state directory holds for it. */
  add(spec: SecondaryZone, kept: BuiltZone | null, persisted: SecondaryState, timers: SoaTimers | null): void {
    const key = spec.name.toLowerCase();
    if (this.zones.has(key)) return;
    const z: ZoneState = { spec, persisted, served: null, kept, timers, timer: null, dueAt: null, running: false, again: null, failures: 0, expireTimer: null, removed: false };
    this.zones.set(key, z);
    if (kept !== null && !this.expired(z)) {
      z.served = kept;
      this.armExpiry(z);
    } else if (kept !== null) {
      this.deps.log.warn(`zone ${spec.name}: its data (serial ${kept.serial}) expired while shardns was down (no primary confirmed it for ${z.persisted.expire} s); answering SERVFAIL until a transfer succeeds`);
    }
    if (this.begun) this.schedule(z, 0);
  }

  /** Starts checking every zone (at once, as NSD and Knot do at start). */
  begin(): void {
    if (this.begun) return;
    this.begun = true;
    for (const z of this.zones.values()) this.schedule(z, 0);
  }

  /** Stops keeping a zone (a catalog member removed): no more checks; the caller stops serving it. */
  remove(origin: string): void {
    const z = this.zones.get(origin.toLowerCase());
    if (z === undefined) return;
    z.removed = true;
    this.cancel(z);
    this.zones.delete(origin.toLowerCase());
  }

  /** What is served now for the zone (null: no data, expired, or not ours). */
  servedVersion(origin: string): BuiltZone | null {
    return this.zones.get(origin.toLowerCase())?.served ?? null;
  }

  /** The image files of every version kept (served, or expired and waiting for a primary to confirm it). */
  keptImages(): string[] {
    return [...this.zones.values()].flatMap((z) => (z.kept === null ? [] : [z.kept.imagePath]));
  }

  /** The zones' standing, for `ctl status`. */
  status(): SecondaryStatus[] {
    return [...this.zones.values()].map((z) => ({
      origin: z.spec.name,
      serial: z.kept?.serial ?? null,
      standing: z.served !== null ? 'serving' : z.kept !== null ? 'expired' : 'pending',
      nextCheck: z.dueAt === null ? null : new Date(z.dueAt).toISOString(),
      last: z.persisted.last,
    }));
  }

  /**
   * A NOTIFY for the zone was accepted (src/xfr/serve.ts checked
   * allow-notify). `serial`: the one it carried, if any. A NOTIFY whose
   * serial is not newer than ours changes nothing (RFC 1996 §4.7).
   */
  notified(origin: string, serial: number | null, from: string): void {
    const z = this.zones.get(origin.toLowerCase());
    if (z === undefined || this.stopped || !this.begun) return;
    const ours = z.kept?.serial ?? null;
    if (serial !== null && ours !== null && !serialNewer(serial, ours) && z.served !== null) {
      this.deps.log.debug(`zone ${z.spec.name}: NOTIFY from ${from} for serial ${serial}; we have ${ours}, nothing to do`);
      return;
    }
    this.deps.log.info(`zone ${z.spec.name}: NOTIFY from ${from}${serial === null ? '' : ` for serial ${serial}`}; checking now`);
    this.checkNow(z, serial);
  }

  /** Checks the zone with its primaries now (`shardns ctl reload ZONE` of a secondary, as `knotc zone-refresh`); false when it is not one of ours. */
  refresh(origin: string, why: string): boolean {
    const z = this.zones.get(origin.toLowerCase());
    if (z === undefined || this.stopped || !this.begun) return false;
    this.deps.log.info(`zone ${z.spec.name}: refresh asked (${why}); checking now`);
    this.checkNow(z, null);
    return true;
  }

  /** A check now, or right after the one running. */
  private checkNow(z: ZoneState, serial: number | null): void {
    if (z.running) {
      z.again = { serial };
      return;
    }
    this.cancel(z);
    this.enqueue(z, serial);
  }

  /** Stops every timer (the server is stopping). Transfers running finish in their builders; their results are dropped. */
  stop(): void {
    this.stopped = true;
    for (const z of this.zones.values()) this.cancel(z);
    this.queue.length = 0;
  }

  private setTimer(fn: () => void, ms: number): unknown {
    if (this.deps.setTimer) return this.deps.setTimer(fn, ms);
    const t = setTimeout(fn, ms);
    t.unref();
    return t;
  }

  private clearTimer(t: unknown): void {
    if (t === null) return;
    if (this.deps.clearTimer) this.deps.clearTimer(t);
    else clearTimeout(t as NodeJS.Timeout);
  }

  private cancel(z: ZoneState): void {
    this.clearTimer(z.timer);
    z.timer = null;
    z.dueAt = null;
  }

  /** Whether the kept data has outlived `expire` since the last contact. */
  private expired(z: ZoneState): boolean {
    const { lastContact, expire } = z.persisted;
    return lastContact !== null && expire !== null && this.deps.now() >= lastContact + expire * 1000;
  }

  /** (Re)arms the expiry timer from the last contact. */
  private armExpiry(z: ZoneState): void {
    this.clearTimer(z.expireTimer);
    z.expireTimer = null;
    const { lastContact, expire } = z.persisted;
    if (lastContact === null || expire === null) return;
    const ms = Math.max(1, lastContact + expire * 1000 - this.deps.now());
    z.expireTimer = this.setTimer(() => {
      z.expireTimer = null;
      if (z.removed || this.stopped || z.served === null) return;
      // Timers run on a monotonic clock, `now()` is the wall clock: one may fire a moment before the other says it is due.
      if (!this.expired(z)) {
        this.armExpiry(z);
        return;
      }
      z.served = null;
      this.deps.log.error(`zone ${z.spec.name}: expired: no primary confirmed serial ${z.kept?.serial} for ${expire} s (the SOA's expire); answering SERVFAIL for it until a transfer succeeds`);
      this.deps.serve(z.spec.name, null);
    }, Math.min(ms, 2 ** 31 - 1));
  }

  /** The next check in `seconds`. */
  private schedule(z: ZoneState, seconds: number): void {
    if (this.stopped || z.removed) return;
    this.cancel(z);
    z.dueAt = this.deps.now() + seconds * 1000;
    z.timer = this.setTimer(() => {
      z.timer = null;
      this.enqueue(z, null);
    }, seconds * 1000);
  }

  /** Queues a check (at most MAX_TRANSFERS run at once). */
  private enqueue(z: ZoneState, announced: number | null): void {
    if (this.stopped || z.removed || z.running || this.queue.includes(z)) return;
    z.dueAt = null;
    z.again = announced === null ? null : { serial: announced };
    this.queue.push(z);
    this.pump();
  }

  private pump(): void {
    while (this.active < MAX_TRANSFERS && this.queue.length > 0) {
      const z = this.queue.shift()!;
      this.active++;
      z.running = true;
      const announced = z.again?.serial ?? null;
      z.again = null;
      this.check(z, announced)
        .catch((err: unknown) => this.deps.log.error(`zone ${z.spec.name}: refresh failed unexpectedly: ${(err as Error)?.stack ?? String(err)}`))
        .finally(() => {
          this.active--;
          z.running = false;
          if (z.again !== null && !z.removed && !this.stopped) this.enqueue(z, z.again.serial);
          this.pump();
        });
    }
  }

  /**
   * One refresh (RFC 1035 §4.3.5): unless a NOTIFY announced a newer
   * serial, ask the primaries in order for the SOA; when one has a newer
   * serial than ours (RFC 1982), or we have no data, transfer (the job
   * tries IXFR, then AXFR, each primary in turn).
   */
  private async check(z: ZoneState, announced: number | null): Promise<void> {
    const origin = z.spec.name;
    const ours = z.kept?.serial ?? null;
    let newer = announced !== null && (ours === null || serialNewer(announced, ours)) ? announced : null;
    const problems: string[] = [];
    if (newer === null && ours !== null) {
      let current = false;
      for (const p of z.spec.primaries) {
        const r = await this.deps.querySoa(origin, p);
        if (this.stopped || z.removed) return;
        if (r.kind === 'error') {
          problems.push(`${describeRemote(p)}: ${r.why}`);
          continue;
        }
        if (serialNewer(r.serial, ours)) {
          newer = r.serial;
          break;
        }
        // The primary has our serial (or an older one: RFC 1982 says keep ours): the data is confirmed.
        if (r.serial !== ours) this.deps.log.warn(`zone ${origin}: primary ${describeRemote(p)} has serial ${r.serial}, older than ours (${ours}); keeping ours`);
        current = true;
        this.contact(z, { at: new Date(this.deps.now()).toISOString(), kind: 'SOA', from: describeRemote(p), outcome: 'ok', serial: ours, detail: `serial ${r.serial} at the primary: up to date`, ms: 0 });
        break;
      }
      if (!current && newer === null) {
        this.failed(z, { at: new Date(this.deps.now()).toISOString(), kind: 'SOA', from: z.spec.primaries.map(describeRemote).join(', '), outcome: 'failed', serial: ours, detail: problems.join('; '), ms: 0 });
        return;
      }
      if (current) {
        this.schedule(z, z.timers?.refresh ?? TIMER_BOUNDS.refresh.max);
        return;
      }
    }
    const current = z.kept === null ? null : { imagePath: z.kept.imagePath, serial: z.kept.serial };
    const outcome = await this.deps.fetch({ origin, primaries: z.spec.primaries, current, announced: newer });
    if (this.stopped || z.removed) return;
    if (outcome.kind === 'failed') {
      this.failed(z, outcome.record);
      return;
    }
    if (outcome.kind === 'current') {
      this.contact(z, outcome.record);
      this.schedule(z, z.timers?.refresh ?? TIMER_BOUNDS.refresh.max);
      return;
    }
    for (const w of outcome.warnings) this.deps.log.warn(w);
    z.kept = outcome.zone;
    z.served = outcome.zone;
    z.timers = clampTimers(outcome.timers);
    z.persisted.serial = outcome.zone.serial;
    z.persisted.expire = z.timers.expire;
    z.persisted.timers = z.timers;
    this.deps.log.info(`zone ${origin}: serial ${outcome.zone.serial}, ${outcome.zone.records} records; ${outcome.record.kind} from ${outcome.record.from} in ${Math.round(outcome.record.ms)} ms (${outcome.record.detail})`);
    // The workers are told first; the refresh state (written to disk) follows.
    this.deps.serve(origin, outcome.zone);
    this.contact(z, outcome.record);
    this.schedule(z, z.timers.refresh);
  }

  /** A primary confirmed our data (or gave us new data): expiry counts from now. */
  private contact(z: ZoneState, record: TransferRecord): void {
    z.failures = 0;
    z.persisted.lastContact = this.deps.now();
    z.persisted.last = record;
    this.deps.recorded?.(record);
    if (z.kept !== null && z.served === null) {
      z.served = z.kept;
      this.deps.log.info(`zone ${z.spec.name}: a primary confirmed serial ${z.kept.serial}; serving it again`);
      this.deps.serve(z.spec.name, z.kept);
    }
    this.armExpiry(z);
    this.deps.persist(z.persisted);
  }

  /** Nothing worked: log every primary's reason, retry later. */
  private failed(z: ZoneState, record: TransferRecord): void {
    z.persisted.last = record;
    this.deps.recorded?.(record);
    this.deps.persist(z.persisted);
    let wait: number;
    if (z.timers !== null) wait = z.timers.retry;
    else {
      wait = Math.min(NO_DATA_RETRY.maxS, NO_DATA_RETRY.firstS * 2 ** z.failures);
      z.failures++;
    }
    this.deps.log.warn(`zone ${z.spec.name}: refresh failed (${record.detail.startsWith(`${record.kind} `) ? '' : `${record.kind}: `}${record.detail}); ${z.served !== null ? `still serving serial ${z.served.serial}; ` : ''}retrying in ${wait} s`);
    this.schedule(z, wait);
  }
}
