/** The supervisor's side of the zone builder: one builder process per job, its outcome as a value, never a crash of ours. */

import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { ZoneConfig } from './config.js';
import { ShardnsError } from './errors.js';
import type { LogFormat, LogLevel, Logger } from './log.js';
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
  /** The warm transfer builder is let go after a job that leaves it larger than this (MB resident; default {@link WARM_RSS_LIMIT_MB}). */
  warmRssLimitMB?: number;
  /** Where the supervisor's side says how jobs went (debug). */
  log?: Logger;
  /** Called whenever the last running builder process has exited (the ZoneBuilder is no longer busy). */
  onIdle?: () => void;
}

/**
 * How large (resident, after its garbage is collected) the warm transfer
 * builder may stay between jobs. An IXFR applied to an image leaves it near
 * its start size (the images are freed); an AXFR of a large zone, parsed and
 * compiled, leaves a heap V8 keeps: then it exits and a fresh one is forked.
 */
export const WARM_RSS_LIMIT_MB = 256;

/** How a job sent to a builder ended. */
type JobReply = { kind: 'answered'; msg: FromBuilder } | { kind: 'died'; why: string };

/**
 * The builder kept for transfers: forked once, sent one job at a time, kept
 * between jobs while it stays small. Its death fails the job it runs (never
 * the caller); the next job gets a new one. It holds no reference on the
 * supervisor's event loop while idle, and exits when its channel closes.
 */
class WarmBuilder {
  private readonly child: ChildProcess | null;
  private waiting: { seq: number; resolve: (r: JobReply) => void } | null = null;
  private exited = false;
  /** Called once the process is gone; `letGo`: it exited because it was let go for its size. */
  onGone: (letGo: boolean) => void = () => undefined;
  private letGo = false;

  constructor(
    script: string,
    private readonly rssLimitMB: number,
    private readonly log: Logger | undefined,
  ) {
    let child: ChildProcess | null = null;
    try {
      child = fork(script, ['--transfers'], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], execArgv: ['--expose-gc'], serialization: 'advanced' });
    } catch (err) {
      this.log?.warn(`the transfer builder could not be started (${(err as Error).message})`);
      this.exited = true;
    }
    this.child = child;
    if (child === null) return;
    child.on('message', (m) => this.received(m));
    child.on('error', (err) => this.gone(`failed (${err.message})`));
    child.on('exit', (code, signal) => this.gone(`exited (${signal ?? `exit code ${code}`})`));
    this.idle();
  }

  get pid(): number | null {
    return this.exited ? null : (this.child?.pid ?? null);
  }

  get alive(): boolean {
    return !this.exited && this.child?.connected === true;
  }

  get busy(): boolean {
    return this.waiting !== null;
  }

  /** Sends one job; settles with its answer, or when the process dies first. */
  job(msg: ToBuilder): Promise<JobReply> {
    return new Promise((resolve) => {
      const child = this.child;
      if (child === null || !this.alive) {
        resolve({ kind: 'died', why: 'could not be started' });
        return;
      }
      this.waiting = { seq: msg.seq, resolve };
      this.busyRefs(true);
      child.send(msg, (err) => {
        if (err) this.finish({ kind: 'died', why: `could not be sent the job (${err.message})` }, true);
      });
    });
  }

  /** Closes the channel: the builder exits (after the job it runs, whose answer is then lost). */
  retire(): void {
    if (this.child?.connected) this.child.disconnect();
  }

  private received(m: unknown): void {
    if (!isFromBuilder(m) || m.type === 'started') return;
    if (m.type === 'settled') {
      if (this.waiting === null && m.rssMB > this.rssLimitMB) {
        this.log?.debug(`the transfer builder (pid ${m.pid}) stays at ${m.rssMB} MB after its job, over ${this.rssLimitMB} MB: letting it go`);
        this.letGo = true;
        this.retire();
      }
      return;
    }
    if (this.waiting !== null && m.seq === this.waiting.seq) this.finish({ kind: 'answered', msg: m }, false);
  }

  private finish(r: JobReply, kill: boolean): void {
    const w = this.waiting;
    if (w === null) return;
    this.waiting = null;
    this.idle();
    if (kill) this.child?.kill('SIGKILL');
    w.resolve(r);
  }

  private gone(why: string): void {
    if (this.exited) return;
    this.exited = true;
    const w = this.waiting;
    this.waiting = null;
    w?.resolve({ kind: 'died', why });
    this.onGone(this.letGo && w === null);
  }

  /** Idle, the builder must not keep the supervisor's process alive (it is let go on stop; a test may just end). */
  private idle(): void {
    this.busyRefs(false);
  }

  private busyRefs(on: boolean): void {
    const child = this.child as (ChildProcess & { channel?: { ref(): void; unref(): void } }) | null;
    if (child === null) return;
    if (on) {
      child.ref();
      child.channel?.ref();
    } else {
      child.unref();
      child.channel?.unref();
    }
  }
}

/**
 * Runs zone builds and clean-ups in a child process (workers/zone-builder.js),
 * so parsing and compiling, however long, never holds up the supervisor's
 * event loop (heartbeats, IPC, signals). Each job gets a fresh process that
 * exits when the job is answered: a big zone's parse leaves a big heap, and
 * only an exit gives it back. A builder that dies before answering (out of
 * memory, a signal) is a failed job, reported as such; nothing in the state
 * directory is left half-written (the store renames whole files into place).
 * A job's promise settles when its builder answers, not when it has exited:
 * a build's builder still puts its images on disk (fsync) after answering,
 * and exiting a process with a large heap takes a while too; neither is on
 * the path to the first answer. Until the builder has exited the
 * ZoneBuilder stays `busy` (nothing may be removed from the state
 * directory); `onIdle` says when it no longer is.
 */
export class ZoneBuilder {
  private seq = 0;
  private running = 0;
  /** The builder kept for transfers, or null. */
  private warm: WarmBuilder | null = null;
  private closed = false;

  /** Whether a builder process is running (a build whose fresh image may not be among those served yet, or one still syncing what it answered: nothing may be removed). */
  get busy(): boolean {
    return this.running > 0;
  }

  /** Resolves once no builder process runs (at once when none does). */
  idle(): Promise<void> {
    if (this.running === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private readonly idleWaiters: (() => void)[] = [];

  /**
   * One builder process or job fewer; at none, tells whoever waits. onIdle
   * comes a turn later (setImmediate), and only if still none runs: a warm
   * builder's job ends as it answers, before the caller has taken up what it
   * built, and the supervisor's onIdle deletes every image nobody keeps yet:
   * a fresh transfer's image went too (a catalog's second member, fetched
   * beside the first, was deleted before its workers mapped it: ENOENT).
   */
  private ended(): void {
    this.running--;
    if (this.running > 0) return;
    for (const w of this.idleWaiters.splice(0)) w();
    setImmediate(() => {
      if (this.running === 0) this.options.onIdle?.();
    });
  }

  constructor(private readonly options: BuilderOptions) {}

  /**
   * Gives every zone an image in the state directory (reusing unchanged
   * ones), or says why not. `onStarted`: called once the builder has the job
   * (its Node start-up and module loading done), or when it failed before.
   */
  async build(zones: readonly ZoneConfig[], force = false, onStarted?: () => void): Promise<BuildReport> {
    const seq = ++this.seq;
    const { stateDir, logLevel, logFormat } = this.options;
    let started = false;
    const start = (): void => {
      if (started) return;
      started = true;
      onStarted?.();
    };
    const reply = await this.run({ type: 'build', seq, zones: [...zones], stateDir, ...(force ? { force } : {}), log: { level: logLevel, format: logFormat } }, start);
    start();
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
   * supervisor's event loop. The job goes to the warm transfer builder
   * when it is idle (forked at the first transfer and kept: a NOTIFY's IXFR
   * then runs in a process whose code is loaded and optimized), else to a
   * builder of its own, as a build does. Settles when the builder answers.
   * A builder that dies is a failed transfer; the next job gets a new one.
   */
  async fetch(job: FetchJob, keys: readonly TsigKeySpec[]): Promise<FetchOutcome> {
    const seq = ++this.seq;
    const { stateDir, logLevel, logFormat } = this.options;
    const msg: ToBuilder = { type: 'fetch', seq, job, keys: [...keys], stateDir, log: { level: logLevel, format: logFormat } };
    const t0 = performance.now();
    const warm = this.warmTransferBuilder();
    let reply: JobReply;
    if (warm !== null) {
      this.running++;
      reply = await warm.job(msg).finally(() => this.ended());
    } else {
      reply = await this.run(msg);
    }
    const ms = Math.round(performance.now() - t0);
    if (reply.kind === 'answered' && reply.msg.type === 'fetched') {
      this.options.log?.debug(`zone ${job.origin}: transfer job answered in ${ms} ms by ${warm !== null ? 'the warm' : 'a new'} builder (pid ${reply.msg.pid})`);
      return reply.msg.outcome;
    }
    const why = reply.kind === 'died' ? `the zone builder ${reply.why} before finishing the transfer` : 'the zone builder answered another job';
    return { kind: 'failed', record: { at: new Date().toISOString(), kind: job.current === null ? 'AXFR' : 'IXFR', from: '', outcome: 'failed', serial: job.current?.serial ?? null, detail: why, ms: 0 } };
  }

  /** The pid of the warm transfer builder, or null when there is none (none forked yet, or it exited). */
  get warmPid(): number | null {
    return this.warm?.pid ?? null;
  }

  /** Lets the warm transfer builder go (the server is stopping); a job it runs fails. */
  close(): void {
    this.closed = true;
    this.warm?.retire();
    this.warm = null;
  }

  /** The warm transfer builder when it is free (forked now if there is none), or null when it runs a job. */
  private warmTransferBuilder(): WarmBuilder | null {
    if (this.closed) return null;
    if (this.warm !== null && !this.warm.alive) this.warm = null;
    this.warm ??= this.forkWarm();
    return this.warm.busy ? null : this.warm;
  }

  /**
   * A new warm transfer builder. One let go for its size is replaced at
   * once, so that the next NOTIFY finds one started; one that died (in a job
   * or idle: killed, or broken) is replaced at the next job, never in a loop.
   */
  private forkWarm(): WarmBuilder {
    const w = new WarmBuilder(this.options.script ?? BUILDER_SCRIPT, this.options.warmRssLimitMB ?? WARM_RSS_LIMIT_MB, this.options.log);
    w.onGone = (letGo) => {
      if (this.warm !== w) return;
      this.warm = null;
      if (letGo && !this.closed) this.warm = this.forkWarm();
    };
    return w;
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

  /**
   * Forks a builder, sends one job, and settles with its answer (or its
   * death, if first); closing the channel then lets it go. `onStarted`: the
   * builder said it has the job. The ZoneBuilder is
   * busy from the fork until the process has exited.
   */
  private run(msg: ToBuilder, onStarted?: () => void): Promise<JobReply> {
    return new Promise((resolve) => {
      let child: ChildProcess;
      try {
        child = fork(this.options.script ?? BUILDER_SCRIPT, [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], execArgv: [], serialization: 'advanced' });
      } catch (err) {
        resolve({ kind: 'died', why: `could not be started (${(err as Error).message})` });
        return;
      }
      this.running++;
      let gone = false;
      const release = (): void => {
        if (gone) return;
        gone = true;
        this.ended();
      };
      let answered = false;
      let done = false;
      const finish = (r: JobReply): void => {
        if (done) return;
        done = true;
        resolve(r);
      };
      child.on('message', (m) => {
        if (answered || !isFromBuilder(m) || m.seq !== msg.seq) return;
        if (m.type === 'started') {
          onStarted?.();
          return;
        }
        answered = true;
        this.options.log?.debug(`zone builder (pid ${child.pid}) answered job ${msg.seq}`);
        finish({ kind: 'answered', msg: m });
        // Closing the channel is the builder's cue to exit once its job's deferred work is done (it gives its heap back).
        if (child.connected) child.disconnect();
      });
      child.on('error', (err) => {
        if (!answered) finish({ kind: 'died', why: `failed (${err.message})` });
        // A process that never started emits no 'exit'.
        if (child.pid === undefined) release();
      });
      child.on('exit', (code, signal) => {
        this.options.log?.debug(`zone builder (pid ${child.pid}) exited (${signal ?? `exit code ${code}`})`);
        finish({ kind: 'died', why: `exited (${signal ?? `exit code ${code}`})` });
        release();
      });
      child.send(msg, (err) => {
        if (err && !answered) {
          child.kill('SIGKILL');
          finish({ kind: 'died', why: `could not be sent the job (${err.message})` });
        }
      });
    });
  }
}
