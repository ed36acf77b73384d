/** A worker's transfer context from the config: TSIG keys, per-zone transfer and NOTIFY policy, the IXFR journals read from the state directory, a rate-limited log. */

import { statSync } from 'node:fs';
import type { Config, ZoneSpec } from '../config.js';
import { nameToWire, parseZoneName, NameError } from '../zone/names.js';
import { lowerName } from '../dns/ascii.js';
import { journalPath, readJournalFile } from '../zone/image/store.js';
import type { ZoneImage } from '../zone/image/image.js';
import { compileXfrAcl } from './acl.js';
import { decodeJournal, type Journal } from './journal.js';
import type { JournalSource, NotifyHook, TransferContext, TransferLog, ZonePolicy } from './serve.js';
import { tsigKey, TsigKeyring } from './tsig.js';

/** What a worker gives the transfer context besides its config. */
export interface TransferContextOptions {
  /** Where log lines go (the worker's logger); at most LOG_PER_SECOND a second, the rest counted. */
  log: TransferLog;
  /** Told of an admitted NOTIFY for a secondary zone. */
  notified?: NotifyHook;
  /** Seconds since 1970 (TSIG times); the system clock by default. */
  now?: () => number;
  /** Told when a transfer's stream of messages begins (the worker stops its warm-up, src/xfr/warm-up.ts). */
  streamStarted?: () => void;
}

/** Log lines the transfer branch may write per second (a scan of refused transfers cannot flood the log). */
export const LOG_PER_SECOND = 20;

/** The transfer context of a worker running `config`. */
export function transferContext(config: Config, options: TransferContextOptions, members: readonly ZoneSpec[] = []): TransferContext {
  const zones = new Map<string, ZonePolicy>();
  // Zones a catalog added (RFC 9432) are policed like configured ones; a configured zone wins over a member of the same name.
  for (const z of [...members, ...config.zones]) {
    zones.set(originKey(z.name), { origin: z.name, type: z.type, allowTransfer: compileXfrAcl(z.allowTransfer), allowNotify: compileXfrAcl(z.allowNotify) });
  }
  return {
    keys: new TsigKeyring(config.keys.map(tsigKey)),
    zones,
    journals: new JournalFiles(config.stateDir, (m) => options.log('warn', m)),
    now: options.now ?? (() => Date.now() / 1000),
    log: rateLimited(options.log, options.now ?? (() => Date.now() / 1000)),
    ...(options.notified ? { notified: options.notified } : {}),
    ...(options.streamStarted ? { streamStarted: options.streamStarted } : {}),
  };
}

/** The lower-cased wire form of an origin, as octets in a latin1 string (the policy map's key). */
export function originKey(origin: string): string {
  const parsed = parseZoneName(origin);
  if (parsed instanceof NameError) throw new Error(`bad zone name ${origin}: ${parsed.message}`);
  const wire = nameToWire(parsed);
  const lower = Buffer.allocUnsafe(wire.length);
  lowerName(wire, 0, wire.length, lower, 0);
  return lower.toString('latin1');
}

/**
 * The zones' journals as the builder writes them (src/zone/image/store.ts),
 * read when an IXFR asks and kept while the file stays the same (its size
 * and modification time); a journal that does not lead to the image being
 * served is not used.
 */
export class JournalFiles implements JournalSource {
  private readonly cache = new Map<string, { mtimeMs: number; size: number; journal: Journal | null }>();

  constructor(
    private readonly stateDir: string,
    private readonly warn: (message: string) => void,
  ) {}

  journal(image: ZoneImage): Journal | null {
    const origin = image.meta.origin;
    const path = journalPath(this.stateDir, origin);
    let stat: { mtimeMs: number; size: number };
    try {
      stat = statSync(path);
    } catch {
      this.cache.delete(origin);
      return null;
    }
    const kept = this.cache.get(origin);
    let journal: Journal | null;
    if (kept !== undefined && kept.mtimeMs === stat.mtimeMs && kept.size === stat.size) journal = kept.journal;
    else {
      const read = readJournalFile(path);
      const decoded = read.kind === 'ok' ? decodeJournal(read.bytes) : read.kind === 'bad' ? read.reason : null;
      if (typeof decoded === 'string') this.warn(`zone ${origin}: IXFR journal ${path} not used (${decoded}); IXFR is answered with the whole zone`);
      journal = typeof decoded === 'string' ? null : decoded;
      this.cache.set(origin, { mtimeMs: stat.mtimeMs, size: stat.size, journal });
    }
    return journal !== null && journal.endHash === image.meta.source ? journal : null;
  }
}

/** `log` at most LOG_PER_SECOND lines a second; the next line after a pause says how many were left out. */
function rateLimited(log: TransferLog, now: () => number): TransferLog {
  let second = -1;
  let lines = 0;
  let left = 0;
  return (level, message) => {
    const s = Math.floor(now());
    if (s !== second) {
      second = s;
      lines = 0;
    }
    if (lines >= LOG_PER_SECOND) {
      left++;
      return;
    }
    lines++;
    if (left > 0) {
      log('warn', `${left} transfer log line(s) left out (more than ${LOG_PER_SECOND} a second)`);
      left = 0;
    }
    log(level, message);
  };
}
