/** A peer server (NSD, Knot) run for a test: spawned with its output kept, waited for until a probe query answers, killed and its folder removed on stop. */

import { spawn, type ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';
import { udpQuery } from './dns-client.js';
import { until } from './server.js';

/** A running peer process. */
export interface PeerProcess {
  proc: ChildProcess;
  /** Everything it wrote to stdout and stderr. */
  log(): string;
  /** SIGKILL, then its folder removed. */
  stop(): void;
}

/**
 * Starts `command args` (its working folder `dir`, removed on stop) and
 * resolves once `probe` (a question asked of 127.0.0.1:port over UDP)
 * gets an answer, within 10 s; otherwise stops it and rejects with all it
 * logged. A process that exits meanwhile fails at once.
 */
export async function startPeer(name: string, command: string, args: string[], dir: string, port: number, probe: { name: string; type: string; klass: string }): Promise<PeerProcess> {
  const proc = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  proc.stdout?.on('data', (d: Buffer) => (log += d.toString()));
  proc.stderr?.on('data', (d: Buffer) => (log += d.toString()));
  const stop = (): void => {
    proc.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  };
  const up = await until(async () => {
    if (proc.exitCode !== null) return true;
    try {
      await udpQuery(probe.name, probe.type, probe.klass, port);
      return true;
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
