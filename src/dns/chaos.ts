/** Class CH identity answers: which worker answered, and which version runs. */

import type { Answer } from 'dns-packet';

/** What the identity names report. */
export interface Identity {
  /** `worker-2 pid 4711 host ns1`: the worker that received the query. */
  server: string;
  /** `shardns 0.1.0` */
  version: string;
}

/** Outcome of a CH question: the TXT answer, an empty NOERROR, or not ours (REFUSED). */
export type ChaosOutcome = { kind: 'answer'; answers: Answer[] } | { kind: 'nodata' } | { kind: 'refused' };

/**
 * Answers `id.server.` and `hostname.bind.` (RFC 4892 §2 and BIND's older name)
 * with the worker's identity, `version.bind.` and `version.server.` with the
 * version, as NSD and BIND do. Other names in class CH are not ours.
 */
export function chaosAnswer(qname: string, qtype: string, identity: Identity): ChaosOutcome {
  const name = qname.toLowerCase().replace(/\.$/, '');
  let text: string;
  switch (name) {
    case 'id.server':
    case 'hostname.bind':
      text = identity.server;
      break;
    case 'version.bind':
    case 'version.server':
      text = identity.version;
      break;
    default:
      return { kind: 'refused' };
  }
  if (qtype !== 'TXT' && qtype !== 'ANY') return { kind: 'nodata' };
  return { kind: 'answer', answers: [{ name: qname, type: 'TXT', class: 'CH', ttl: 0, data: [text] }] };
}
