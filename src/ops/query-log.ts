/** The query log: one JSON object per line for one query in N, read from the query's and the reply's wire bytes. */

import { presentLabels } from '../zone/names.js';
import { canonicalIPv6 } from '../zone/rdata/address.js';
import { classMnemonic, typeMnemonic } from '../zone/rdata/rrtypes.js';
import type { Exchange } from './dnstap.js';

/** One line of the query log. Field names are part of the interface people parse: change them only with the README. */
export interface QueryLogRecord {
  /** When the query arrived (ISO 8601, UTC, milliseconds). */
  time: string;
  /** The worker slot that answered. */
  worker: number;
  /** The client's address (no port). */
  client: string;
  /** The client's port. */
  port: number;
  transport: 'udp' | 'tcp';
  /** The query ID. */
  id: number;
  /** The question, absolute, escaped as a zone file would write it; null when the query has none we can read. */
  name: string | null;
  type: string | null;
  class: string | null;
  /** The reply's rcode (`NOERROR`, `NXDOMAIN`, …), `transfer` for a zone transfer (a stream of messages), or `dropped` when nothing was sent. */
  rcode: string;
  /** The reply's header flags that are set, as dig prints them (`qr aa rd`); empty when dropped. */
  flags: string;
  /** Records in the reply's answer section. */
  answers: number;
  /** The reply's size in octets (0 when dropped). */
  size: number;
  /** Milliseconds from query to reply, for answers that waited on an upstream; left out when the reply was immediate. */
  ms?: number;
}

const RCODES = ['NOERROR', 'FORMERR', 'SERVFAIL', 'NXDOMAIN', 'NOTIMP', 'REFUSED', 'YXDOMAIN', 'YXRRSET', 'NXRRSET', 'NOTAUTH', 'NOTZONE'];

/** The question of a message: name, type and class, or nulls when it has none or it cannot be read (RFC 1035 §4.1.2). */
export function readQuestion(m: Uint8Array): { name: string | null; type: string | null; class: string | null } {
  const none = { name: null, type: null, class: null };
  if (m.length < 12 || ((m[4]! << 8) | m[5]!) === 0) return none;
  const labels: Uint8Array[] = [];
  let at = 12;
  for (;;) {
    if (at >= m.length) return none;
    const len = m[at]!;
    // A question name is never compressed in a query; a pointer or an extended label type is not read.
    if (len > 63) return none;
    at++;
    if (len === 0) break;
    if (at + len > m.length) return none;
    labels.push(m.subarray(at, at + len));
    at += len;
  }
  if (at + 4 > m.length) return none;
  return { name: presentLabels(labels), type: typeMnemonic((m[at]! << 8) | m[at + 1]!), class: classMnemonic((m[at + 2]! << 8) | m[at + 3]!) };
}

/** The flag texts of header octets 2 and 3 (QR AA TC RD; RA AD CD), in dig's order, worked out once per combination. */
const FLAG_TEXT = new Map<number, string>();

/** The flags set in a reply's header, in dig's order. */
function flagText(r: Uint8Array): string {
  const bits = ((r[2]! & 0x87) << 8) | (r[3]! & 0xb0);
  let text = FLAG_TEXT.get(bits);
  if (text === undefined) {
    const f: string[] = [];
    if (bits & 0x8000) f.push('qr');
    if (bits & 0x0400) f.push('aa');
    if (bits & 0x0200) f.push('tc');
    if (bits & 0x0100) f.push('rd');
    if (bits & 0x0080) f.push('ra');
    if (bits & 0x0020) f.push('ad');
    if (bits & 0x0010) f.push('cd');
    text = f.join(' ');
    FLAG_TEXT.set(bits, text);
  }
  return text;
}

/** The ISO 8601 text of the last second seen, without its fraction: a line's time costs a string join, not a Date. */
let isoSecond = -1;
let isoPrefix = '';

/** `2026-01-02T03:04:05.678Z` for a time in ms since the epoch. */
function isoTime(ms: number): string {
  const whole = Math.floor(ms);
  const second = Math.floor(whole / 1000);
  if (second !== isoSecond) {
    isoSecond = second;
    isoPrefix = new Date(second * 1000).toISOString().slice(0, 19);
  }
  return `${isoPrefix}.${String(whole - second * 1000).padStart(3, '0')}Z`;
}

/**
 * One line of the query log for one exchange, newline included (the
 * fields of {@link QueryLogRecord}, in that order). `waited`: the reply
 * came later than the query (forwarded), so its delay is told. Written
 * field by field: only the name can hold characters JSON escapes.
 */
export function queryLogLine(e: Exchange, worker: number, waited: boolean): string {
  const q = readQuestion(e.query);
  const r = e.reply !== null && e.reply.length >= 12 ? e.reply : null;
  // The engines give IPv6 senders unabbreviated (0:0:0:0:0:0:0:1): written as people read them (::1).
  const client = e.client.includes(':') ? (canonicalIPv6(e.client.split('%', 1)[0]!) ?? e.client) : e.client;
  const id = e.query.length >= 2 ? (e.query[0]! << 8) | e.query[1]! : 0;
  const rcode = r === null ? (e.transfer ? 'transfer' : 'dropped') : (RCODES[r[3]! & 0x0f] ?? `RCODE${r[3]! & 0x0f}`);
  const text = (s: string | null): string => (s === null ? 'null' : `"${s}"`);
  const ms = waited ? `,"ms":${Math.round((e.replyTime - e.queryTime) * 10) / 10}` : '';
  return (
    `{"time":"${isoTime(e.queryTime)}","worker":${worker},"client":"${client}","port":${e.clientPort},"transport":"${e.transport}","id":${id},` +
    `"name":${q.name === null ? 'null' : JSON.stringify(q.name)},"type":${text(q.type)},"class":${text(q.class)},"rcode":"${rcode}",` +
    `"flags":"${r === null ? '' : flagText(r)}","answers":${r === null ? 0 : (r[6]! << 8) | r[7]!},"size":${r === null ? 0 : r.length}${ms}}\n`
  );
}

/** One in `n`: the first message, then every n-th (per worker; deterministic, so a test or an operator can count on it). */
export class Sampler {
  private left = 0;

  constructor(private readonly n: number) {}

  /** Should this message be logged? */
  take(): boolean {
    if (this.left > 0) {
      this.left--;
      return false;
    }
    this.left = this.n - 1;
    return true;
  }
}
