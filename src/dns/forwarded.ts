/** The reply to a forwarded question, built from the upstream's (or the cache's, or a local) answer. Pure. */

import type { Packet } from 'dns-packet';
import type { CachedAnswer } from '../forward/cache.js';
import { replyLimit, type AnswerContext, type ForwardRequest } from './answer.js';
import { replyOpt } from './edns.js';
import { withExactNames } from './exact-names.js';
import { encodeWithin } from './truncate.js';

const RCODES: Record<string, number> = { NOERROR: 0, FORMERR: 1, SERVFAIL: 2, NXDOMAIN: 3, NOTIMP: 4, REFUSED: 5 };
const AA = 0x0400;
const AD = 0x0020;

/**
 * Our reply to the client: its ID, its question exactly as asked (the
 * octets it came in, RFC 1035 §4.1.2: a client matches them), RD and CD
 * copied, RA set, our own CNAME chain (if it led out of our zones) then the
 * answer's rcode and sections (TTLs already counted down), our OPT (with the
 * answer's Extended DNS Error, if any), fitted to the client's size (TC=1
 * when the answer does not fit).
 *
 * AA only for a local answer (a hosts entry, a domain sent nowhere), as
 * dnsmasq sets it. AD as the upstream set it, to a client that asked with DO
 * or AD (RFC 6840 §5.7, §5.8: a client that sets neither may not understand
 * it); never over our own chain, which nobody validated. The query's AD bit
 * arrives in `req.flags` (0x0020) and is not copied as such.
 */
export function forwardedReply(req: ForwardRequest, a: CachedAnswer, ctx: AnswerContext): Buffer {
  const rcode = RCODES[a.rcode] ?? RCODES['SERVFAIL']!;
  const askedAd = (req.flags & AD) !== 0 || req.edns?.dnssecOk === true;
  const ad = a.ad && askedAd && req.chain.length === 0 ? AD : 0;
  const reply: Packet = {
    id: req.id,
    type: 'response',
    flags: (req.flags & ~AD) | ad | (a.local === true ? AA : 0) | rcode,
    // The question and our chain go in as octets (truncate.ts WireParts): dns-packet's strings lose octets.
    questions: [],
    answers: a.answers,
    authorities: a.authorities,
    additionals: req.edns ? [...a.additionals, replyOpt(req.edns, ctx.ednsUdpSize, ctx.nsid, 0, a.extendedError)] : a.additionals,
  };
  const wire = { question: req.question.wire, answers: req.chain };
  // The answer's names are name strings (transport.ts decoded them with exact names): written back as those octets.
  return withExactNames(() => encodeWithin(reply, replyLimit(req.transport, req.edns, ctx), { additional: true, authority: a.answers.length + req.chain.length > 0 }, wire)).bytes;
}
