/** Who the server runs as: the user and group to drop to (`--user NAME[:GROUP]`, or a default when started as root), the drop itself (setgroups, setgid, setuid through src/sys/libc.ts), and the state directory made that user's. */

import { accessSync, constants, lchownSync, lstatSync, mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { ZoneConfig } from '../config.js';
import { ShardnsError } from '../errors.js';
import { ERRNO, libc as realLibc, type Libc } from '../sys/libc.js';
import { DIR_MODE, IMAGES_DIR, MANIFESTS_DIR, probeStateDir } from '../zone/image/store.js';
import { parseUserSpec, userSpecProblem } from './user-spec.js';

/** Users tried, in order, when root starts the server without `--user`. */
export const DEFAULT_USERS = ['shardns', 'nobody'] as const;

/** The user and group the server drops to. */
export interface RunAs {
  user: string;
  uid: number;
  group: string;
  gid: number;
  /** `given` by --user, or the `default` for a server started as root without it. */
  why: 'given' | 'default';
}

/**
 * What to do about privileges: `stay` (not root: nothing to drop; already
 * the user asked for), `drop` to a user, or why the server must not start.
 */
export type PrivilegePlan = { kind: 'stay'; uid: number } | { kind: 'drop'; target: RunAs } | { kind: 'error'; error: ShardnsError };

/** A step that worked, or why not. */
export type StepOutcome = { kind: 'ok' } | { kind: 'error'; error: ShardnsError };

/**
 * Works out who to run as. `spec` is `--user` (null when not given), `euid`
 * the effective uid we started with. Started as root, the server always
 * drops: to the user given, or to the first of {@link DEFAULT_USERS} that
 * exists; root itself is refused (nothing answers queries as root). Started
 * as another user, it stays that user; `--user` naming someone else is an
 * error (only root can switch).
 */
export function planPrivileges(spec: string | null, euid: number, c: Libc = realLibc): PrivilegePlan {
  if (spec === null) {
    if (euid !== 0) return { kind: 'stay', uid: euid };
    for (const name of DEFAULT_USERS) {
      const u = c.getpwnam(name);
      if (u !== null && u.uid !== 0) return { kind: 'drop', target: { user: u.name, uid: u.uid, gid: u.gid, group: c.getgrgid(u.gid)?.name ?? String(u.gid), why: 'default' } };
    }
    return {
      kind: 'error',
      error: new ShardnsError(
        'E_USER',
        `started as root without --user, and neither ${DEFAULT_USERS.join(' nor ')} exists to run as`,
        'create a system user for the server (useradd --system --no-create-home --shell /usr/sbin/nologin shardns), or give one with --user NAME[:GROUP]',
      ),
    };
  }
  const parts = parseUserSpec(spec);
  if (parts === null) return { kind: 'error', error: new ShardnsError('E_USER', `--user: ${userSpecProblem(spec)}`, 'e.g. --user shardns or --user shardns:shardns') };
  const userPart = parts.user;
  const groupPart = parts.group ?? undefined;
  const byName = c.getpwnam(userPart);
  const numericUid = /^\d+$/.test(userPart) ? Number(userPart) : null;
  const entry = byName ?? (numericUid !== null ? c.getpwuid(numericUid) : null);
  if (entry === null && numericUid === null) {
    return { kind: 'error', error: new ShardnsError('E_USER', `--user: there is no user "${userPart}" on this system`, `create it (useradd --system --no-create-home --shell /usr/sbin/nologin ${userPart}), or name another (getent passwd lists them)`) };
  }
  const uid = entry?.uid ?? numericUid!;
  if (uid === 0) {
    return { kind: 'error', error: new ShardnsError('E_USER', `--user ${spec}: that is root, and shardns never answers queries as root`, 'give an unprivileged user, e.g. --user nobody; the sockets are bound before the drop, so port 53 still works') };
  }
  let gid = entry?.gid ?? uid;
  let group = c.getgrgid(gid)?.name ?? String(gid);
  if (groupPart !== undefined) {
    const g = c.getgrnam(groupPart) ?? (/^\d+$/.test(groupPart) ? { name: groupPart, gid: Number(groupPart) } : null);
    if (g === null) return { kind: 'error', error: new ShardnsError('E_USER', `--user ${spec}: there is no group "${groupPart}" on this system`, 'name an existing group (getent group lists them), or leave ":GROUP" out to use the user\'s own') };
    gid = g.gid;
    group = c.getgrgid(g.gid)?.name ?? g.name;
  }
  const target: RunAs = { user: entry?.name ?? userPart, uid, gid, group, why: 'given' };
  if (euid === 0) return { kind: 'drop', target };
  if (euid === uid) return { kind: 'stay', uid };
  return {
    kind: 'error',
    error: new ShardnsError('E_USER', `--user ${spec}: only root can switch to another user, and this process runs as uid ${euid}`, `start shardns as root (it binds, then drops to ${target.user}), or start it as ${target.user} without --user`),
  };
}

/**
 * Drops root for good: supplementary groups to the one group, then the
 * group, then the user (real, effective and saved ids; the order matters:
 * after setuid nothing else may be changed). With a uid other than 0 the
 * kernel clears every capability. Checked afterwards: the ids are the
 * target's.
 */
export function dropPrivileges(target: RunAs, c: Libc = realLibc, ids: () => { uid: number; euid: number; gid: number; egid: number } = currentIds): StepOutcome {
  const steps: [string, () => ReturnType<Libc['setuid']>][] = [
    [`setgroups(${target.gid})`, () => c.setgroups([target.gid])],
    [`setgid(${target.gid})`, () => c.setgid(target.gid)],
    [`setuid(${target.uid})`, () => c.setuid(target.uid)],
  ];
  for (const [what, call] of steps) {
    const r = call();
    if (r.kind === 'errno') {
      const hint =
        r.errno === ERRNO.EPERM
          ? 'this root lacks CAP_SETUID/CAP_SETGID (a container run with --cap-drop ALL?): run the server as the user directly instead (docker/podman --user 10053:10053, with the port-53 sysctl), or keep those capabilities'
          : 'this is unexpected; please report it';
      return { kind: 'error', error: new ShardnsError('E_USER', `cannot drop privileges to ${describeRunAs(target)}: ${what} failed: ${c.strerror(r.errno).toLowerCase()} (errno ${r.errno})`, hint) };
    }
  }
  const now = ids();
  if (now.uid !== target.uid || now.euid !== target.uid || now.gid !== target.gid || now.egid !== target.gid) {
    return { kind: 'error', error: new ShardnsError('E_USER', `after dropping privileges the process runs as uid ${now.uid}/${now.euid}, gid ${now.gid}/${now.egid}, not ${describeRunAs(target)}`, 'this is unexpected; please report it') };
  }
  return { kind: 'ok' };
}

/** `nobody (uid 65534, gid 65534 nogroup)` */
export function describeRunAs(t: RunAs): string {
  return `${t.user} (uid ${t.uid}, gid ${t.gid}${t.group !== String(t.gid) ? ` ${t.group}` : ''})`;
}

/** The log line that says who the server now runs as, and why. */
export function droppedMessage(t: RunAs): string {
  return t.why === 'default'
    ? `started as root without --user: running as ${describeRunAs(t)} from now on; give --user NAME[:GROUP] to choose the user`
    : `running as ${describeRunAs(t)} from now on (--user)`;
}

function currentIds(): { uid: number; euid: number; gid: number; egid: number } {
  return { uid: process.getuid?.() ?? -1, euid: process.geteuid?.() ?? -1, gid: process.getgid?.() ?? -1, egid: process.getegid?.() ?? -1 };
}

/**
 * Makes the state directory the serving user's, as root, before the drop:
 * creates it (mode 0750) when missing, and when another user owns it (an
 * earlier server run as root built images there), hands it over with
 * everything in it — but only when it is shardns's: empty, or holding its
 * images/ or manifests/ folder. A shared folder given by mistake (/tmp,
 * /var/lib) is refused, not taken over. `extra` names entries that may be
 * there already besides (the control socket).
 */
export function prepareStateDir(dir: string, target: RunAs, extra: readonly string[] = []): StepOutcome {
  try {
    mkdirSync(dir, { recursive: true, mode: DIR_MODE });
    const verdict = stateDirVerdict(dir, target, extra);
    if (verdict.kind === 'error') return verdict;
    if (verdict.handOver) chownTree(dir, target.uid, target.gid);
    return { kind: 'ok' };
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    return { kind: 'error', error: new ShardnsError('E_STATE_DIR', `cannot make state directory ${dir} ${target.user}'s: ${e.code ?? e.message}${e.path ? ` (${e.path})` : ''}`, ownHint(dir, target)) };
  }
}

/**
 * For `shardns check` run as root: whether {@link prepareStateDir} would
 * make the state directory `target`'s (missing: root creates it), without
 * creating or changing anything.
 */
export function stateDirWouldServe(dir: string, target: RunAs, extra: readonly string[] = []): StepOutcome {
  try {
    lstatSync(dir);
  } catch {
    // Not there: root creates it (a file in the way, or no folder to create it in, is said as for anyone).
    const probed = probeStateDir(dir);
    return probed.kind === 'error' ? probed : { kind: 'ok' };
  }
  try {
    const verdict = stateDirVerdict(dir, target, extra);
    return verdict.kind === 'error' ? verdict : { kind: 'ok' };
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    return { kind: 'error', error: new ShardnsError('E_STATE_DIR', `cannot read state directory ${dir}: ${e.code ?? e.message}`, ownHint(dir, target)) };
  }
}

function ownHint(dir: string, target: RunAs): string {
  return `make a folder for it: install -d -m 0750 -o ${target.user} -g ${target.group} ${dir}, or choose another with --state-dir`;
}

/** An existing state directory: the user's already, to be handed over (shardns's: empty, or holding images/ or manifests/), or refused. */
function stateDirVerdict(dir: string, target: RunAs, extra: readonly string[]): { kind: 'ok'; handOver: boolean } | { kind: 'error'; error: ShardnsError } {
  const st = lstatSync(dir);
  if (!st.isDirectory()) return { kind: 'error', error: new ShardnsError('E_STATE_DIR', `state directory ${dir} is not a folder`, ownHint(dir, target)) };
  if (st.uid === target.uid) return { kind: 'ok', handOver: false };
  const names = readdirSync(dir);
  const ours = names.includes(IMAGES_DIR) || names.includes(MANIFESTS_DIR) || names.every((n) => extra.includes(n));
  if (ours) return { kind: 'ok', handOver: true };
  const shown = names.slice(0, 5).join(', ') + (names.length > 5 ? ', …' : '');
  return {
    kind: 'error',
    error: new ShardnsError('E_STATE_DIR', `state directory ${dir} belongs to uid ${st.uid}, not to ${describeRunAs(target)} that the server runs as, and holds files that are not shardns's (${shown}): it is not handed over`, ownHint(dir, target)),
  };
}

/** lchown of a folder and everything below it (symbolic links themselves, never what they point at). */
function chownTree(path: string, uid: number, gid: number): void {
  lchownSync(path, uid, gid);
  if (!lstatSync(path).isDirectory()) return;
  for (const n of readdirSync(path)) chownTree(join(path, n), uid, gid);
}

/**
 * After the drop: every zone file must be readable by the user the server
 * now runs as (the builder reads them as that user). One problem per file
 * that is not, saying what to do.
 */
export function unreadableZones(zones: readonly ZoneConfig[], who: string): string[] {
  const problems: string[] = [];
  for (const z of zones) {
    try {
      accessSync(z.file, constants.R_OK);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'EACCES' && code !== 'EPERM') continue; // missing and other problems: the builder says them, with the line
      problems.push(
        `zone ${z.name}: ${z.file} cannot be read by ${who}, the user the server runs as (${code}): make it readable (chmod o+r, or chgrp to the server's group and chmod g+r; every folder above it needs x for that user too), or choose the user with --user`,
      );
    }
  }
  return problems;
}
