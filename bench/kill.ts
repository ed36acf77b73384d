/** Queries lost when a worker dies or stalls under load: kill -9 of one of 4 workers, and SIGSTOP of one for 4 s with --worker-timeout 1, under dnsperf at 20,000 queries a second. `node dist/bench/kill.js [--rounds 3] [--qps 20000] [--duration 20] [--workers 4]` */

import { childPids, measure, option, report, ROOT, type RunResult } from './disruption.js';

const argv = process.argv.slice(2);
const rounds = Number(option(argv, 'rounds', '3'));
const base = {
  workers: Number(option(argv, 'workers', '4')),
  qps: Number(option(argv, 'qps', '20000')),
  durationSec: Number(option(argv, 'duration', '20')),
  atSec: 8,
  clients: 64,
};
const bin = `${ROOT}bin/shardns.js`;

const kills: { label: string; r: RunResult }[] = [];
const stops: { label: string; r: RunResult }[] = [];
for (let i = 1; i <= rounds; i++) {
  process.stderr.write(`round ${i}: kill -9 of one worker\n`);
  kills.push({
    label: `kill -9, round ${i}`,
    r: await measure({ ...base, serverArgs: [] }, bin, async (server) => {
      const victim = childPids(server.proc.pid!)[0]!;
      const since = server.mark();
      process.kill(victim, 'SIGKILL');
      const m = await server.waitFor(/ready again/, 10_000, since).catch(() => null);
      return [`worker pid ${victim} killed${m ? '; its replacement serves' : '; NO replacement within 10 s'}`];
    }),
  });
  process.stderr.write(`round ${i}: SIGSTOP of one worker for 4 s (--worker-timeout 1)\n`);
  stops.push({
    label: `SIGSTOP 4 s, round ${i}`,
    r: await measure({ ...base, serverArgs: ['--worker-timeout', '1'] }, bin, async (server) => {
      const victim = childPids(server.proc.pid!)[0]!;
      const since = server.mark();
      process.kill(victim, 'SIGSTOP');
      await new Promise((r) => setTimeout(r, 4000));
      try {
        process.kill(victim, 'SIGCONT');
      } catch {
        /* killed by the supervisor already */
      }
      const killed = /has not answered for ([\d.]+)s; killing it/.exec(server.outputSince(since));
      return [killed ? `the supervisor killed it after ${killed[1]} s silent` : 'not killed by the supervisor'];
    }),
  });
}
process.stdout.write(report(`kill -9 of one of ${base.workers} workers, dnsperf -Q ${base.qps} -c ${base.clients} for ${base.durationSec} s`, kills));
process.stdout.write('\n');
process.stdout.write(report(`SIGSTOP of one of ${base.workers} workers for 4 s, --worker-timeout 1, same load`, stops));
process.exit(0);
