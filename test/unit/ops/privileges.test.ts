import { expect } from 'chai';
import { chownSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dropPrivileges, planPrivileges, prepareStateDir, type RunAs } from '../../../src/ops/privileges.js';
import { parseUserSpec, userSpecProblem } from '../../../src/ops/user-spec.js';
import { ERRNO } from '../../../src/sys/libc.js';
import { FakeLibc } from '../../helpers/fake-libc.js';

/** A fake C library with a small user and group database. */
function system(users: { name: string; uid: number; gid: number }[] = [{ name: 'nobody', uid: 65534, gid: 65534 }, { name: 'daemon', uid: 1, gid: 1 }, { name: 'root', uid: 0, gid: 0 }]): FakeLibc {
  const c = new FakeLibc();
  c.users = users.map((u) => ({ ...u, home: '/nonexistent' }));
  c.groups = [
    { name: 'nogroup', gid: 65534 },
    { name: 'daemon', gid: 1 },
    { name: 'root', gid: 0 },
    { name: 'dns', gid: 53 },
  ];
  return c;
}

describe('--user: its form', () => {
  const cases: [string, { user: string; group: string | null } | null][] = [
    ['shardns', { user: 'shardns', group: null }],
    ['shardns:dns', { user: 'shardns', group: 'dns' }],
    ['10053:10053', { user: '10053', group: '10053' }],
    ['host$', { user: 'host$', group: null }],
    ['', null],
    [':dns', null],
    ['a:b:c', null],
    ['-rf', null],
    ['a b', null],
  ];
  for (const [spec, want] of cases) {
    it(`${JSON.stringify(spec)} → ${JSON.stringify(want)}`, () => {
      expect(parseUserSpec(spec)).to.deep.equal(want);
      expect(userSpecProblem(spec) === null).to.equal(want !== null);
    });
  }
});

describe('planPrivileges', () => {
  type Want = { kind: 'stay'; uid: number } | { kind: 'drop'; target: Partial<RunAs> } | { kind: 'error'; message: RegExp };
  const cases: { name: string; spec: string | null; euid: number; users?: { name: string; uid: number; gid: number }[]; want: Want }[] = [
    { name: 'not root, no --user: stays', spec: null, euid: 1000, want: { kind: 'stay', uid: 1000 } },
    { name: 'root, no --user, shardns exists: drops to shardns', spec: null, euid: 0, users: [{ name: 'shardns', uid: 10053, gid: 10053 }, { name: 'nobody', uid: 65534, gid: 65534 }], want: { kind: 'drop', target: { user: 'shardns', uid: 10053, gid: 10053, why: 'default' } } },
    { name: 'root, no --user, no shardns: drops to nobody', spec: null, euid: 0, want: { kind: 'drop', target: { user: 'nobody', uid: 65534, gid: 65534, group: 'nogroup', why: 'default' } } },
    { name: 'root, no --user, neither exists: refused', spec: null, euid: 0, users: [], want: { kind: 'error', message: /neither shardns nor nobody exists/ } },
    { name: 'root, --user daemon', spec: 'daemon', euid: 0, want: { kind: 'drop', target: { user: 'daemon', uid: 1, gid: 1, group: 'daemon', why: 'given' } } },
    { name: 'root, --user daemon:dns: the group given', spec: 'daemon:dns', euid: 0, want: { kind: 'drop', target: { uid: 1, gid: 53, group: 'dns' } } },
    { name: 'root, numeric ids with no entry (a container)', spec: '10053:10053', euid: 0, want: { kind: 'drop', target: { user: '10053', uid: 10053, gid: 10053, group: '10053' } } },
    { name: 'root, a numeric uid with an entry: its name and group', spec: '65534', euid: 0, want: { kind: 'drop', target: { user: 'nobody', uid: 65534, gid: 65534 } } },
    { name: '--user root: refused', spec: 'root', euid: 0, want: { kind: 'error', message: /that is root, and shardns never answers queries as root/ } },
    { name: '--user 0: refused', spec: '0', euid: 0, want: { kind: 'error', message: /that is root/ } },
    { name: 'an unknown user', spec: 'ghost', euid: 0, want: { kind: 'error', message: /there is no user "ghost"/ } },
    { name: 'an unknown group', spec: 'daemon:ghosts', euid: 0, want: { kind: 'error', message: /there is no group "ghosts"/ } },
    { name: 'not root, --user naming ourselves: stays', spec: 'daemon', euid: 1, want: { kind: 'stay', uid: 1 } },
    { name: 'not root, --user naming another: refused', spec: 'daemon', euid: 65534, want: { kind: 'error', message: /only root can switch to another user, and this process runs as uid 65534/ } },
    { name: 'malformed', spec: 'a:b:c', euid: 0, want: { kind: 'error', message: /--user: must be NAME or NAME:GROUP/ } },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const plan = planPrivileges(c.spec, c.euid, system(c.users));
      expect(plan.kind).to.equal(c.want.kind);
      if (c.want.kind === 'stay' && plan.kind === 'stay') expect(plan.uid).to.equal(c.want.uid);
      if (c.want.kind === 'drop' && plan.kind === 'drop') expect(plan.target).to.deep.include(c.want.target);
      if (c.want.kind === 'error' && plan.kind === 'error') expect(plan.error.message).to.match(c.want.message);
    });
  }
});

describe('dropPrivileges', () => {
  const target: RunAs = { user: 'nobody', uid: 65534, gid: 65534, group: 'nogroup', why: 'default' };
  const ids = (): { uid: number; euid: number; gid: number; egid: number } => ({ uid: 65534, euid: 65534, gid: 65534, egid: 65534 });

  it('sets the groups, then the group, then the user (after setuid nothing else could be changed)', () => {
    const c = system();
    expect(dropPrivileges(target, c, ids)).to.deep.equal({ kind: 'ok' });
    expect(c.privilegeCalls).to.deep.equal(['setgroups 65534', 'setgid 65534', 'setuid 65534']);
  });

  it('a refused call stops the drop and says which, with what to do', () => {
    const c = system();
    c.failPrivilege = { setgroups: ERRNO.EPERM };
    const r = dropPrivileges(target, c, ids);
    expect(c.privilegeCalls).to.deep.equal(['setgroups 65534']);
    expect(r.kind).to.equal('error');
    if (r.kind === 'error') {
      expect(r.error.message).to.equal('cannot drop privileges to nobody (uid 65534, gid 65534 nogroup): setgroups(65534) failed: operation not permitted (errno 1)');
      expect(r.error.hint).to.include('CAP_SETUID/CAP_SETGID');
    }
  });

  it('checks the ids afterwards', () => {
    const r = dropPrivileges(target, system(), () => ({ uid: 65534, euid: 0, gid: 65534, egid: 65534 }));
    expect(r.kind).to.equal('error');
  });
});

describe('prepareStateDir', function () {
  let dir: string;
  const me = process.getuid?.() ?? 0;
  const target = (uid: number): RunAs => ({ user: 'u', uid, gid: process.getgid?.() ?? 0, group: 'g', why: 'given' });
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'shardns-prep-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('creates a missing folder, mode 0750', () => {
    const state = join(dir, 'a', 'state');
    expect(prepareStateDir(state, target(me))).to.deep.equal({ kind: 'ok' });
    expect(statSync(state).mode & 0o777).to.equal(0o750);
  });

  it('a folder of shardns (images/ in it) owned by another is handed over with its files; a shared one is refused', function () {
    if (me !== 0) {
      console.log('      skip: not root: cannot chown');
      this.skip();
    }
    const ours = join(dir, 'ours');
    mkdirSync(join(ours, 'images'), { recursive: true });
    writeFileSync(join(ours, 'images', 'x.v2.zimg'), 'x');
    expect(prepareStateDir(ours, target(65534))).to.deep.equal({ kind: 'ok' });
    expect([statSync(ours).uid, statSync(join(ours, 'images')).uid, statSync(join(ours, 'images', 'x.v2.zimg')).uid]).to.deep.equal([65534, 65534, 65534]);

    const shared = join(dir, 'shared');
    mkdirSync(shared);
    writeFileSync(join(shared, 'notes.txt'), 'x');
    chownSync(shared, 0, 0);
    const r = prepareStateDir(shared, target(65534));
    expect(r.kind).to.equal('error');
    if (r.kind === 'error') expect(r.error.message).to.include("holds files that are not shardns's (notes.txt)");
    expect(statSync(shared).uid).to.equal(0);
  });
});
