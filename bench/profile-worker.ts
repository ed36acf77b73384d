/**
 * A CPU profile of a running Node process (a shardns worker under load)
 * through its inspector, written as a .cpuprofile for bench/cpuprofile-top.ts:
 *
 *   node dist/bench/profile-worker.js PID PORT [SECONDS] [OUT.cpuprofile]
 *
 * The process must have been started with `--inspect-port=127.0.0.1:PORT`
 * (for a shardns, in NODE_OPTIONS: its workers inherit it); it opens its
 * inspector on SIGUSR1, sent here. `--cpu-prof` is refused in NODE_OPTIONS,
 * and a worker run as another user writes its profile only when it exits
 * cleanly: this needs neither.
 */

import { writeFileSync } from 'node:fs';
import { cpuProfile } from './inspector.js';

const [pidArg, portArg, secondsArg, outArg] = process.argv.slice(2);
if (pidArg === undefined || portArg === undefined) {
  console.error('usage: profile-worker PID PORT [SECONDS] [OUT.cpuprofile]');
  process.exit(2);
}
const seconds = Number(secondsArg ?? 5);
const out = outArg ?? `worker-${pidArg}.cpuprofile`;
const r = await cpuProfile(Number(pidArg), Number(portArg), seconds * 1000);
if (r.kind === 'error') {
  console.error(`profile-worker: ${r.message}`);
  process.exit(1);
}
writeFileSync(out, JSON.stringify(r.profile));
console.log(`profile-worker: ${seconds} s of pid ${pidArg} written to ${out}`);
