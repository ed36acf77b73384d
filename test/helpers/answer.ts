/** Calls answer() for tests that expect bytes (or a drop), never a question to forward. */

import { answer, type AnswerContext, type Transport } from '../../src/dns/answer.js';

/** answer() from a loopback client: the reply's bytes, or null for a drop; fails the test if the query would be forwarded. */
export function authoritativeOnly(ctx: AnswerContext) {
  return (query: Buffer, transport: Transport = 'udp'): Buffer | null => {
    const out = answer(query, ctx, { transport, address: '127.0.0.1' });
    if (out.kind === 'forward') throw new Error(`expected a reply, got a forward request for ${out.question.name}`);
    return out.kind === 'reply' ? out.bytes : null;
  };
}
