/** Log lines: one per event, with role and pid, as text or JSON. */

/** How much to say, least to most severe. */
export const LOG_LEVELS = ['debug', 'info', 'warn', 'error'] as const;
/** One of {@link LOG_LEVELS}. */
export type LogLevel = (typeof LOG_LEVELS)[number];
/** Output formats: `text` for people, `json` for log collectors. */
export const LOG_FORMATS = ['text', 'json'] as const;
/** One of {@link LOG_FORMATS}. */
export type LogFormat = (typeof LOG_FORMATS)[number];

/** Extra facts attached to a log line. */
export type LogFields = Record<string, string | number | boolean | undefined>;

/** A logger bound to one process role (`supervisor`, `worker-2`). */
export interface Logger {
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
}

/** Where lines go; info and below to stdout, warnings and errors to stderr. */
export interface LogSink {
  out(line: string): void;
  err(line: string): void;
}

const stdSink: LogSink = {
  out: (line) => process.stdout.write(line + '\n'),
  err: (line) => process.stderr.write(line + '\n'),
};

/** Makes a logger for one role; `pid` defaults to this process. */
export function createLogger(
  role: string,
  level: LogLevel,
  format: LogFormat,
  sink: LogSink = stdSink,
  pid: number = process.pid,
): Logger {
  const threshold = LOG_LEVELS.indexOf(level);
  const emit = (lvl: LogLevel, msg: string, fields: LogFields = {}): void => {
    if (LOG_LEVELS.indexOf(lvl) < threshold) return;
    const time = new Date().toISOString();
    let line: string;
    if (format === 'json') {
      line = JSON.stringify({ time, level: lvl, role, pid, msg, ...fields });
    } else {
      const extra = Object.entries(fields)
        .filter(([, v]) => v !== undefined)
        .map(([k, v]) => ` ${k}=${typeof v === 'string' && /\s/.test(v) ? JSON.stringify(v) : String(v)}`)
        .join('');
      line = `${time} ${lvl.toUpperCase().padEnd(5)} ${role}[${pid}]: ${msg}${extra}`;
    }
    if (lvl === 'warn' || lvl === 'error') sink.err(line);
    else sink.out(line);
  };
  return {
    debug: (m, f) => emit('debug', m, f),
    info: (m, f) => emit('info', m, f),
    warn: (m, f) => emit('warn', m, f),
    error: (m, f) => emit('error', m, f),
  };
}
