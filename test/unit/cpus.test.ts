import { expect } from 'chai';
import { affinityCpus, cgroupQuota, usableCpus } from '../../src/cpus.js';

describe('cgroupQuota', () => {
  const fs = (files: Record<string, string>) => (p: string): string | null => files[p] ?? null;
  const cases: { name: string; files: Record<string, string>; expect: number | null }[] = [
    { name: 'no cgroup files', files: {}, expect: null },
    { name: 'v2 unlimited', files: { '/proc/self/cgroup': '0::/\n', '/sys/fs/cgroup/cpu.max': 'max 100000\n' }, expect: null },
    { name: 'v2 1.5 CPUs', files: { '/proc/self/cgroup': '0::/\n', '/sys/fs/cgroup/cpu.max': '150000 100000\n' }, expect: 1.5 },
    {
      name: 'v2 nested: the smallest ancestor quota wins',
      files: { '/proc/self/cgroup': '0::/a/b\n', '/sys/fs/cgroup/a/b/cpu.max': 'max 100000', '/sys/fs/cgroup/a/cpu.max': '200000 100000', '/sys/fs/cgroup/cpu.max': '300000 100000' },
      expect: 2,
    },
    { name: 'v1 quota', files: { '/sys/fs/cgroup/cpu/cpu.cfs_quota_us': '50000', '/sys/fs/cgroup/cpu/cpu.cfs_period_us': '100000' }, expect: 0.5 },
    { name: 'v1 unlimited (-1)', files: { '/sys/fs/cgroup/cpu/cpu.cfs_quota_us': '-1', '/sys/fs/cgroup/cpu/cpu.cfs_period_us': '100000' }, expect: null },
  ];
  for (const c of cases) it(c.name, () => expect(cgroupQuota(fs(c.files))).to.equal(c.expect));

  it('affinity from Cpus_allowed_list', () => {
    expect(affinityCpus(fs({ '/proc/self/status': 'Name:\tnode\nCpus_allowed_list:\t0-3,8,10-11\n' }))).to.equal(7);
    expect(affinityCpus(fs({}))).to.equal(null);
  });
  it('usableCpus: affinity capped by the quota rounded up', () => {
    expect(usableCpus(fs({ '/proc/self/status': 'Cpus_allowed_list:\t0-7\n', '/proc/self/cgroup': '0::/\n', '/sys/fs/cgroup/cpu.max': '150000 100000' }))).to.equal(2);
    expect(usableCpus(fs({ '/proc/self/status': 'Cpus_allowed_list:\t1\n', '/proc/self/cgroup': '0::/\n', '/sys/fs/cgroup/cpu.max': '200000 100000' }))).to.equal(1);
  });
  it('usableCpus rounds a quota up and never goes below 1', () => {
    expect(usableCpus(fs({ '/proc/self/cgroup': '0::/\n', '/sys/fs/cgroup/cpu.max': '10000 100000' }))).to.equal(1);
    expect(usableCpus(fs({}))).to.be.at.least(1);
  });
});
