/** Queries lost during a zero-downtime upgrade under load: `shardns ctl upgrade` to a newly installed version while dnsperf sends 20,000 queries a second; how long until the new version's version.bind answers, where that time went (the server's log, at debug level, as milestones), and the longest pause of answers. `node dist/bench/upgrade.js [--rounds 3] [--qps 20000] [--duration 20] [--workers 4] [--session-nice N]` (`--session-nice`: on a machine shared with other work, as root, the nice of the sessions of the bench, shardns and dnsperf; see disruption.ts) */

import { execFile } from 'node:child_process';
import { rmSync } from 'node:fs';
import { installCopy, measure, option, report, setInstalledVersion, versionProbe, type RunResult } from './disruption.js';
import { formatTimeline, upgradeTimeline } from './upgrade-timeline.js';

const argv = process.argv.slice(2);
const rounds = Number(option(argv, 'rounds', '3'));
const base = {
  workers: Number(option(argv, 'workers', '4')),
  qps: Number(option(argv, 'qps', '20000')),
  durationSec: Number(option(argv, 'duration', '20')),
  atSec: 8,
  clients: 64,
  // Debug: the new workers' `ready on` lines, and the build's, are the timeline's milestones.
  serverArgs: ['--log-level', 'debug'],
  ...(argv.includes('--session-nice') ? { sessionNice: Number(option(argv, 'session-nice', '0')) } : {}),
};

const runs: { label: string; r: RunResult }[] = [];
/** Per round: ms from `ctl upgrade` to the new version's version.bind (null: never), and the timeline. */
const perRound: { newVersionMs: number | null; timeline: string }[] = [];
for (let i = 1; i <= rounds; i++) {
  process.stderr.write(`round ${i}: shardns ctl upgrade\n`);
  const dir = installCopy('0.0.1-before');
  try {
    const bin = `${dir}/bin/shardns.js`;
    runs.push({
      label: `upgrade, round ${i}`,
      r: await measure(base, bin, async (server, port, stateDir) => {
        const next = `0.0.2-round${i}`;
        setInstalledVersion(dir, next);
        const probe = versionProbe(port, 5);
        const mark = server.mark();
        const t0 = Date.now();
        // Not spawnSync: the version.bind probe runs on this event loop meanwhile.
        const ctl = await new Promise<{ status: number; stdout: string; stderr: string }>((resolve) =>
          execFile(process.execPath, [bin, 'ctl', 'upgrade', '--state-dir', stateDir], { timeout: 60_000 }, (err, stdout, stderr) =>
            resolve({ status: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr }),
          ),
        );
        const ctlMs = Date.now() - t0;
        await new Promise((r) => setTimeout(r, 3000));
        const seen = probe.stop();
        const first = seen.firstAt(`shardns ${next}`);
        const timeline = upgradeTimeline(server.outputSince(mark), t0);
        if (first !== null) timeline.push({ step: 'new version.bind answered', ms: first - t0, detail: '' });
        timeline.push({ step: 'ctl upgrade exits', ms: ctlMs, detail: `exit ${ctl.status}` });
        timeline.sort((a, b) => a.ms - b.ms);
        perRound.push({ newVersionMs: first === null ? null : first - t0, timeline: formatTimeline(timeline) });
        return [
          `ctl upgrade: exit ${ctl.status} after ${ctlMs} ms: ${(ctl.stdout.trim() || ctl.stderr.trim()).split(';')[0]}`,
          first === null ? 'the new version never answered' : `new version.bind answered ${first - t0} ms after ctl upgrade`,
          `longest pause of version.bind answers around the upgrade ${seen.longestGapMs} ms`,
        ];
      }),
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
process.stdout.write(report(`shardns ctl upgrade with ${base.workers} workers, dnsperf -Q ${base.qps} -c ${base.clients} for ${base.durationSec} s${base.sessionNice !== undefined ? `, sessions at nice ${base.sessionNice}` : ''}`, runs));
process.stdout.write(`\nnew version.bind after ctl upgrade (ms): ${perRound.map((r) => r.newVersionMs ?? 'never').join(', ')}\n`);
process.stdout.write('\nWhere the time went (ms since ctl upgrade was started, from the server\'s log):\n\n');
perRound.forEach((r, i) => process.stdout.write(`- round ${i + 1}: ${r.timeline}\n`));
process.exit(0);
