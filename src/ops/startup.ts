/** The supervisor's start-up before any zone is read or query answered: the listening sockets (opened, or taken over in an upgrade), the state directory and the control socket made the serving user's, then the privilege drop. */

import { mkdirSync, statSync } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import type { Config } from '../config.js';
import { ShardnsError } from '../errors.js';
import { libc as realLibc, type Libc } from '../sys/libc.js';
import { bindControlSocket, controlPath, CONTROL_SOCKET_NAME } from './control.js';
import { adoptListeners, closeListeners, openListeners, type SlotSockets } from './listeners.js';
import { describeRunAs, dropPrivileges, droppedMessage, planPrivileges, prepareStateDir } from './privileges.js';
import type { Handover } from './upgrade.js';
import { DIR_MODE, stateDirError } from '../zone/image/store.js';

/** Everything start-up holds once privileges are dropped: the sockets, the control socket, who the server now is. */
export interface Started {
  listeners: SlotSockets[];
  control: { fd: number; path: string };
  /** `nobody (uid 65534, gid 65534 nogroup)`: the user the server runs as. */
  user: string;
  /** What to log about the user (the drop, and why), or null when nothing changed. */
  note: string | null;
}

/** Whether `dir` exists and belongs to `uid`. */
function ownedBy(dir: string, uid: number): boolean {
  try {
    return statSync(dir).uid === uid;
  } catch {
    return false;
  }
}

/** Start-up done, or why the server cannot start (everything opened is closed again). */
export type StartupOutcome = { kind: 'ok'; started: Started } | { kind: 'error'; error: ShardnsError };

/**
 * In this order, as NSD does: work out the user (`--user`, or a default
 * when root); bind every slot's sockets (or take over those an upgrading
 * supervisor passed: `handover`), so port 53 works; as root, make the state
 * directory the user's; then drop to the user (setgroups, setgid, setuid);
 * the control socket is the user's either way. Zones are read only after this,
 * by the user; workers are forked after it and never run as root.
 */
export async function startUp(config: Config, handover: Handover | null, c: Libc = realLibc, euid: number = process.geteuid?.() ?? -1): Promise<StartupOutcome> {
  const plan = planPrivileges(config.user, euid, c);
  if (plan.kind === 'error') return { kind: 'error', error: plan.error };
  const sockets = handover ? adoptListeners(handover.sockets, config, c) : openListeners(config, c);
  if (sockets.kind === 'error') return sockets;
  const listeners = sockets.slots;
  const fail = (error: ShardnsError, controlFd?: number): StartupOutcome => {
    if (handover === null) closeListeners(listeners, c);
    if (controlFd !== undefined && handover === null) c.close(controlFd);
    return { kind: 'error', error };
  };

  const path = handover ? handover.control.path : controlPath(config);
  if (plan.kind === 'drop') {
    const inState = resolve(dirname(path)) === resolve(config.stateDir);
    const prepared = prepareStateDir(config.stateDir, plan.target, inState ? [basename(path)] : [CONTROL_SOCKET_NAME]);
    if (prepared.kind === 'error') return fail(prepared.error);
  }

  // The control socket: taken over; or bound by the user after the drop where the user owns the
  // folder (the state directory: no chown needed, so a root without CAP_CHOWN works); or bound
  // here, before the drop, and handed to the user (--control in a folder of root's, /run).
  let control: { fd: number; path: string } | null = null;
  if (handover) {
    const r = c.setCloseOnExec(handover.control.fd, true);
    if (r.kind === 'errno') return fail(new ShardnsError('E_UPGRADE', `the control socket was not passed on (descriptor ${handover.control.fd})`, 'start an upgrade with "shardns ctl upgrade" or SIGUSR2, not by hand'));
    control = { fd: handover.control.fd, path };
  } else if (plan.kind !== 'drop' || !ownedBy(dirname(path), plan.target.uid)) {
    // The state directory is usually made by the zone builder; the control socket in it needs it now.
    if (plan.kind !== 'drop' && resolve(dirname(path)) === resolve(config.stateDir)) {
      try {
        mkdirSync(config.stateDir, { recursive: true, mode: DIR_MODE });
      } catch (err) {
        return fail(stateDirError(config.stateDir, 'create', err as NodeJS.ErrnoException));
      }
    }
    const bound = await bindControlSocket(path, plan.kind === 'drop' ? { uid: plan.target.uid, gid: plan.target.gid } : null, c);
    if (bound.kind === 'error') return fail(bound.error);
    control = { fd: bound.fd, path };
  }

  if (plan.kind === 'drop') {
    const dropped = dropPrivileges(plan.target, c);
    if (dropped.kind === 'error') return fail(dropped.error, control?.fd);
    if (control === null) {
      const bound = await bindControlSocket(path, null, c);
      if (bound.kind === 'error') return fail(bound.error);
      control = { fd: bound.fd, path };
    }
    return { kind: 'ok', started: { listeners, control, user: describeRunAs(plan.target), note: droppedMessage(plan.target) } };
  }
  if (control === null) throw new Error('unreachable: the control socket is bound before the drop, or after it');
  const me = c.getpwuid(plan.uid);
  const gid = process.getegid?.() ?? -1;
  const user = describeRunAs({ user: me?.name ?? String(plan.uid), uid: plan.uid, gid, group: c.getgrgid(gid)?.name ?? String(gid), why: 'given' });
  return { kind: 'ok', started: { listeners, control, user, note: null } };
}
