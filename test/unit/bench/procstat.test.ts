import { expect } from 'chai';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ProcessGroups } from '../../../bench/processes.js';
import {
  busyCores,
  clockTicks,
  cpuSecondsBetween,
  groupMemoryMB,
  groupPids,
  groupStats,
  medianMemory,
  parseRollup,
  parseSmapsPss,
  pssByMapping,
  parseStat,
  parseSystemCpu,
  sampleCpu,
} from '../../../bench/procstat.js';

/** A stat line as the kernel writes it, with the fields the benchmark reads set. */
function statLine(pid: number, comm: string, state: string, pgrp: number, utime: number, stime: number): string {
  // pid (comm) state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime cutime cstime …
  return `${pid} (${comm}) ${state} 1 ${pgrp} ${pgrp} 0 -1 4194560 100 0 0 0 ${utime} ${stime} 7 8 20 0 1 0 12345 1000000 200 18446744073709551615\n`;
}

describe('bench /proc accounting', () => {
  it('parses a stat line whose command name holds spaces and parentheses', () => {
    const s = parseStat(statLine(4242, 'shardns (worker) 0)', 'S', 4240, 1500, 250));
    expect(s).to.deep.equal({ pid: 4242, comm: 'shardns (worker) 0)', state: 'S', ppid: 1, pgrp: 4240, utime: 1500, stime: 250 });
  });

  it('parses this process\'s own stat line', () => {
    const s = parseStat(readFileSync('/proc/self/stat', 'utf8'));
    expect(s.pid).to.equal(process.pid);
    expect(s.utime + s.stime).to.be.greaterThan(0);
  });

  it('rejects what is not a stat line', () => {
    expect(() => parseStat('hello')).to.throw(/not a \/proc stat line/);
  });

  it('adds CPU per process between samples: a new process counts in full, an exited one never goes negative', () => {
    const before = new Map([[10, 100], [11, 50], [12, 70]]);
    const after = new Map([[10, 180], [11, 50], [13, 30]]); // 12 exited, 13 started
    expect(cpuSecondsBetween(before, after, 100)).to.be.closeTo(1.1, 1e-9);
    // Reversed: 12 looks new (0.7 s), 10 went backwards and counts 0, not -0.8.
    expect(cpuSecondsBetween(after, before, 100)).to.be.closeTo(0.7, 1e-9);
  });

  it('reads groups, user+system time and memory from a /proc tree (fake)', () => {
    const root = mkdtempSync(join(tmpdir(), 'bench-proc-'));
    try {
      const put = (pid: number, stat: string, rssKb: number, hwmKb: number): void => {
        mkdirSync(join(root, String(pid)));
        writeFileSync(join(root, String(pid), 'stat'), stat);
        writeFileSync(join(root, String(pid), 'status'), `Name:\tx\nVmHWM:\t  ${hwmKb} kB\nVmRSS:\t  ${rssKb} kB\n`);
        writeFileSync(join(root, String(pid), 'smaps_rollup'), `Rss:  ${rssKb} kB\nPss:  ${rssKb / 2} kB\n`);
      };
      put(100, statLine(100, 'supervisor', 'S', 100, 10, 5), 1024, 2048);
      put(101, statLine(101, 'worker 0', 'R', 100, 300, 100), 2048, 4096);
      put(102, statLine(102, 'worker 1', 'Z', 100, 9, 9), 0, 0);
      put(200, statLine(200, 'other', 'S', 200, 1, 1), 512, 512);
      mkdirSync(join(root, 'self'));
      writeFileSync(join(root, 'stat'), 'cpu  1 2 3 4\n');
      expect(groupPids(100, root).sort()).to.deep.equal([100, 101]);
      expect(groupStats(100, root).map((s) => s.comm).sort()).to.deep.equal(['supervisor', 'worker 0']);
      expect([...sampleCpu(100, root)]).to.have.deep.members([[100, 15], [101, 400]]);
      expect(groupMemoryMB(100, root)).to.deep.equal({ rssMB: 3, peakMB: 6, pssMB: 1.5 });
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  it('sees the CPU a busy process group burns', async function () {
    this.timeout(10_000);
    const g2 = new ProcessGroups();
    const busy = g2.spawn('busy', process.execPath, ['-e', 'const e = Date.now() + 5000; while (Date.now() < e);']);
    try {
      const a = sampleCpu(busy.pgid);
      await new Promise((r) => setTimeout(r, 700));
      const b = sampleCpu(busy.pgid);
      // One busy thread for 0.7 s: some CPU, never more than the wall time (less when the machine is loaded).
      expect(cpuSecondsBetween(a, b, clockTicks())).to.be.within(0.05, 0.8);
    } finally {
      await g2.stopAll();
    }
  });

  it('reads the machine\'s busy CPUs from /proc/stat', () => {
    const a = parseSystemCpu('cpu  100 0 100 700 100 0 0 0 0 0\ncpu0 1 2 3 4\n');
    expect(a).to.deep.equal({ busy: 200, total: 1000 });
    const b = parseSystemCpu('cpu  300 0 200 800 100 0 0 0 0 0\n');
    expect(busyCores(a, b, 2)).to.be.closeTo(1.5, 1e-9);
    expect(() => parseSystemCpu('nothing')).to.throw(/cpu/);
  });

  it('reads Pss and its parts from smaps_rollup, not Pss_Dirty or the parts for Pss', () => {
    const text = [
      '55d2c8a4e000-7ffd5a1fe000 ---p 00000000 00:00 0                          [rollup]',
      'Rss:              149452 kB',
      'Pss:               52710 kB',
      'Pss_Dirty:         40124 kB',
      'Pss_Anon:          39880 kB',
      'Pss_File:          12586 kB',
      'Pss_Shmem:           244 kB',
      'Shared_Clean:     101560 kB',
      '',
    ].join('\n');
    expect(parseRollup(text)).to.deep.equal({ pss: 52710, anon: 39880, file: 12586, shmem: 244 });
    // Older kernels: no parts. No Pss line at all: null (the caller falls back to RSS).
    const old = parseRollup('Pss_Dirty:  10 kB\nPss:   321 kB\nRss: 500 kB\n');
    expect(old).to.deep.equal({ pss: 321 });
    expect(parseRollup('Rss: 500 kB\nPss_Anon: 3 kB\n')).to.equal(null);
    const self = parseRollup(readFileSync('/proc/self/smaps_rollup', 'utf8'));
    expect(self!.pss).to.be.greaterThan(1000);
    expect(self!.private, 'private pages of this process').to.be.greaterThan(1000);
    expect(parseRollup('Pss: 900 kB\nPrivate_Clean:  20 kB\nPrivate_Dirty:  700 kB\n')).to.deep.equal({ pss: 900, private: 720 });
  });

  it('takes the median of several readings of a group, a part only when every reading had it', () => {
    const reads = [
      { rssMB: 10, peakMB: 12, pssMB: 7, privateMB: 5 },
      { rssMB: 14, peakMB: 12, pssMB: 9, privateMB: 6 },
      { rssMB: 11, peakMB: 13, pssMB: 8 },
    ];
    expect(medianMemory(reads)).to.deep.equal({ rssMB: 11, peakMB: 12, pssMB: 8 });
    expect(medianMemory(reads.slice(0, 2))).to.deep.equal({ rssMB: 12, peakMB: 12, pssMB: 8, privateMB: 5.5 });
  });

  it('sums PSS and its parts over a group; counts processes whose PSS fell back to RSS', () => {
    const root = mkdtempSync(join(tmpdir(), 'bench-pss-'));
    try {
      const put = (pid: number, rssKb: number, rollup: string | null): void => {
        mkdirSync(join(root, String(pid)));
        writeFileSync(join(root, String(pid), 'stat'), statLine(pid, 'w', 'S', 300, 1, 1));
        writeFileSync(join(root, String(pid), 'status'), `VmHWM:\t${rssKb} kB\nVmRSS:\t${rssKb} kB\n`);
        if (rollup !== null) writeFileSync(join(root, String(pid), 'smaps_rollup'), rollup);
      };
      put(300, 2048, 'Pss: 1024 kB\nPss_Anon: 512 kB\nPss_File: 512 kB\nPss_Shmem: 0 kB\n');
      put(301, 4096, 'Pss: 2048 kB\nPss_Anon: 1024 kB\nPss_File: 1024 kB\nPss_Shmem: 0 kB\n');
      expect(groupMemoryMB(300, root)).to.deep.equal({ rssMB: 6, peakMB: 6, pssMB: 3, pssAnonMB: 1.5, pssFileMB: 1.5, pssShmemMB: 0 });
      put(302, 1024, null);
      // One process without smaps_rollup: its RSS stands in, and the parts are no longer complete.
      expect(groupMemoryMB(300, root)).to.deep.equal({ rssMB: 7, peakMB: 7, pssMB: 4, pssFromRss: 1 });
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});

describe('bench PSS by kind of mapping (smaps)', () => {
  it('sums Pss lines into the brk heap, anonymous, file and other mappings', () => {
    const text = [
      '55d0c0000000-55d0c1000000 r-xp 00000000 08:01 1234 /usr/bin/node',
      'Size:              16384 kB',
      'Pss:                3000 kB',
      'Pss_Dirty:           10 kB',
      '55d0c2000000-55d0c3000000 rw-p 00000000 00:00 0                          [heap]',
      'Pss:                7000 kB',
      '7f0000000000-7f0000040000 rw-p 00000000 00:00 0 ',
      'Pss:                 256 kB',
      '7f0000100000-7f0000140000 rw-p 00000000 00:00 0',
      'Pss:                 100 kB',
      '7f0000200000-7f0000300000 r--s 00000000 08:01 99 /var/lib/shardns/images/zone-1.img (deleted)',
      'Pss:                  50 kB',
      '7ffd00000000-7ffd00021000 rw-p 00000000 00:00 0                          [stack]',
      'Pss:                  40 kB',
    ].join('\n');
    expect(parseSmapsPss(text)).to.deep.equal({ brkKb: 7000, anonKb: 356, fileKb: 3050, otherKb: 40 });
  });

  it("adds up to this process's own smaps_rollup Pss", () => {
    const parts = pssByMapping(process.pid);
    expect(parts).to.not.equal(null);
    const rollup = parseRollup(readFileSync('/proc/self/smaps_rollup', 'utf8'))!;
    const sum = parts!.brkKb + parts!.anonKb + parts!.fileKb + parts!.otherKb;
    expect(parts!.anonKb + parts!.brkKb).to.be.greaterThan(0);
    // Read at two moments: the process may have touched a few pages in between.
    expect(Math.abs(sum - rollup.pss)).to.be.lessThan(rollup.pss * 0.05);
  });

  it('gives null for a process that is gone', () => {
    expect(pssByMapping(2 ** 22 + 1)).to.equal(null);
  });
});
