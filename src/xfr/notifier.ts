/** NOTIFY out (RFC 1996): the supervisor tells each zone's `notify` targets of a new serial over UDP, TSIG-signed when a key is set, retried with backoff until acknowledged. */

import { randomInt } from 'node:crypto';
import dgram from 'node:dgram';
import { isIPv6 } from 'node:net';
import type { Config, Remote } from '../config.js';
import type { Logger } from '../log.js';
import { notifyMessage, notifyReply, type NotifySoa } from './notify.js';
import { describeRemote } from './report.js';
import { signRequest, tsigKey, TsigKeyring, TSIG_ERROR_NAMES, verifyResponse, type TsigKey } from './tsig.js';

/** How NOTIFYs are retried (RFC 1996 §3.6: "periodically until a response is received", within operator limits). */
export interface NotifyTiming {
  /** Wait this long for the first reply (ms); each retry waits twice as long as the one before. */
  firstTimeoutMs: number;
  /** Retries after the first attempt (NSD's notify-retry default is 5). */
  retries: number;
}

/** 2 s, then 4, 8, 16, 32, 64: about two minutes of trying. */
export const NOTIFY_TIMING: NotifyTiming = { firstTimeoutMs: 2000, retries: 5 };

/** How long to wait for a reply to attempt `attempt` (0 the first): the first timeout, doubled per retry. */
export function notifyWait(timing: NotifyTiming, attempt: number): number {
  return timing.firstTimeoutMs * 2 ** attempt;
}

/** A zone version being served: its origin and serial, and how to read its SOA record (sent with the NOTIFY; null: sent without). */
export interface ServedSerial {
  origin: string;
  serial: number;
  soa?: () => NotifySoa | null;
}

/** One NOTIFY on its way to one target. */
interface Pending {
  origin: string;
  serial: number;
  target: Remote;
  key: TsigKey | null;
  /** The zone's SOA, carried in the answer section (RFC 1996 §3.7), or null. */
  soa: NotifySoa | null;
  message: Buffer;
  /** The MAC of the signed message (a signed reply's MAC covers it), or null. */
  mac: Buffer | null;
  attempt: number;
  timer: NodeJS.Timeout | null;
}

/**
 * Sends NOTIFY for the zones that have `notify` targets: at start for
 * every such zone, then whenever a zone is served at a new serial
 * (`served`, after a reload has every worker answering with it). A newer
 * serial replaces a NOTIFY still being retried for the same zone and
 * target. Replies are matched by address, port and ID; a signed NOTIFY's
 * reply must verify (RFC 8945 §5.4), an unsigned or forged one is ignored.
 */
export class Notifier {
  private readonly targets = new Map<string, Remote[]>();
  private readonly keys: TsigKeyring;
  private readonly last = new Map<string, number>();
  private readonly pending = new Map<string, Pending>();
  private sockets: { v4: dgram.Socket | null; v6: dgram.Socket | null } = { v4: null, v6: null };
  private closed = false;

  /** A notifier for the zones of `config` with notify targets, or null when none has any. */
  static forConfig(config: Config, log: Logger, timing: NotifyTiming = NOTIFY_TIMING): Notifier | null {
    return config.zones.some((z) => z.notify.length > 0) ? new Notifier(config, log, timing) : null;
  }

  constructor(
    config: Pick<Config, 'zones' | 'keys'>,
    private readonly log: Logger,
    private readonly timing: NotifyTiming = NOTIFY_TIMING,
    private readonly now: () => number = () => Date.now() / 1000,
  ) {
    for (const z of config.zones) if (z.notify.length > 0) this.targets.set(z.name.toLowerCase(), z.notify);
    this.keys = new TsigKeyring(config.keys.map(tsigKey));
  }

  /** The zones now served: those at a serial not yet notified are notified. */
  served(zones: readonly ServedSerial[]): void {
    if (this.closed) return;
    for (const z of zones) {
      const targets = this.targets.get(z.origin.toLowerCase());
      if (targets === undefined || this.last.get(z.origin.toLowerCase()) === z.serial) continue;
      this.last.set(z.origin.toLowerCase(), z.serial);
      const soa = z.soa?.() ?? null;
      for (const target of targets) this.start(z.origin, z.serial, target, soa);
    }
  }

  /** Stops retrying and closes the sockets (shutdown). */
  close(): void {
    this.closed = true;
    for (const p of this.pending.values()) if (p.timer) clearTimeout(p.timer);
    this.pending.clear();
    for (const s of [this.sockets.v4, this.sockets.v6]) s?.close();
    this.sockets = { v4: null, v6: null };
  }

  /** NOTIFYs not yet acknowledged (tests, status). */
  get outstanding(): number {
    return this.pending.size;
  }

  private start(origin: string, serial: number, target: Remote, soa: NotifySoa | null): void {
    const id = `${origin.toLowerCase()} ${target.address} ${target.port}`;
    const old = this.pending.get(id);
    if (old?.timer) clearTimeout(old.timer);
    const key = target.key === null ? null : (this.keys.named(target.key) ?? null);
    const p: Pending = { origin, serial, target, key, soa, message: Buffer.alloc(0), mac: null, attempt: 0, timer: null };
    this.pending.set(id, p);
    this.send(id, p);
  }

  /** Sends (again) with a fresh ID (and signature), and waits for the reply. */
  private send(id: string, p: Pending): void {
    if (this.closed || this.pending.get(id) !== p) return;
    const bare = notifyMessage(p.origin, randomInt(0, 65536), p.soa);
    if (p.key === null) {
      p.message = bare;
      p.mac = null;
    } else {
      const signed = signRequest(bare, p.key, this.now());
      p.message = signed.bytes;
      p.mac = signed.mac;
    }
    this.socket(p.target.address).send(p.message, p.target.port, p.target.address, (err) => {
      if (err) this.log.debug(`NOTIFY for ${p.origin} to ${describeRemote(p.target)}: ${err.message}`);
    });
    const wait = notifyWait(this.timing, p.attempt);
    p.timer = setTimeout(() => {
      p.timer = null;
      if (this.pending.get(id) !== p) return;
      if (p.attempt >= this.timing.retries) {
        this.pending.delete(id);
        this.log.warn(`NOTIFY for ${p.origin} serial ${p.serial} to ${describeRemote(p.target)}: no reply after ${p.attempt + 1} attempts; giving up (the secondary still finds the change at its next SOA refresh)`);
        return;
      }
      p.attempt++;
      this.send(id, p);
    }, wait);
    p.timer.unref();
  }

  /** The UDP socket for this family, opened on first use. */
  private socket(address: string): dgram.Socket {
    const family = isIPv6(address) ? 'v6' : 'v4';
    const have = this.sockets[family];
    if (have !== null) return have;
    const s = dgram.createSocket(family === 'v6' ? 'udp6' : 'udp4');
    s.on('message', (msg, rinfo) => this.received(msg, rinfo.address, rinfo.port));
    s.on('error', (err) => this.log.debug(`NOTIFY socket: ${err.message}`));
    s.unref();
    this.sockets[family] = s;
    return s;
  }

  private received(msg: Buffer, address: string, port: number): void {
    for (const [id, p] of this.pending) {
      if (p.target.port !== port || !sameAddress(p.target.address, address)) continue;
      const r = notifyReply(msg, p.message.subarray(0, notifyMessageLength(p.message)));
      if (r.kind === 'other') continue;
      if (p.key !== null && p.mac !== null) {
        const v = verifyResponse(msg, p.key, p.mac, this.now());
        if (v.kind === 'unsigned') {
          this.log.warn(`NOTIFY for ${p.origin} to ${describeRemote(p.target)}: an unsigned reply to a signed NOTIFY; ignored (RFC 8945 §5.4)`);
          continue;
        }
        if (v.kind === 'error') {
          this.pending.delete(id);
          if (p.timer) clearTimeout(p.timer);
          this.log.warn(`NOTIFY for ${p.origin} serial ${p.serial} to ${describeRemote(p.target)}: TSIG ${v.tsigError ? TSIG_ERROR_NAMES[v.tsigError] ?? v.tsigError : 'failure'}: ${v.why}; check that both sides have key ${p.key.name} with the same secret and algorithm`);
          continue;
        }
      }
      this.pending.delete(id);
      if (p.timer) clearTimeout(p.timer);
      if (r.kind === 'ack') this.log.info(`NOTIFY for ${p.origin} serial ${p.serial} acknowledged by ${describeRemote(p.target)}`);
      else this.log.warn(`NOTIFY for ${p.origin} serial ${p.serial} to ${describeRemote(p.target)}: answered RCODE ${r.rcode}${r.rcode === 5 ? ' (REFUSED: is this server allowed to notify it, and is the zone a secondary there?)' : r.rcode === 9 ? ' (NOTAUTH: the secondary does not have the zone, or the key does not match)' : ''}`);
    }
  }
}

/** The NOTIFY's octets without its TSIG (header and question: what a reply echoes). */
function notifyMessageLength(message: Buffer): number {
  let at = 12;
  while (message[at] !== 0) at += message[at]! + 1;
  return at + 5;
}

/** Whether two addresses are the same (an IPv4 one may come back IPv4-mapped). */
function sameAddress(a: string, b: string): boolean {
  return a === b || `::ffff:${a}` === b || a === `::ffff:${b}`;
}
