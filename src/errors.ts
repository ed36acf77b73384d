/** Coded errors a person can meet: what went wrong, and what to do about it. */

/** Stable codes, so logs, tests and documentation can name a failure. */
export type ErrorCode =
  | 'E_CONFIG'
  | 'E_CONFIG_FILE'
  | 'E_BIND_ACCESS'
  | 'E_BIND_IN_USE'
  | 'E_BIND_NO_ADDR'
  | 'E_BIND_FAMILY'
  | 'E_SOCKET'
  | 'E_WORKER_START'
  | 'E_ZONE'
  /** The state directory (compiled zone images) cannot be created, read or written. */
  | 'E_STATE_DIR'
  /** A file cannot be mapped into memory (mmap). */
  | 'E_MAP'
  /** A zone image cannot be built or used (too large for the format, unreadable). */
  | 'E_IMAGE'
  /** The user to run as is unknown, or the privilege drop failed. */
  | 'E_USER'
  /** The control socket cannot be bound or reached, or a command failed. */
  | 'E_CONTROL'
  /** A zero-downtime upgrade could not start the new supervisor. */
  | 'E_UPGRADE'
  /** The metrics and health HTTP listener (--metrics) cannot be bound. */
  | 'E_METRICS'
  /** The dnstap or query log output (--dnstap, --query-log) cannot be opened. */
  | 'E_LOG';

/** An error with a code and a hint that tells the reader what to do next. */
export class ShardnsError extends Error {
  readonly code: ErrorCode;
  readonly hint: string;

  constructor(code: ErrorCode, message: string, hint = '') {
    super(message);
    this.name = 'ShardnsError';
    this.code = code;
    this.hint = hint;
  }

  /** One line for a log or a terminal: message, then the hint after a dash. */
  describe(): string {
    return this.hint ? `${this.message} — ${this.hint}` : this.message;
  }

  /** A plain object that survives IPC (structured clone loses the class). */
  toJSON(): SerializedError {
    return { code: this.code, message: this.message, hint: this.hint };
  }

  /** Rebuilds an error sent over IPC. */
  static fromJSON(e: SerializedError): ShardnsError {
    return new ShardnsError(e.code, e.message, e.hint);
  }
}

/** The shape a ShardnsError takes on the wire between processes. */
export interface SerializedError {
  code: ErrorCode;
  message: string;
  hint: string;
}

/** How many zone errors one message lists before it says how many more there are. */
const ZONE_ERRORS_SHOWN = 20;

/** The error for zones that did not load: every problem, one a line (file:line:column: message). */
export function zoneError(problems: readonly string[]): ShardnsError {
  const shown = problems.slice(0, ZONE_ERRORS_SHOWN);
  const more = problems.length > shown.length ? `\n…and ${problems.length - shown.length} more` : '';
  return new ShardnsError(
    'E_ZONE',
    `${problems.length === 1 ? 'a zone has an error' : `zones have ${problems.length} errors`}:\n${shown.join('\n')}${more}`,
    'fix the zone files (shardns check lists every problem), then start again',
  );
}
