/** Zero-downtime upgrade: the running supervisor starts the newly installed code as a new supervisor and passes it the listening sockets and the control socket (as descriptors, never closed); the new one says when its workers serve, or why it cannot. Both sides. */

import { spawn, type ChildProcess } from 'node:child_process';
import { ShardnsError } from '../errors.js';
import type { Logger } from '../log.js';
import { describeListeners, FIRST_CHILD_FD, type InheritedSocket, type SlotSockets } from './listeners.js';

/*
 * The sequence (src/ops/operator.ts drives the old side, src/cli.ts the new):
 *
 *   old supervisor                               new supervisor (child of the old, same uid)
 *   holds image removal
 *   spawn node <same script> <same args>  ────►  reads SHARDNS_UPGRADE: the sockets at fds 4…,
 *     --state-dir <the same> --control <same>      the control socket; checks them against its
 *     stdio: ignore, inherit, inherit, ipc,        configuration; builds or reuses images (never
 *     then every socket                            deleting any); forks its workers on the same
 *                                                  sockets: both generations now read them
 *                                          ◄────  { type: 'ready' }   (or 'failed', or it exits)
 *   stops accepting on the control socket
 *   old workers stop reading, finish, exit
 *   disconnects the IPC channel, exits 0  ────►  'disconnect': the predecessor is gone; image
 *                                                  removal resumes; serves the control socket
 *
 * If the new one fails or is not ready in time, the old one kills it (its
 * workers follow: their IPC channel closes), resumes image removal and keeps
 * serving; the caller is told why. Every socket stays open throughout: the
 * kernel keeps queueing each slot's share whichever process reads it.
 */

/** The environment variable that carries the hand-over to the new supervisor (removed once read). */
export const HANDOVER_ENV = 'SHARDNS_UPGRADE';

/** What the new supervisor is given: who started it, the state directory, the control socket and every listening socket, at the descriptors it sees. */
export interface Handover {
  /** The old supervisor's pid. */
  from: number;
  stateDir: string;
  control: { fd: number; path: string };
  sockets: InheritedSocket[];
  /** Parse and compile every zone again (`shardns ctl upgrade --rebuild`) rather than serve the images of the same format. */
  rebuild?: boolean;
}

/** What the old supervisor needs to start its successor. */
export interface SuccessorSpec {
  /** node, its flags, and the entry script with the arguments the old one was started with (process.execPath, execArgv, argv.slice(1)). */
  execPath: string;
  execArgv: readonly string[];
  argv: readonly string[];
  env: NodeJS.ProcessEnv;
  stateDir: string;
  control: { fd: number; path: string };
  listeners: readonly SlotSockets[];
  /** The new supervisor rebuilds every zone image (see Handover.rebuild). */
  rebuild?: boolean;
}

/** How an upgrade ended: the new supervisor serves (its pid and version), or why the old one still does. */
export type UpgradeOutcome = { kind: 'ready'; pid: number; version: string; ms: number } | { kind: 'failed'; reason: string };

/** Messages from the new supervisor to the old one (the IPC channel spawn opened). */
export type FromSuccessor = { type: 'upgrade-ready'; pid: number; version: string } | { type: 'upgrade-failed'; reason: string };

/** A successor being started: its outcome, and the call that lets it go once the old workers are gone. */
export interface Successor {
  outcome: Promise<UpgradeOutcome>;
  /** Closes the IPC channel: the new supervisor knows the old one is done (call after the old workers exited). */
  release(): void;
  /** Gives up on it before it serves (the old one is being stopped): it is killed, and the outcome is `failed`. */
  abort(reason: string): void;
}

/**
 * Starts the new supervisor: the same node binary and entry script paths
 * (so whatever is installed there now), the same arguments, and the state
 * directory and control socket the old one resolved (a default state
 * directory depends on the uid, which the old one dropped). The listening
 * sockets and the control socket follow the IPC channel as descriptors
 * 4, 5, …; the environment says which is which. Gives up after `timeoutMs`.
 */
export function startSuccessor(spec: SuccessorSpec, log: Logger, timeoutMs: number): Successor {
  const t0 = Date.now();
  const listening = describeListeners(spec.listeners);
  const fds = [...listening.map((s) => s.fd), spec.control.fd];
  const handover: Handover = {
    from: process.pid,
    stateDir: spec.stateDir,
    control: { fd: FIRST_CHILD_FD + listening.length, path: spec.control.path },
    sockets: listening.map((s, i) => ({ ...s, fd: FIRST_CHILD_FD + i })),
    ...(spec.rebuild === true ? { rebuild: true } : {}),
  };
  const args = [...spec.execArgv, ...spec.argv, '--state-dir', spec.stateDir, '--control', spec.control.path];
  let child: ChildProcess;
  try {
    child = spawn(spec.execPath, args, {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc', ...fds],
      env: { ...spec.env, [HANDOVER_ENV]: JSON.stringify(handover) },
    });
  } catch (err) {
    return { outcome: Promise.resolve({ kind: 'failed', reason: `cannot start ${spec.execPath}: ${(err as Error).message}` }), release: () => undefined, abort: () => undefined };
  }
  const pid = child.pid ?? 0;
  log.info(`upgrade: started the new supervisor (pid ${pid}): ${[spec.execPath, ...args].join(' ')}`);
  let abort: (reason: string) => void = () => undefined;
  const outcome = new Promise<UpgradeOutcome>((resolve) => {
    let settled = false;
    const settle = (o: UpgradeOutcome): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (o.kind === 'failed') {
        // A failed successor goes, with its workers (they exit when its IPC channel closes).
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      }
      resolve(o);
    };
    const timer = setTimeout(() => settle({ kind: 'failed', reason: `the new supervisor (pid ${pid}) was not serving within ${timeoutMs / 1000} s; it was killed` }), timeoutMs);
    abort = (reason) => settle({ kind: 'failed', reason });
    child.on('message', (m: unknown) => {
      const msg = m as FromSuccessor;
      if (msg?.type === 'upgrade-ready') settle({ kind: 'ready', pid: msg.pid, version: msg.version, ms: Date.now() - t0 });
      else if (msg?.type === 'upgrade-failed') settle({ kind: 'failed', reason: msg.reason });
    });
    child.on('error', (err) => settle({ kind: 'failed', reason: `the new supervisor could not be started: ${err.message}` }));
    child.on('exit', (code, signal) => settle({ kind: 'failed', reason: `the new supervisor (pid ${pid}) exited (${signal ?? `exit code ${code}`}) before it was serving; its output is in the server's log` }));
  });
  return {
    outcome,
    release: () => {
      if (child.connected) child.disconnect();
      child.unref();
    },
    abort: (reason) => abort(reason),
  };
}

/** The hand-over read from the environment: none (a normal start), or the sockets to take over, or why it cannot be read. */
export type HandoverOutcome = { kind: 'none' } | { kind: 'ok'; handover: Handover } | { kind: 'error'; error: ShardnsError };

/** Reads (and removes from the environment, so no child sees it) the hand-over an upgrading supervisor left. */
export function takeHandover(env: NodeJS.ProcessEnv = process.env): HandoverOutcome {
  const text = env[HANDOVER_ENV];
  if (text === undefined) return { kind: 'none' };
  delete env[HANDOVER_ENV];
  const bad = (why: string): HandoverOutcome => ({
    kind: 'error',
    error: new ShardnsError('E_UPGRADE', `${HANDOVER_ENV} is set but ${why}`, 'it is set by a running shardns starting its successor ("shardns ctl upgrade", SIGUSR2), never by hand: unset it'),
  });
  let h: Handover;
  try {
    h = JSON.parse(text) as Handover;
  } catch {
    return bad('is not JSON');
  }
  if (typeof h?.from !== 'number' || typeof h.stateDir !== 'string' || typeof h.control?.fd !== 'number' || typeof h.control.path !== 'string' || !Array.isArray(h.sockets)) return bad('is malformed');
  if (h.rebuild !== undefined && typeof h.rebuild !== 'boolean') return bad('is malformed');
  if (typeof process.send !== 'function') return bad('there is no IPC channel to the supervisor that set it');
  return { kind: 'ok', handover: h };
}

/** The new supervisor's side: tell the old one how the start went, and learn when it is gone. */
export class Predecessor {
  /** Resolves when the old supervisor closed the channel (its workers are gone) or died. */
  readonly gone: Promise<void>;

  constructor(readonly pid: number) {
    this.gone = new Promise((resolve) => {
      if (!process.connected) resolve();
      else process.once('disconnect', () => resolve());
    });
  }

  /** Every worker serves: the old one may let its workers go. */
  ready(version: string): void {
    this.send({ type: 'upgrade-ready', pid: process.pid, version });
  }

  /** This start failed (the old one keeps serving); the reason goes to whoever asked for the upgrade. */
  failed(reason: string): void {
    this.send({ type: 'upgrade-failed', reason });
  }

  private send(m: FromSuccessor): void {
    if (process.connected) process.send?.(m, undefined, undefined, () => undefined);
  }
}
