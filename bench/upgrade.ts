/** Queries lost during a zero-downtime upgrade under load: `shardns ctl upgrade` to a newly installed version while dnsperf sends 20,000 queries a second; how long until the new version's version.bind answers, and the longest pause of answers. `node dist/bench/upgrade.js [--rounds 3] [--qps 20000] [--duration 20] [--workers 4]` */

import { execFile } from 'node:child_process';
import { rmSync } from 'node:fs';
import { installCopy, measure, option, report, setInstalledVersion, versionProbe, type RunResult } from './disruption.js';

const argv = process.argv.slice(2);
const rounds = Number(option(argv, 'rounds', '3'));
const base = {
  workers: Number(option(argv, 'workers', '4')),
  qps: Number(option(argv, 'qps', '20000')),
  durationSec: Number(option(argv, 'duration', '20')),
  atSec: 8,
  clients: 64,
  serverArgs: [],
};

const runs: { label: string; r: RunResult }[] = [];
for (let i = 1; i <= rounds; i++) {
  process.stderr.write(`round ${i}: shardns ctl upgrade\n`);
  const dir = installCopy('0.0.1-before');
  try {
    const bin = `${dir}/bin/shardns.js`;
    runs.push({
      label: `upgrade, round ${i}`,
      r: await measure(base, bin, async (_server, port, stateDir) => {
        const next = `0.0.2-round${i}`;
        setInstalledVersion(dir, next);
        const probe = versionProbe(port, 5);
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
process.stdout.write(report(`shardns ctl upgrade with ${base.workers} workers, dnsperf -Q ${base.qps} -c ${base.clients} for ${base.durationSec} s`, runs));
process.exit(0);
