/** The supervisor's side of the zone builder: one builder process per job, its outcome as a value, never a crash of ours. */

import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { ZoneConfig } from './config.js';
import { ShardnsError } from './errors.js';
import type { LogFormat, LogLevel } from './log.js';
import type { BuildOutcome } from './zone/image/build.js';
import { isFromBuilder, type FromBuilder, type ToBuilder } from './zone/image/messages.js';
import { ImageStore, type RemoveOutcome } from './zone/image/store.js';
import type { FetchJob, FetchOutcome } from './xfr/secondary.js';
import type { TsigKeySpec } from './xfr/tsig.js';

const BUILDER_SCRIPT = fileURLToPath(new URL('../workers/zone-builder.js', import.meta.url));

/** A build's outcome, and how much memory the builder took for it. */
export interface BuildReport {
  outcome: BuildOutcome;
  /** The builder's peak resident set (MB), 0 when it died first. */
  peakRssMB: number;
}

/** What every job needs: where images live and how the builder logs. */
export interface BuilderOptions {
  stateDir: string;
  logLevel: LogLevel;
  logFormat: LogFormat;
  /** The builder's entry script (tests substitute one that misbehaves). */
  script?: string;
}

/**
 * Runs zone builds and clean-ups in a child process (workers/zone-builder.js),
 * so parsing and compiling, however long, never holds up the supervisor's
 * event loop (heartbeats, IPC, signals). Each job gets a fresh process that
 * exits when the job is answered: a big zone's parse leaves a big heap, and
 * only an exit gives it back. A builder that dies before answering (out of
 * memory, a signal) is a failed job, reported as such; nothing in the state
 * directory is left half-written (the store renames whole files into place).
 * A job's promise settles once its builder has exited.
 */
export class ZoneBuilder {
  private seq = 0;
  private running = 0;

  /** Whether a build is running (its fresh image is not yet among those served: nothing may be removed). */
  get busy(): boolean {
    return this.running > 0;
  }

  constructor(private readonly options: BuilderOptions) {}

  /** Gives every zone an image in the state directory (reusing unchanged ones), or says why not. */
  async build(zones: readonly ZoneConfig[], force = false): Promise<BuildReport> {
    const seq = ++this.seq;
    const { stateDir, logLevel, logFormat } = this.options;
    this.running++;
    const reply = await this.run({ type: 'build', seq, zones: [...zones], stateDir, ...(force ? { force } : {}), log: { level: logLevel, format: logFormat } }).finally(() => this.running--);
    if (reply.kind === 'answered' && reply.msg.type === 'built') return { outcome: reply.msg.outcome, peakRssMB: reply.msg.peakRssMB };
    const why = reply.kind === 'died' ? reply.why : 'answered another job';
    const e = new ShardnsError('E_IMAGE', `the zone builder ${why} before finishing the build`, 'see the lines above; if it ran out of memory, give the machine more or split the zone');
    return {
      outcome: { kind: 'error', error: e.toJSON(), errors: [e.describe()], failed: zones.map((z) => ({ origin: z.name, error: e.toJSON(), errors: [e.describe()], previous: null })), zones: [], warnings: [], ms: 0 },
      peakRssMB: 0,
    };
  }

  /**
   * Transfers a secondary zone and builds its image, in a builder process
   * (src/xfr/fetch.ts): the transfer's octets and the parse never touch the
   * supervisor's event loop. A builder that dies is a failed transfer.
   */
  async fetch(job: FetchJob, keys: readonly TsigKeySpec[]): Promise<FetchOutcome> {
    const seq = ++this.seq;
    const { stateDir, logLevel, logFormat } = this.options;
    this.running++;
    const reply = await this.run({ type: 'fetch', seq, job, keys: [...keys], stateDir, log: { level: logLevel, format: logFormat } }).finally(() => this.running--);
    if (reply.kind === 'answered' && reply.msg.type === 'fetched') return reply.msg.outcome;
    const why = reply.kind === 'died' ? `the zone builder ${reply.why} before finishing the transfer` : 'the zone builder answered another job';
    return { kind: 'failed', record: { at: new Date().toISOString(), kind: job.current === null ? 'AXFR' : 'IXFR', from: '', outcome: 'failed', serial: job.current?.serial ?? null, detail: why, ms: 0 } };
  }

  /**
   * Deletes the images (and manifests, and dead builders' temporary files)
   * not in `keep`. File deletions are quick, so this runs here, not in a
   * builder; a mapped file stays readable to whoever maps it after it is
   * deleted (the mapping holds the inode).
   */
  removeUnused(keep: readonly string[]): RemoveOutcome {
    const opened = ImageStore.open(this.options.stateDir);
    if (opened.kind === 'error') return { kind: 'error', removed: [], error: opened.error };
    return opened.store.removeUnused([...keep]);
  }

  /** Forks a builder, sends one job, waits for its answer or its death, and lets it go. */
  private run(msg: ToBuilder): Promise<{ kind: 'answered'; msg: FromBuilder } | { kind: 'died'; why: string }> {
    return new Promise((resolve) => {
      let child: ChildProcess;
      try {
        child = fork(this.options.script ?? BUILDER_SCRIPT, [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], execArgv: [], serialization: 'advanced' });
      } catch (err) {
        resolve({ kind: 'died', why: `could not be started (${(err as Error).message})` });
        return;
      }
      // The job is done when the builder has answered and exited (no builder outlives its job).
      let answer: FromBuilder | null = null;
      let done = false;
      const finish = (r: { kind: 'answered'; msg: FromBuilder } | { kind: 'died'; why: string }): void => {
        if (done) return;
        done = true;
        resolve(r);
      };
      child.on('message', (m) => {
        if (answer !== null || !isFromBuilder(m) || m.seq !== msg.seq) return;
        answer = m;
        // Closing the channel is the builder's cue to exit (it gives its heap back).
        if (child.connected) child.disconnect();
      });
      child.on('error', (err) => {
        if (answer === null) finish({ kind: 'died', why: `failed (${err.message})` });
      });
      child.on('exit', (code, signal) => {
        finish(answer !== null ? { kind: 'answered', msg: answer } : { kind: 'died', why: `exited (${signal ?? `exit code ${code}`})` });
      });
      child.send(msg, (err) => {
        if (err && answer === null) {
          child.kill('SIGKILL');
          finish({ kind: 'died', why: `could not be sent the job (${err.message})` });
        }
      });
    });
  }
}
