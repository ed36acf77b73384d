/** Settings: the one place for defaults and validation, shared by `serve` and `check`. */

import { isIP } from 'node:net';
import { dirname, resolve } from 'node:path';
import { LOG_FORMATS, LOG_LEVELS, type LogFormat, type LogLevel } from './log.js';

/** A zone to serve: its origin and the master file it is read from. */
export interface ZoneConfig {
  /** Absolute origin with trailing dot, e.g. `example.com.` */
  name: string;
  /** Path of the zone file (resolved against the config file's folder). */
  file: string;
}

/** Everything a running shardns needs to know, validated. */
export interface Config {
  listen: string[];
  port: number;
  workers: number;
  workerTimeout: number;
  shutdownTimeout: number;
  tcpIdleTimeout: number;
  tcpMaxConnections: number;
  logLevel: LogLevel;
  logFormat: LogFormat;
  zones: ZoneConfig[];
}

/** How a setting is read from a flag or config file value. */
type Kind = 'strings' | 'int' | 'seconds' | 'enum' | 'zones';

/** One setting: its flag, its config-file key (the same name), its default and its help. */
export interface Setting {
  flag: string;
  key: keyof Config;
  kind: Kind;
  describe: string;
  /** What `--help` shows as the default. */
  defaultText: string;
  choices?: readonly string[];
  min?: number;
  max?: number;
}

/** Every setting, in the order `--help` lists them. Flags and config keys are these names. */
export const SETTINGS: readonly Setting[] = [
  { flag: 'listen', key: 'listen', kind: 'strings', describe: 'address to answer on, UDP and TCP (repeatable)', defaultText: '127.0.0.1 ::1' },
  { flag: 'port', key: 'port', kind: 'int', describe: 'port to answer on', defaultText: '53', min: 1, max: 65535 },
  { flag: 'workers', key: 'workers', kind: 'int', describe: 'worker processes, each with its own sockets', defaultText: 'the CPUs this process may use', min: 1, max: 256 },
  { flag: 'worker-timeout', key: 'workerTimeout', kind: 'seconds', describe: 'replace a worker that misses heartbeats this long (seconds)', defaultText: '5', min: 0.1, max: 3600 },
  { flag: 'shutdown-timeout', key: 'shutdownTimeout', kind: 'seconds', describe: 'on SIGTERM, wait this long for workers to drain (seconds)', defaultText: '5', min: 0.1, max: 3600 },
  { flag: 'tcp-idle-timeout', key: 'tcpIdleTimeout', kind: 'seconds', describe: 'close a TCP connection idle this long (seconds, RFC 7766 §6.2.3)', defaultText: '10', min: 0.1, max: 3600 },
  { flag: 'tcp-max-connections', key: 'tcpMaxConnections', kind: 'int', describe: 'TCP connections one worker holds at most', defaultText: '128', min: 1, max: 65535 },
  { flag: 'log-level', key: 'logLevel', kind: 'enum', choices: LOG_LEVELS, describe: 'least severe log lines to print', defaultText: 'info' },
  { flag: 'log-format', key: 'logFormat', kind: 'enum', choices: LOG_FORMATS, describe: 'log line format', defaultText: 'text' },
  { flag: 'zone', key: 'zones', kind: 'zones', describe: 'serve a zone: ORIGIN=FILE (repeatable); in the config file "zones": [{"name","file"}]', defaultText: 'none' },
];

/** The defaults; `workers` depends on the machine, so it is passed in. */
export function defaults(cpus: number): Config {
  return {
    listen: ['127.0.0.1', '::1'],
    port: 53,
    workers: cpus,
    workerTimeout: 5,
    shutdownTimeout: 5,
    tcpIdleTimeout: 10,
    tcpMaxConnections: 128,
    logLevel: 'info',
    logFormat: 'text',
    zones: [],
  };
}

/** A validated config, or every problem found (not just the first). */
export type ConfigResult = { ok: true; config: Config } | { ok: false; problems: string[] };

/** Where a raw value came from, so problems say where to fix them. */
interface Source {
  values: Record<string, unknown>;
  /** `--port` or `shardns.json: "port"` */
  describe: (flag: string) => string;
  /** Folder relative zone file paths are resolved against. */
  baseDir: string;
}

/**
 * Merges the config file's values and the command line's (the command line
 * wins) over the defaults, and validates everything, reporting all problems.
 * `fileValues` is the parsed JSON of `--config` (or null); `fileName` is its path.
 */
export function resolveConfig(
  cliValues: Record<string, unknown>,
  fileValues: Record<string, unknown> | null,
  fileName: string | null,
  cpus: number,
  cwd: string,
): ConfigResult {
  const config = defaults(cpus);
  const problems: string[] = [];
  const sources: Source[] = [];
  if (fileValues !== null && fileName !== null) {
    const known = new Set(SETTINGS.map((s) => s.flag));
    for (const key of Object.keys(fileValues)) {
      if (known.has(key) || key === 'zones') continue;
      problems.push(`${fileName}: unknown setting "${key}"; known settings: ${[...known].filter((k) => k !== 'zone').join(', ')}, zones`);
    }
    sources.push({ values: fileValues, describe: (flag) => `${fileName}: "${flag === 'zone' ? 'zones' : flag}"`, baseDir: dirname(resolve(cwd, fileName)) });
  }
  sources.push({ values: cliValues, describe: (flag) => `--${flag}`, baseDir: cwd });

  for (const setting of SETTINGS) {
    for (const source of sources) {
      const raw = setting.kind === 'zones' && source.values === fileValues ? fileValues['zones'] : source.values[setting.flag];
      if (raw === undefined) continue;
      const parsed = parseSetting(setting, raw, source);
      if (typeof parsed === 'string') problems.push(`${source.describe(setting.flag)}: ${parsed}`);
      else (config as unknown as Record<string, unknown>)[setting.key] = parsed.value;
    }
  }
  if (config.listen.length === 0) problems.push('--listen: give at least one address');
  return problems.length > 0 ? { ok: false, problems } : { ok: true, config };
}

/** Parses one raw value; a string is a problem description. */
function parseSetting(setting: Setting, raw: unknown, source: Source): { value: unknown } | string {
  switch (setting.kind) {
    case 'strings': {
      const list = (Array.isArray(raw) ? raw : [raw]).flatMap((v) => String(v).split(',')).map((v) => v.trim()).filter(Boolean);
      const bad = list.filter((a) => isIP(a.split('%')[0] ?? '') === 0);
      if (bad.length > 0) return `not an IP address: ${bad.map((b) => `"${b}"`).join(', ')} (give literals such as 127.0.0.1, ::1, 0.0.0.0 or ::)`;
      return { value: [...new Set(list)] };
    }
    case 'int':
    case 'seconds': {
      const last = Array.isArray(raw) ? raw[raw.length - 1] : raw;
      const n = typeof last === 'number' ? last : typeof last === 'string' && last.trim() !== '' ? Number(last) : NaN;
      const min = setting.min ?? -Infinity;
      const max = setting.max ?? Infinity;
      const unit = setting.kind === 'int' ? 'a whole number' : 'a number of seconds';
      if (!Number.isFinite(n) || (setting.kind === 'int' && !Number.isInteger(n)) || n < min || n > max) {
        return `must be ${unit} from ${min} to ${max}, got ${JSON.stringify(last)}`;
      }
      return { value: n };
    }
    case 'enum': {
      const last = Array.isArray(raw) ? raw[raw.length - 1] : raw;
      const choices = setting.choices ?? [];
      if (typeof last !== 'string' || !choices.includes(last)) return `must be one of ${choices.join(', ')}, got ${JSON.stringify(last)}`;
      return { value: last };
    }
    case 'zones':
      return parseZones(raw, source.baseDir);
  }
}

/** `--zone example.com.=zones/example.com.zone` or `[{ "name": …, "file": … }]`. */
function parseZones(raw: unknown, baseDir: string): { value: ZoneConfig[] } | string {
  const items = Array.isArray(raw) ? raw : [raw];
  const zones: ZoneConfig[] = [];
  for (const item of items) {
    let name: unknown;
    let file: unknown;
    if (typeof item === 'string') {
      const eq = item.indexOf('=');
      if (eq <= 0 || eq === item.length - 1) return `expected ORIGIN=FILE, got "${item}"`;
      name = item.slice(0, eq);
      file = item.slice(eq + 1);
    } else if (item !== null && typeof item === 'object') {
      ({ name, file } = item as { name?: unknown; file?: unknown });
    }
    if (typeof name !== 'string' || name === '' || typeof file !== 'string' || file === '') {
      return `each zone needs a "name" (origin) and a "file", got ${JSON.stringify(item)}`;
    }
    const origin = name.endsWith('.') ? name : `${name}.`;
    if (zones.some((z) => z.name.toLowerCase() === origin.toLowerCase())) return `zone ${origin} is listed twice`;
    zones.push({ name: origin, file: resolve(baseDir, file) });
  }
  return { value: zones };
}
