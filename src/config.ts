/** Settings: the one place for defaults and validation, shared by `serve` and `check`. */

import { isIP } from 'node:net';
import { homedir } from 'node:os';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { DEFAULT_RECURSION_ACL, compileAcl } from './forward/acl.js';
import { parseForwardSpec, type ForwardSpec, type Upstream } from './forward/upstreams.js';
import { LOG_FORMATS, LOG_LEVELS, type LogFormat, type LogLevel } from './log.js';
import { NameError, nameKey, parseZoneName, presentName } from './zone/names.js';

/** The UDP I/O engines: recvmmsg/sendmmsg batches through koffi, or node:dgram. */
export const IO_ENGINES = ['mmsg', 'dgram'] as const;
/** One of {@link IO_ENGINES}. */
export type IoEngine = (typeof IO_ENGINES)[number];

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
  io: IoEngine;
  answerCache: number;
  tcpIdleTimeout: number;
  tcpMessageTimeout: number;
  tcpMaxConnections: number;
  tcpMaxConnectionsPerClient: number;
  ednsUdpSize: number;
  logLevel: LogLevel;
  logFormat: LogFormat;
  zones: ZoneConfig[];
  /** `--forward` as given: upstreams, auto or none. */
  forward: ForwardSpec;
  /** The upstreams in use, once `auto` is worked out at start (see resolveUpstreams). */
  upstreams: Upstream[];
  allowRecursion: string[];
  forwardTimeout: number;
  forwardDeadline: number;
  /** Upstream questions in flight per worker at most; further cache misses get SERVFAIL at once (as dnsmasq's dns-forward-max). */
  forwardMax: number;
  cacheSize: number;
  cacheMaxBytes: number;
  cacheMinTtl: number;
  cacheMaxTtl: number;
  /** Absolute path of the folder for compiled zone images and their manifests (src/zone/image/store.ts). */
  stateDir: string;
}

/** How a setting is read from a flag or config file value. */
type Kind = 'strings' | 'cidrs' | 'forward' | 'int' | 'seconds' | 'enum' | 'zones' | 'path';

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
  { flag: 'io', key: 'io', kind: 'enum', choices: IO_ENGINES, describe: 'UDP engine: batched recvmmsg/sendmmsg through koffi, or node:dgram', defaultText: 'mmsg' },
  { flag: 'answer-cache', key: 'answerCache', kind: 'int', describe: 'encoded replies kept per worker (entries; 0: off; up to 2 KiB each on average)', defaultText: '20000', min: 0, max: 10_000_000 },
  { flag: 'tcp-idle-timeout', key: 'tcpIdleTimeout', kind: 'seconds', describe: 'close a TCP connection idle this long (seconds, RFC 7766 §6.2.3)', defaultText: '10', min: 0.1, max: 3600 },
  { flag: 'tcp-message-timeout', key: 'tcpMessageTimeout', kind: 'seconds', describe: 'a TCP query begun must arrive whole within this long (seconds; slow senders are cut off)', defaultText: '0.5', min: 0.1, max: 3600 },
  { flag: 'tcp-max-connections', key: 'tcpMaxConnections', kind: 'int', describe: 'TCP connections one worker holds at most; at the limit the longest idle one is closed to admit a new one', defaultText: '128', min: 1, max: 65535 },
  { flag: 'tcp-max-connections-per-client', key: 'tcpMaxConnectionsPerClient', kind: 'int', describe: 'TCP connections one client (IPv4 address, IPv6 /64) holds in one worker; at the limit its own longest idle one is closed', defaultText: '32', min: 1, max: 65535 },
  { flag: 'edns-udp-size', key: 'ednsUdpSize', kind: 'int', describe: 'largest UDP reply we send to EDNS clients, and the size we advertise (RFC 6891)', defaultText: '1232', min: 512, max: 4096 },
  { flag: 'forward', key: 'forward', kind: 'forward', describe: 'resolve names outside our zones through these upstreams (ADDR, ADDR:PORT, [V6]:PORT, comma list), "auto" (resolv.conf) or "none"', defaultText: 'auto' },
  { flag: 'allow-recursion', key: 'allowRecursion', kind: 'cidrs', describe: 'clients that may use forwarding (CIDR list, "any" or "none"); others get REFUSED', defaultText: 'loopback, RFC 1918, RFC 6598, link-local, ULA' },
  { flag: 'forward-timeout', key: 'forwardTimeout', kind: 'seconds', describe: 'wait this long for one upstream attempt (seconds)', defaultText: '1', min: 0.05, max: 60 },
  { flag: 'forward-deadline', key: 'forwardDeadline', kind: 'seconds', describe: 'give up (SERVFAIL) after this long over all upstreams (seconds)', defaultText: '3', min: 0.05, max: 120 },
  { flag: 'forward-max', key: 'forwardMax', kind: 'int', describe: 'upstream questions in flight per worker at most; further cache misses get SERVFAIL at once (cached names are still answered)', defaultText: '150', min: 1, max: 65535 },
  { flag: 'cache-size', key: 'cacheSize', kind: 'int', describe: 'forwarded answers kept per worker (entries; LRU)', defaultText: '10000', min: 0, max: 10_000_000 },
  { flag: 'cache-max-bytes', key: 'cacheMaxBytes', kind: 'int', describe: 'memory the forwarding cache may use per worker (bytes, estimated)', defaultText: '67108864', min: 1024, max: 2 ** 40 },
  { flag: 'cache-min-ttl', key: 'cacheMinTtl', kind: 'int', describe: 'keep positive answers at least this long (seconds)', defaultText: '0', min: 0, max: 604800 },
  { flag: 'cache-max-ttl', key: 'cacheMaxTtl', kind: 'int', describe: 'keep answers at most this long (seconds)', defaultText: '86400', min: 0, max: 604800 },
  { flag: 'log-level', key: 'logLevel', kind: 'enum', choices: LOG_LEVELS, describe: 'least severe log lines to print', defaultText: 'info' },
  { flag: 'log-format', key: 'logFormat', kind: 'enum', choices: LOG_FORMATS, describe: 'log line format', defaultText: 'text' },
  { flag: 'zone', key: 'zones', kind: 'zones', describe: 'serve a zone: ORIGIN=FILE (repeatable); in the config file "zones": [{"name","file"}]', defaultText: 'none' },
  {
    flag: 'state-dir',
    key: 'stateDir',
    kind: 'path',
    describe: 'folder for compiled zone images (created 0750; kept across restarts, so unchanged zones are not parsed again)',
    defaultText: '/var/lib/shardns as root, else $XDG_STATE_HOME/shardns or ~/.local/state/shardns',
  },
];

/** Where the state directory is by default: `/var/lib/shardns` for root, `$XDG_STATE_HOME/shardns` (an absolute one) or `~/.local/state/shardns` for anyone else. */
export function defaultStateDir(
  uid: number = process.getuid?.() ?? -1,
  env: Readonly<Record<string, string | undefined>> = process.env,
  home: string = homedir(),
): string {
  if (uid === 0) return '/var/lib/shardns';
  const xdg = env['XDG_STATE_HOME'];
  // The XDG base directory spec: a relative value is invalid and ignored.
  if (xdg !== undefined && isAbsolute(xdg)) return join(xdg, 'shardns');
  return join(home, '.local', 'state', 'shardns');
}

/** The defaults; `workers` depends on the machine, so it is passed in, and `stateDir` on the user. */
export function defaults(cpus: number, stateDir: string = defaultStateDir()): Config {
  return {
    listen: ['127.0.0.1', '::1'],
    port: 53,
    workers: cpus,
    workerTimeout: 5,
    shutdownTimeout: 5,
    io: 'mmsg',
    answerCache: 20000,
    tcpIdleTimeout: 10,
    // Knot's tcp-io-timeout: a query fits one segment and arrives at once; a slow sender holds a slot 0.5 s at most.
    tcpMessageTimeout: 0.5,
    tcpMaxConnections: 128,
    // A quarter of a worker: one client (or NAT) never holds more, and a client's new connection replaces its own oldest idle one.
    tcpMaxConnectionsPerClient: 32,
    ednsUdpSize: 1232,
    logLevel: 'info',
    logFormat: 'text',
    zones: [],
    forward: { mode: 'auto' },
    upstreams: [],
    allowRecursion: [...DEFAULT_RECURSION_ACL],
    forwardTimeout: 1,
    forwardDeadline: 3,
    // dnsmasq's dns-forward-max default. Each question out holds a UDP socket (a file descriptor),
    // timers and the client's query for up to forward-deadline; 150 at a 50 ms upstream round trip
    // still passes 3000 cache misses a second per worker, more than a local resolver sees.
    forwardMax: 150,
    cacheSize: 10000,
    cacheMaxBytes: 64 * 1024 * 1024,
    cacheMinTtl: 0,
    cacheMaxTtl: 86400,
    stateDir,
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
  if (config.cacheMinTtl > config.cacheMaxTtl) problems.push(`--cache-min-ttl (${config.cacheMinTtl}) is above --cache-max-ttl (${config.cacheMaxTtl})`);
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
    case 'cidrs': {
      const list = (Array.isArray(raw) ? raw : [raw]).flatMap((v) => String(v).split(',')).map((v) => v.trim()).filter(Boolean);
      const acl = compileAcl(list);
      return typeof acl === 'string' ? acl : { value: list };
    }
    case 'forward': {
      const spec = parseForwardSpec((Array.isArray(raw) ? raw : [raw]).map(String));
      return typeof spec === 'string' ? spec : { value: spec };
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
    case 'path': {
      const last = Array.isArray(raw) ? raw[raw.length - 1] : raw;
      if (typeof last !== 'string' || last.trim() === '') return `must be a folder path, got ${JSON.stringify(last)}`;
      if (last.includes('\0')) return 'must be a folder path without NUL characters';
      if (last.startsWith('~')) return `"~" is not expanded here: give the folder as an absolute path, got "${last}"`;
      return { value: resolve(source.baseDir, last) };
    }
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
    const parsed = parseZoneName(name);
    if (parsed instanceof NameError) return `bad zone name "${name}": ${parsed.message}; write it as in a zone file, e.g. example.com. (or . for the root)`;
    const origin = presentName(parsed);
    if (zones.some((z) => nameKey(z.name) === nameKey(origin))) return `zone ${origin} is listed twice`;
    zones.push({ name: origin, file: resolve(baseDir, file) });
  }
  return { value: zones };
}
