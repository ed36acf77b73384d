/**
 * Warming a fresh worker's zone transfer path: after the worker serves, in
 * idle turns, a bounded part of a zone that allows transfers is made into
 * AXFR messages in a scratch ring and thrown away, so V8 has compiled the
 * packer (src/xfr/packer.ts, axfr.ts, compress.ts) before the first real
 * transfer, which otherwise runs much of itself unoptimised. Nothing is
 * sent; the messages are those an AXFR would begin with. Pure: the
 * scheduler and clock come in.
 */

import type { ZoneImage } from '../zone/image/image.js';
import { TransferStream, ZoneCursor } from './axfr.js';
import type { ZonePolicy } from './serve.js';

/** AXFR and IN (RFC 5936 §2.1, RFC 1035 §3.2.4). */
const AXFR = 252;
const IN = 1;

/** Messages made in all by default: 600 of 2 KiB (WARM_UP_MESSAGE_SIZE), about 40,000 records of the bench's zone, 20–45 ms of CPU on a cold worker. */
export const WARM_UP_MESSAGES = 600;
/** How long after a worker serves its warm-up begins: its sibling workers may still be starting on the same CPUs then. */
export const WARM_UP_DELAY_MS = 500;

/** How full a warm-up message is made by default. */
export const WARM_UP_MESSAGE_SIZE = 2048;
/** Messages made per turn of the event loop by default (16 of 2 KiB: ~1,000 records, under a millisecond on a cold worker): queries that arrive meanwhile wait at most one slice. */
export const WARM_UP_SLICE = 16;

/** Messages made of the zone's end, and the nodes they start from. */
const TAIL = 2;
const TAIL_NODES = 64;

/** What a warm-up did. */
export type WarmUpOutcome =
  | { kind: 'done'; origin: string; messages: number; octets: number; cpuMs: number }
  | { kind: 'skipped'; why: string }
  | { kind: 'cancelled'; messages: number; why: string }
  | { kind: 'error'; origin: string; message: string };

/** How a warm-up runs. */
export interface WarmUpOptions {
  /** Messages made in all, about (the last few are the zone's end; a smaller zone ends sooner). */
  messages?: number;
  /** How full each message is made (the packer's per-message steps run once a message: small messages warm them with fewer records). */
  messageSize?: number;
  /** Messages made per slice; the slices run one per `schedule` call. */
  slice?: number;
  /** Runs `fn` later, after what is waiting (the worker passes setImmediate: I/O first). */
  schedule: (fn: () => void) => void;
  /** CPU time in ms (process.cpuUsage in the worker), for the outcome. */
  cpuMs: () => number;
  /** Told once, at the end. */
  done: (outcome: WarmUpOutcome) => void;
}

/**
 * The zone to warm the transfer path with: the largest (most nodes) whose
 * `allow-transfer` admits anyone. Null when no zone can be transferred:
 * then there is no transfer path to warm, and nothing runs.
 */
export function warmUpZone(images: readonly ZoneImage[], policies: ReadonlyMap<string, ZonePolicy>): ZoneImage | null {
  let best: ZoneImage | null = null;
  for (const image of images) {
    const policy = policies.get(Buffer.from(image.originKey).toString('latin1'));
    if (policy === undefined || policy.allowTransfer.empty) continue;
    if (best === null || image.nodeCount > best.nodeCount) best = image;
  }
  return best;
}

/**
 * Makes the first messages of an AXFR of `image` (unsigned, as a client
 * without TSIG or EDNS asks for it) into a scratch ring, `slice` messages
 * per scheduled turn, until `messages` were made or the zone ended; the
 * image is held meanwhile, as a transfer holds it. Returns a cancel
 * function, given why (the worker stops, or a real transfer began and
 * warms the path itself): the image is released, `done` is told.
 */
export function warmTransferPath(image: ZoneImage, options: WarmUpOptions): (why: string) => void {
  const total = Math.max(TAIL + 1, options.messages ?? WARM_UP_MESSAGES);
  const slice = Math.max(1, options.slice ?? WARM_UP_SLICE);
  const origin = image.meta.origin;
  const at = image.ownerAt(0);
  // The question as a query carries it: a Buffer view of the message, the origin's wire name in the zone's case.
  const question = Buffer.alloc(image.nameLength(0) + 4);
  question.set(image.bytes.subarray(at, at + image.nameLength(0)), 0);
  question.writeUInt16BE(AXFR, question.length - 4);
  question.writeUInt16BE(IN, question.length - 2);
  let cursor: ZoneCursor;
  try {
    cursor = new ZoneCursor(image);
  } catch (err) {
    // (A zone without an SOA: never served, but a warm-up must not take a worker down.)
    options.done({ kind: 'error', origin, message: err instanceof Error ? err.message : String(err) });
    return () => undefined;
  }
  image.hold();
  const stream = new TransferStream(cursor, { head: { id: 0, flags: 0, question }, opt: null, signer: null, messageSize: options.messageSize ?? WARM_UP_MESSAGE_SIZE, onClose: () => image.release() });
  const nodes = image.nodeCount + image.nsec3Count;
  let made = 0;
  let octets = 0;
  let cpu = 0;
  let over = false;
  let ended = false;
  const finish = (outcome: WarmUpOutcome): void => {
    if (over) return;
    over = true;
    stream.close();
    options.done(outcome);
  };
  const step = (): void => {
    if (over) return;
    const t0 = options.cpuMs();
    try {
      for (let i = 0; i < slice; i++) {
        // The last messages are the zone's end (its last nodes, the closing SOA, the stream's end): an optimised packer
        // that never saw those branches would be thrown away (deoptimised) at the end of the first real transfer.
        if (made === total - TAIL) cursor.skipTo(nodes - TAIL_NODES);
        const m = stream.next();
        if (m === null) {
          ended = true;
          break;
        }
        made++;
        octets += m.length;
      }
    } catch (err) {
      // A zone the packer cannot transfer: a real AXFR of it fails the same way (and says so); the worker goes on.
      return finish({ kind: 'error', origin, message: err instanceof Error ? err.message : String(err) });
    }
    cpu += options.cpuMs() - t0;
    if (ended) return finish({ kind: 'done', origin, messages: made, octets, cpuMs: cpu });
    options.schedule(step);
  };
  options.schedule(step);
  return (why) => finish({ kind: 'cancelled', messages: made, why });
}

/** The log line for a warm-up's outcome. */
export function describeWarmUp(outcome: WarmUpOutcome): string {
  switch (outcome.kind) {
    case 'done':
      return `transfer warm-up: ${outcome.messages} AXFR messages (${outcome.octets} octets) of ${outcome.origin} made and dropped in ${outcome.cpuMs.toFixed(1)} ms of CPU`;
    case 'skipped':
      return `transfer warm-up: none (${outcome.why})`;
    case 'cancelled':
      return `transfer warm-up: stopped after ${outcome.messages} messages (${outcome.why})`;
    case 'error':
      return `transfer warm-up: ${outcome.origin}: ${outcome.message} (an AXFR of this zone would fail the same way)`;
  }
}
