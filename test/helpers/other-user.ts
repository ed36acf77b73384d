/** Runs a small bind attempt as another user (uid nobody), to test who may share our port. */

import { spawnSync } from 'node:child_process';
import { ROOT } from './server.js';

/** The uid tests use as "another user". */
export const NOBODY = 65534;

/** Why other-user tests cannot run here, or null when they can (we are root). */
export function otherUserUnavailable(): string | null {
  return process.getuid?.() === 0 ? null : 'not root: cannot start a process as another user (run the suite as root, as .ci/run does in CI)';
}

/**
 * Tries, as uid 65534, to bind UDP `host:port` the way a hijacker would:
 * `reuseaddr` = Node's dgram with SO_REUSEADDR; `reuseport` = our own
 * SO_REUSEPORT socket. Returns "bound" or the error code.
 */
export function bindAsOtherUser(how: 'reuseaddr' | 'reuseport' | 'plain', host: string, port: number): string {
  const script =
    how === 'reuseport'
      ? `import('${ROOT}dist/src/net/reuseport.js').then(m => { const r = m.openReusePortSocket({ address: '${host}', port: ${port}, transport: 'udp' }); console.log(r.ok ? 'bound' : r.error.code); })`
      : `const s = require('dgram').createSocket({ type: '${host.includes(':') ? 'udp6' : 'udp4'}', reuseAddr: ${how === 'reuseaddr'} });
         s.on('error', e => { console.log(e.code); process.exit(0); });
         s.bind(${port}, '${host}', () => { console.log('bound'); s.close(); });`;
  const r = spawnSync(process.execPath, ['-e', script], { uid: NOBODY, gid: NOBODY, encoding: 'utf8', timeout: 10_000 });
  return (r.stdout || r.stderr).trim();
}
