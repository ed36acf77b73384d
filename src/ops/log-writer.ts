/**
 * The supervisor's writers of what the workers log: dnstap to a Frame
 * Streams file or to a collector's unix socket (bidirectional handshake,
 * reconnecting), the query log to a file or standard output. A writer
 * never blocks the supervisor: when its output falls behind, a batch is
 * dropped and the caller counts it.
 */

import { closeSync, createWriteStream, existsSync, openSync, renameSync } from 'node:fs';
import net from 'node:net';
import { userInfo } from 'node:os';
import { dirname } from 'node:path';
import type { Writable } from 'node:stream';
import type { DnstapSink, QueryLogSink } from '../config.js';
import { ShardnsError } from '../errors.js';
import type { Logger } from '../log.js';
import { DNSTAP_CONTENT_TYPE } from './dnstap-schema.js';
import { CONTROL, controlFrame, FrameReader } from './frame-streams.js';

/** Octets a writer may have queued unwritten before it drops batches. */
const MAX_BEHIND = 8 << 20;

/** Where batches of records go. */
export interface LogWriter {
  /** Queues a batch (whole records: data frames or lines); false when it was dropped. */
  write(bytes: Uint8Array): boolean;
  /** Ends the output properly (dnstap: STOP, and FINISH awaited from a collector) and closes it. */
  close(): Promise<void>;
}

/**
 * Opens the dnstap output: a file (created or truncated, mode 0640) starts
 * with START; a unix socket connects in the background. `keepPrevious`: a
 * file there is another supervisor's, still being written (an upgrade):
 * it is renamed to PATH.<time>, where that one finishes it, not truncated.
 */
export function openDnstapWriter(sink: DnstapSink, log: Logger, keepPrevious = false): LogWriter | ShardnsError {
  if (sink.kind === 'unix') return new CollectorWriter(sink.path, log);
  if (keepPrevious && existsSync(sink.path)) {
    const kept = `${sink.path}.${new Date().toISOString().replace(/[-:]|\.\d+/g, '')}`;
    try {
      renameSync(sink.path, kept);
    } catch (err) {
      return new ShardnsError('E_LOG', `cannot keep the previous supervisor's dnstap file ${sink.path} as ${kept}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, `let the server's user (${serverUser()}) write ${dirname(sink.path)}`);
    }
    log.info(`dnstap: the previous supervisor's messages stay in ${kept}; this one writes ${sink.path}`);
  }
  const stream = openFileStream(sink.path, 'w', '--dnstap');
  if (stream instanceof ShardnsError) return stream;
  return new StreamWriter(stream, sink.path, log, controlFrame(CONTROL.START, [DNSTAP_CONTENT_TYPE]), controlFrame(CONTROL.STOP), true);
}

/** Opens the query log: a file appended to (created mode 0640), or standard output. */
export function openQueryLogWriter(sink: QueryLogSink, log: Logger): LogWriter | ShardnsError {
  if (sink.kind === 'stdout') return new StreamWriter(process.stdout, 'standard output', log, null, null, false);
  const stream = openFileStream(sink.path, 'a', '--query-log');
  if (stream instanceof ShardnsError) return stream;
  return new StreamWriter(stream, sink.path, log, null, null, true);
}

/** Opens a file now (so a bad path fails the start, with the reason), as a write stream. */
function openFileStream(path: string, flags: 'w' | 'a', flag: string): Writable | ShardnsError {
  let fd: number;
  try {
    fd = openSync(path, flags, 0o640);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    const hint =
      e.code === 'ENOENT'
        ? 'create its folder first, or give another path'
        : e.code === 'EACCES'
          ? `give a path the server's user (${serverUser()}) may write, or let that user write ${dirname(path)}`
          : e.code === 'EISDIR'
            ? 'give a file path, not a folder'
            : `check the path given to ${flag}`;
    return new ShardnsError('E_LOG', `cannot open ${path} for ${flag}: ${e.code ?? e.message}`, hint);
  }
  try {
    return createWriteStream('', { fd, autoClose: true });
  } catch (err) {
    closeSync(fd);
    return new ShardnsError('E_LOG', `cannot write ${path} for ${flag}: ${(err as Error).message}`, `check the path given to ${flag}`);
  }
}

/** Who this process runs as (after any privilege drop), as `name` or `uid N`. */
function serverUser(): string {
  try {
    return userInfo().username;
  } catch {
    return `uid ${process.getuid?.() ?? '?'}`;
  }
}

/** A stream output (a file, standard output), with an optional first and last frame. */
class StreamWriter implements LogWriter {
  private broken = false;

  constructor(
    private readonly stream: Writable,
    name: string,
    log: Logger,
    header: Buffer | null,
    private readonly trailer: Buffer | null,
    private readonly owned: boolean,
  ) {
    stream.on('error', (err) => {
      if (!this.broken) log.error(`writing ${name} failed: ${err.message}; its records are dropped from now on`);
      this.broken = true;
    });
    if (header) stream.write(header);
  }

  write(bytes: Uint8Array): boolean {
    if (this.broken || this.stream.writableLength > MAX_BEHIND) return false;
    this.stream.write(bytes);
    return true;
  }

  close(): Promise<void> {
    return new Promise((done) => {
      if (this.trailer && !this.broken) this.stream.write(this.trailer);
      if (!this.owned || this.broken) {
        done();
        return;
      }
      this.stream.end(() => done());
    });
  }
}

/** How long to wait between attempts to reach a collector, at first and at most (ms). */
const RETRY_FIRST_MS = 500;
const RETRY_MAX_MS = 30_000;
/** How long close() waits for the collector's FINISH (ms). */
const FINISH_WAIT_MS = 1000;

/**
 * A dnstap collector on a unix socket (fstrm_capture, dnstap, a log
 * shipper), spoken to as a bidirectional Frame Streams writer: READY with
 * the content type, the collector's ACCEPT, START, data frames; STOP and
 * the collector's FINISH at the end. While it is away (not listening,
 * restarted) records are dropped and the connection is tried again, from
 * 0.5 s to 30 s apart; the log says when it goes and comes back.
 */
class CollectorWriter implements LogWriter {
  private socket: net.Socket | null = null;
  private state: 'connecting' | 'handshake' | 'open' | 'away' | 'closed' = 'connecting';
  private retryMs = RETRY_FIRST_MS;
  private retry: NodeJS.Timeout | null = null;
  private told = false;
  private finished: (() => void) | null = null;

  constructor(
    private readonly path: string,
    private readonly log: Logger,
  ) {
    this.connect();
  }

  private connect(): void {
    this.retry = null;
    this.state = 'connecting';
    const reader = new FrameReader();
    const s = net.connect({ path: this.path });
    this.socket = s;
    let problem = '';
    s.on('connect', () => {
      this.state = 'handshake';
      s.write(controlFrame(CONTROL.READY, [DNSTAP_CONTENT_TYPE]));
    });
    s.on('data', (chunk: Buffer) => {
      const frames = reader.push(chunk);
      if (typeof frames === 'string') {
        problem = `it does not speak Frame Streams (${frames})`;
        s.destroy();
        return;
      }
      for (const f of frames) {
        if (f.kind !== 'control') continue;
        if (f.type === CONTROL.ACCEPT && this.state === 'handshake') {
          if (!f.contentTypes.includes(DNSTAP_CONTENT_TYPE)) {
            problem = `it accepts ${f.contentTypes.join(', ') || 'no content type'}, not ${DNSTAP_CONTENT_TYPE}`;
            s.destroy();
            return;
          }
          s.write(controlFrame(CONTROL.START, [DNSTAP_CONTENT_TYPE]));
          this.state = 'open';
          this.retryMs = RETRY_FIRST_MS;
          this.log.info(`dnstap: writing to the collector at ${this.path}`);
          this.told = false;
        } else if (f.type === CONTROL.FINISH) {
          this.finished?.();
        }
      }
    });
    s.on('error', (err: NodeJS.ErrnoException) => {
      problem ||= err.code ?? err.message;
    });
    s.on('close', () => {
      const was = this.state;
      this.socket = null;
      this.finished?.();
      if (was === 'closed') return;
      this.state = 'away';
      if (!this.told) {
        this.told = true;
        const what = was === 'open' ? 'went away' : 'cannot be reached';
        this.log.warn(`dnstap: the collector at ${this.path} ${what}${problem ? ` (${problem})` : ''}; dropping dnstap messages and trying again`, { code: 'E_LOG' });
      }
      this.retry = setTimeout(() => this.connect(), this.retryMs);
      this.retry.unref();
      this.retryMs = Math.min(RETRY_MAX_MS, this.retryMs * 2);
    });
  }

  write(bytes: Uint8Array): boolean {
    const s = this.socket;
    if (this.state !== 'open' || s === null || s.writableLength > MAX_BEHIND) return false;
    s.write(bytes);
    return true;
  }

  close(): Promise<void> {
    const was = this.state;
    this.state = 'closed';
    if (this.retry) clearTimeout(this.retry);
    const s = this.socket;
    if (s === null) return Promise.resolve();
    if (was !== 'open') {
      s.destroy();
      return Promise.resolve();
    }
    return new Promise((done) => {
      const timer = setTimeout(() => this.finished?.(), FINISH_WAIT_MS);
      this.finished = () => {
        this.finished = null;
        clearTimeout(timer);
        s.destroy();
        done();
      };
      s.write(controlFrame(CONTROL.STOP));
    });
  }
}
