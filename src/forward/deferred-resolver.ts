/** A resolver that exists before the forwarder does: a worker serves its zones while the forwarding modules still load, and questions asked meanwhile wait for them. */

import type { Resolver } from '../dns/pipeline.js';
import type { CachedAnswer } from './answer-ttl.js';
import type { Resolution } from './forwarder.js';

/** What a question gets when it would go over forward-max: SERVFAIL, as the pipeline answers it (src/dns/pipeline.ts). */
const OVER_MAX_ANSWER: CachedAnswer = { rcode: 'SERVFAIL', ad: false, answers: [], authorities: [], additionals: [] };

/**
 * Hands questions to the resolver `load` resolves with. Until it has, each
 * question is `asked` (the pipeline answers it when the promise settles);
 * once it has, questions go straight to it. If `load` rejects, every
 * question waiting or still to come is answered from that rejection (the
 * pipeline makes it SERVFAIL and reports it).
 */
export class DeferredResolver implements Resolver {
  private target: Resolver | null = null;
  private readonly loaded: Promise<Resolver>;

  constructor(load: Promise<Resolver>) {
    this.loaded = load.then((r) => (this.target = r));
    // Nothing awaits it before the first question: a failure must not be an unhandled rejection.
    this.loaded.catch(() => undefined);
  }

  /** Whether the resolver has been loaded (questions now skip the wait). */
  get ready(): boolean {
    return this.target !== null;
  }

  /** The resolver's own answer once loaded; before, a promise of it. */
  resolve(q: Parameters<Resolver['resolve']>[0]): Resolution {
    if (this.target !== null) return this.target.resolve(q);
    return { kind: 'asked', answer: this.loaded.then((r) => settled(r.resolve(q))) };
  }
}

/** A resolution as one answer: a question over forward-max while waiting is answered SERVFAIL, as it would have been at once. */
function settled(r: Resolution): CachedAnswer | Promise<CachedAnswer> {
  switch (r.kind) {
    case 'cached':
      return r.answer;
    case 'asked':
      return r.answer;
    case 'over-max':
      return OVER_MAX_ANSWER;
  }
}
