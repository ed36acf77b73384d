/** The reply to a forwarded question, built from the upstream's (or the cache's) answer. Pure. */

import dnsPacket, { type Packet } from 'dns-packet';
import type { CachedAnswer } from '../forward/cache.js';
import { replyLimit, type AnswerContext, type ForwardRequest } from './answer.js';
import { replyOpt } from './edns.js';
import { encodeWithin } from './truncate.js';

const RCODES: Record<string, number> = { NOERROR: 0, FORMERR: 1, SERVFAIL: 2, NXDOMAIN: 3, NOTIMP: 4, REFUSED: 5 };

/**
 * Our reply to the client: its ID, its question exactly as asked, RD and CD
 * copied, RA set, our own CNAME chain (if it led out of our zones) then the
 * upstream's rcode and sections (TTLs already counted down), AD only when the client asked for DNSSEC (RFC 6840 §5.7), our OPT,
 * and fitted to the client's size (TC=1 when the answer does not fit).
 */
export function forwardedReply(req: ForwardRequest, a: CachedAnswer, ctx: AnswerContext): Buffer {
  const rcode = RCODES[a.rcode] ?? RCODES['SERVFAIL']!;
  // Our chain is not validated data: AD only for a plain forwarded answer.
  const ad = a.ad && req.edns?.dnssecOk === true && req.chain.length === 0 ? dnsPacket.AUTHENTIC_DATA : 0;
  const reply: Packet = {
    id: req.id,
    type: 'response',
    flags: req.flags | ad | rcode,
    questions: [req.question],
    answers: [...req.chain, ...a.answers],
    authorities: a.authorities,
    additionals: req.edns ? [...a.additionals, replyOpt(req.edns, ctx.ednsUdpSize, ctx.nsid)] : a.additionals,
  };
  return encodeWithin(reply, replyLimit(req.transport, req.edns, ctx), { additional: true, authority: a.answers.length + req.chain.length > 0 }).bytes;
}
