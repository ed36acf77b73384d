/** A peer server (NSD, Knot, BIND, Unbound) run for a test: spawned with its output kept, waited for until a probe answers, killed and its folder removed on stop. */

import { spawn, type ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';
import { udpQuery } from './dns-client.js';
import { until } from './server.js';

/** A running peer process. */
export interface PeerProcess {
  proc: ChildProcess;
  /** Everything it wrote to stdout and stderr. */
  log(): string;
  /** SIGKILL; its folder is removed once it has exited (a process still writing there could leave it behind). */
  stop(): void;
}

/** A question asked of 127.0.0.1:port over UDP, or any check that says whether the peer is up. */
export type PeerProbe = { name: string; type: string; klass: string } | ((port: number) => Promise<boolean>);

/**
 * Starts `command args` (its working folder `dir`, removed on stop) and
 * resolves once `probe` answers (a question: any reply; a check: true),
 * within 10 s; otherwise stops it and rejects with all it logged. A
 * process that exits meanwhile fails at once.
 */
export async function startPeer(name: string, command: string, args: string[], dir: string, port: number, probe: PeerProbe): Promise<PeerProcess> {
  const proc = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  proc.stdout?.on('data', (d: Buffer) => (log += d.toString()));
  proc.stderr?.on('data', (d: Buffer) => (log += d.toString()));
  const removeDir = (): void => rmSync(dir, { recursive: true, force: true });
  const stop = (): void => {
    if (proc.exitCode !== null || proc.signalCode !== null) return removeDir();
    proc.once('exit', removeDir);
    proc.kill('SIGKILL');
  };
  const check = typeof probe === 'function' ? () => probe(port) : () => udpQuery(probe.name, probe.type, probe.klass, port).then(() => true);
  const up = await until(async () => {
    if (proc.exitCode !== null) return true;
    try {
      return await check();
    } catch {
      return false;
    }
  }, 10_000, 100);
  if (!up || proc.exitCode !== null) {
    stop();
    throw new Error(`${name} did not start:\n${log}`);
  }
  return { proc, log: () => log, stop };
}
