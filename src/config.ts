/** Settings: the one place for defaults and validation, shared by `serve` and `check`. */

import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { homedir } from 'node:os';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { parseSecret } from './abuse/cookie-secret.js';
import { DEFAULT_RRL_EXEMPT, PrefixList } from './abuse/prefix-list.js';
import { RRL_DEFAULTS } from './abuse/rrl.js';
import { DEFAULT_RECURSION_ACL, compileAcl } from './forward/acl.js';
import { parseForwardSpec, parseUpstream, type ForwardSpec, type Upstream } from './forward/upstreams.js';
import { parseForwardZones, shadowedForwardZones, type ForwardZone } from './forward/forward-zones.js';
import { LOG_FORMATS, LOG_LEVELS, type LogFormat, type LogLevel } from './log.js';
import { NameError, nameKey, parseZoneName, presentName } from './zone/names.js';
import { userSpecProblem } from './ops/user-spec.js';
import type { AclEntry } from './xfr/acl.js';
import { TSIG_ALGORITHMS, type TsigAlgorithm, type TsigKeySpec } from './xfr/tsig.js';
import { randomOctets } from './lazy-crypto.js';

/** The UDP I/O engines: recvmmsg/sendmmsg batches through koffi, node:dgram, or a thread blocking in recvmmsg that answers reply-cache hits (src/net/udp-thread.ts). */
export const IO_ENGINES = ['mmsg', 'dgram', 'thread'] as const;
/** A switch: `on` or `off`. */
export const ON_OFF = ['on', 'off'] as const;
/** One of {@link ON_OFF}. */
export type OnOff = (typeof ON_OFF)[number];

/** One of {@link IO_ENGINES}. */
export type IoEngine = (typeof IO_ENGINES)[number];

/** A zone to serve: its origin and the master file it is read from. */
export interface ZoneConfig {
  /** Absolute origin with trailing dot, e.g. `example.com.` */
  name: string;
  /** Path of the zone file (resolved against the config file's folder). */
  file: string;
  /** Keep an IXFR journal of the zone's changes (src/xfr/journal.ts): set when someone may transfer it. */
  journal?: boolean;
}

/** How a zone is had: a primary reads its zone file; a secondary transfers it from its primaries (RFC 5936, RFC 1995). */
export const ZONE_TYPES = ['primary', 'secondary'] as const;
/** One of {@link ZONE_TYPES}. */
export type ZoneType = (typeof ZONE_TYPES)[number];

/** A server a zone talks to: a primary it transfers from, or a secondary it notifies. */
export interface Remote {
  address: string;
  port: number;
  /** The TSIG key requests to it are signed with (a name in `keys`: lower case, trailing dot), or null. */
  key: string | null;
}

/** What a zone entry says besides where its data comes from (the same for both types). */
export interface ZoneTransferSettings {
  /** Absolute origin with trailing dot, e.g. `example.com.` */
  name: string;
  /** Secondaries told of each new serial (RFC 1996). */
  notify: Remote[];
  /** Who may transfer the zone from us (AXFR, IXFR); empty: nobody. */
  allowTransfer: AclEntry[];
  /** Who may tell us of a new serial (secondary zones; RFC 1996 §3.10); empty: nobody. */
  allowNotify: AclEntry[];
}

/** A zone read from its zone file. */
export interface PrimaryZone extends ZoneConfig, ZoneTransferSettings {
  type: 'primary';
}

/** A zone transferred from its primaries. */
export interface SecondaryZone extends ZoneTransferSettings {
  type: 'secondary';
  /** Where the zone is transferred from, tried in this order. */
  primaries: Remote[];
  /**
   * The zone is a catalog (RFC 9432): each member it lists becomes a
   * secondary zone with the catalog's primaries, allow-notify and
   * allow-transfer, added and removed as the catalog changes.
   */
  catalog?: true;
}

/** One configured zone, either type. */
export type ZoneSpec = PrimaryZone | SecondaryZone;

/** The zones read from zone files (what the zone builder builds). */
export function primaryZones(config: Pick<Config, 'zones'>): PrimaryZone[] {
  return config.zones.filter((z): z is PrimaryZone => z.type === 'primary');
}

/** An address and port to listen on, e.g. `--metrics 127.0.0.1:9153`. */
export interface HostPort {
  address: string;
  port: number;
}

/** Where dnstap goes: a Frame Streams file, or a unix socket a collector listens on (`unix:/path`). */
export type DnstapSink = { kind: 'file'; path: string } | { kind: 'unix'; path: string };

/** Where the query log goes: a file (appended to) or standard output (`-`). */
export type QueryLogSink = { kind: 'file'; path: string } | { kind: 'stdout' };

/** Everything a running shardns needs to know, validated. */
export interface Config {
  listen: string[];
  port: number;
  workers: number;
  workerTimeout: number;
  shutdownTimeout: number;
  io: IoEngine;
  /** `--io thread`: after a busy recvmmsg batch, wait this long (µs) before the next (0: never). */
  udpCoalesceUs: number;
  answerCache: number;
  tcpIdleTimeout: number;
  tcpMessageTimeout: number;
  tcpMaxConnections: number;
  tcpMaxConnectionsPerClient: number;
  ednsUdpSize: number;
  logLevel: LogLevel;
  logFormat: LogFormat;
  zones: ZoneSpec[];
  /** TSIG keys (RFC 8945) the zones' transfer settings name: the config file's "keys". */
  keys: TsigKeySpec[];
  /** `--forward` as given: upstreams, auto or none. */
  forward: ForwardSpec;
  /** The upstreams in use, once `auto` is worked out at start (see resolveUpstreams). */
  upstreams: Upstream[];
  allowRecursion: string[];
  forwardTimeout: number;
  forwardDeadline: number;
  /** Upstream questions in flight per worker at most; further cache misses get SERVFAIL at once (as dnsmasq's dns-forward-max). */
  forwardMax: number;
  /** Conditional forwarding (split DNS): domains whose names go to other upstreams, or nowhere (NXDOMAIN here). */
  forwardZones: ForwardZone[];
  /** Hosts files answered from, besides /etc/hosts (absolute paths). */
  hosts: string[];
  /** `on`: /etc/hosts is answered from when forwarding is on (dnsmasq's default; `off` as its no-hosts). */
  etcHosts: OnOff;
  /** Seconds an expired forwarded answer is kept to be given when no upstream answers (RFC 8767); 0: off. */
  staleMax: number;
  /** Seconds a client waits for a refresh before it gets the stale answer (RFC 8767 client response timer). */
  staleAnswerTimeout: number;
  /** Seconds a stale answer is given at once after a failed refresh, before the upstreams are asked again (RFC 8767 failure recheck timer). */
  staleRefreshTime: number;
  /** `on`: a cached forwarded answer asked for in the last tenth of its TTL is refreshed before it expires (Unbound's prefetch). */
  prefetch: OnOff;
  /** CA certificates (PEM file) tls:// upstreams' certificates are checked against; null: the system CAs. */
  tlsCa: string | null;
  cacheSize: number;
  cacheMaxBytes: number;
  cacheMinTtl: number;
  cacheMaxTtl: number;
  /** Absolute path of the folder for compiled zone images and their manifests (src/zone/image/store.ts). */
  stateDir: string;
  /** Where Prometheus metrics, /health and /ready are served over HTTP; null: off. */
  metrics: HostPort | null;
  /** Where every query and reply is written as dnstap (src/ops/dnstap.ts); null: off. */
  dnstap: DnstapSink | null;
  /** Where sampled queries are written as JSON lines (src/ops/query-log.ts); null: off. */
  queryLog: QueryLogSink | null;
  /** One query in this many goes to the query log. */
  queryLogSample: number;
  /** `--user NAME[:GROUP]`: who to run as after binding (src/ops/privileges.ts); null: root drops to a default user, anyone else stays. */
  user: string | null;
  /** Path of the control socket (`shardns ctl`, src/ops/control.ts); null: `control.sock` in the state directory. */
  control: string | null;
  /** Response rate limiting (src/abuse/rrl.ts): UDP replies per second per client prefix and response class; 0: off. */
  rrl: number;
  /** Every rrlSlip-th limited reply goes out truncated (TC=1); 0: none does. */
  rrlSlip: number;
  rrlIpv4Prefix: number;
  rrlIpv6Prefix: number;
  /** Clients never rate-limited (CIDR blocks, `any`, `none`). */
  rrlExempt: string[];
  /** RRL buckets per worker. */
  rrlSize: number;
  /** `on`: COOKIE options are answered (RFC 7873, RFC 9018; src/abuse/cookies.ts). */
  cookies: OnOff;
  /** Cookie secrets given (32 hex digits each; the first makes cookies); empty: secrets derived from `cookieSeed`, rotated. */
  cookieSecret: string[];
  /** Not a setting: 128 random bits (hex) made once per start, from which every worker derives the same rotating cookie secrets. */
  cookieSeed: string;
}

/** How a setting is read from a flag or config file value. */
type Kind = 'strings' | 'cidrs' | 'forward' | 'int' | 'seconds' | 'enum' | 'zones' | 'path' | 'forward-zones' | 'files' | 'ca-file' | 'endpoint' | 'dnstap' | 'log-file' | 'user' | 'socket' | 'prefixes' | 'secrets';

/** One setting: its flag, its config-file key (the same name), its default and its help. */
export interface Setting {
  flag: string;
  key: keyof Config;
  /** The config file's key when it is not the flag (`zones` for `--zone`). */
  fileKey?: string;
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
  { flag: 'io', key: 'io', kind: 'enum', choices: IO_ENGINES, describe: 'UDP engine: batched recvmmsg/sendmmsg through koffi, node:dgram, or thread (experimental: a thread per UDP socket blocks in recvmmsg and answers reply-cache hits; the rest goes to the worker)', defaultText: 'mmsg' },
  { flag: 'udp-coalesce-us', key: 'udpCoalesceUs', kind: 'int', describe: 'with --io thread: after a recvmmsg that returned 2 or more datagrams (a busy socket), wait this long (µs) before the next, so each wake-up and system call takes more (less CPU per query, up to this much more latency for a query that arrives during the wait; a lone query never waits); 0 turns it off', defaultText: '0', min: 0, max: 1000 },
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
  {
    flag: 'forward-zone',
    key: 'forwardZones',
    fileKey: 'forward-zones',
    kind: 'forward-zones',
    describe: 'split DNS: send a domain\'s names to other upstreams, DOMAIN=UPSTREAMS (comma list), or DOMAIN=none to answer NXDOMAIN here (repeatable); in the config file "forward-zones": [{"name","to"}]',
    defaultText: 'none',
  },
  { flag: 'hosts', key: 'hosts', kind: 'files', describe: 'hosts files (hosts(5)) to answer A, AAAA and PTR from, besides /etc/hosts (repeatable); reloaded when they change', defaultText: 'none' },
  { flag: 'etc-hosts', key: 'etcHosts', kind: 'enum', choices: ON_OFF, describe: 'answer from /etc/hosts when forwarding is on', defaultText: 'on' },
  { flag: 'stale-max', key: 'staleMax', kind: 'int', describe: 'serve-stale (RFC 8767): give an expired answer (TTL 30) when no upstream answers, up to this long past its TTL (seconds; 0: off)', defaultText: '86400', min: 0, max: 604800 },
  { flag: 'stale-answer-timeout', key: 'staleAnswerTimeout', kind: 'seconds', describe: 'a client waits this long for a refresh before it gets the stale answer (seconds, RFC 8767 client response timer)', defaultText: '1.8', min: 0, max: 60 },
  { flag: 'stale-refresh-time', key: 'staleRefreshTime', kind: 'seconds', describe: 'after a failed refresh, give the stale answer at once for this long before asking again (seconds, RFC 8767 failure recheck timer)', defaultText: '30', min: 0, max: 3600 },
  { flag: 'prefetch', key: 'prefetch', kind: 'enum', choices: ON_OFF, describe: 'refresh a cached answer asked for in the last tenth of its TTL before it expires (as Unbound\'s prefetch)', defaultText: 'on' },
  { flag: 'tls-ca', key: 'tlsCa', kind: 'ca-file', describe: 'PEM file of the CA certificates tls:// upstreams\' certificates must be issued by ("system": the system\'s CA bundle)', defaultText: 'system' },
  { flag: 'cache-size', key: 'cacheSize', kind: 'int', describe: 'forwarded answers kept per worker (entries; LRU)', defaultText: '10000', min: 0, max: 10_000_000 },
  { flag: 'cache-max-bytes', key: 'cacheMaxBytes', kind: 'int', describe: 'memory the forwarding cache may use per worker (bytes, estimated)', defaultText: '67108864', min: 1024, max: 2 ** 40 },
  { flag: 'cache-min-ttl', key: 'cacheMinTtl', kind: 'int', describe: 'keep positive answers at least this long (seconds)', defaultText: '0', min: 0, max: 604800 },
  { flag: 'cache-max-ttl', key: 'cacheMaxTtl', kind: 'int', describe: 'keep answers at most this long (seconds)', defaultText: '86400', min: 0, max: 604800 },
  { flag: 'log-level', key: 'logLevel', kind: 'enum', choices: LOG_LEVELS, describe: 'least severe log lines to print', defaultText: 'info' },
  { flag: 'log-format', key: 'logFormat', kind: 'enum', choices: LOG_FORMATS, describe: 'log line format', defaultText: 'text' },
  { flag: 'zone', key: 'zones', fileKey: 'zones', kind: 'zones', describe: 'serve a zone as its primary: ORIGIN=FILE (repeatable); in the config file "zones": [{"name","file"}], with "type", "primaries", "notify", "allow-transfer", "allow-notify", "catalog" (see README, Zone transfers)', defaultText: 'none' },
  {
    flag: 'state-dir',
    key: 'stateDir',
    kind: 'path',
    describe: 'folder for compiled zone images (created 0750; kept across restarts, so unchanged zones are not parsed again)',
    defaultText: '/var/lib/shardns as root, else $XDG_STATE_HOME/shardns or ~/.local/state/shardns',
  },
  { flag: 'metrics', key: 'metrics', kind: 'endpoint', describe: 'serve Prometheus metrics, /health and /ready over HTTP on ADDR:PORT (e.g. 127.0.0.1:9153)', defaultText: 'off' },
  { flag: 'dnstap', key: 'dnstap', kind: 'dnstap', describe: 'write every query and reply as dnstap (Frame Streams) to FILE, or to a collector listening on unix:PATH', defaultText: 'off' },
  { flag: 'query-log', key: 'queryLog', kind: 'log-file', describe: 'write queries as JSON lines to FILE (appended), or - for standard output', defaultText: 'off' },
  { flag: 'query-log-sample', key: 'queryLogSample', kind: 'int', describe: 'write one query in N to the query log', defaultText: '1', min: 1, max: 1_000_000_000 },
  { flag: 'user', key: 'user', kind: 'user', describe: 'after binding, run as this user (and group): NAME or NAME:GROUP; root is refused', defaultText: 'started as root: shardns, else nobody; otherwise the user that starts it' },
  { flag: 'control', key: 'control', kind: 'socket', describe: 'path of the control socket that "shardns ctl" talks to (mode 0600, owned by the server\'s user)', defaultText: 'control.sock in the state directory' },
  { flag: 'rrl', key: 'rrl', kind: 'int', describe: 'response rate limit: UDP replies per second one client prefix gets of one kind (name, type, response class), per worker; 0 turns it off', defaultText: String(RRL_DEFAULTS.rate), min: 0, max: 1_000_000 },
  { flag: 'rrl-slip', key: 'rrlSlip', kind: 'int', describe: 'every Nth rate-limited reply is sent truncated (TC=1) so real clients retry over TCP, the rest dropped; 0: all dropped, 1: all truncated', defaultText: String(RRL_DEFAULTS.slip), min: 0, max: 100 },
  { flag: 'rrl-ipv4-prefix', key: 'rrlIpv4Prefix', kind: 'int', describe: 'IPv4 clients are rate-limited per prefix of this length', defaultText: String(RRL_DEFAULTS.ipv4Prefix), min: 8, max: 32 },
  { flag: 'rrl-ipv6-prefix', key: 'rrlIpv6Prefix', kind: 'int', describe: 'IPv6 clients are rate-limited per prefix of this length', defaultText: String(RRL_DEFAULTS.ipv6Prefix), min: 16, max: 64 },
  { flag: 'rrl-exempt', key: 'rrlExempt', kind: 'prefixes', describe: 'clients never rate-limited (CIDR list, "none" or "any")', defaultText: 'loopback (127.0.0.0/8, ::1)' },
  { flag: 'rrl-size', key: 'rrlSize', kind: 'int', describe: 'rate-limiting buckets per worker (16 octets each)', defaultText: String(RRL_DEFAULTS.buckets), min: 1, max: 100_000_000 },
  { flag: 'cookies', key: 'cookies', kind: 'enum', choices: ON_OFF, describe: 'answer DNS cookies (RFC 7873) with server cookies as RFC 9018 makes them', defaultText: 'on' },
  { flag: 'cookie-secret', key: 'cookieSecret', kind: 'secrets', describe: 'server cookie secrets, 32 hex digits each (comma list): the first makes cookies, all are accepted', defaultText: 'random at start, a new one every 26 hours (the previous one still accepted)' },
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
    udpCoalesceUs: 0,
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
    keys: [],
    forward: { mode: 'auto' },
    upstreams: [],
    allowRecursion: [...DEFAULT_RECURSION_ACL],
    forwardTimeout: 1,
    forwardDeadline: 3,
    // dnsmasq's dns-forward-max default. Each question out holds a UDP socket (a file descriptor),
    // timers and the client's query for up to forward-deadline; 150 at a 50 ms upstream round trip
    // still passes 3000 cache misses a second per worker, more than a local resolver sees.
    forwardMax: 150,
    forwardZones: [],
    hosts: [],
    etcHosts: 'on',
    // RFC 8767 §5 suggests 1 to 3 days; 1 day, as the issue asks and Unbound's serve-expired-ttl examples.
    staleMax: 86400,
    // RFC 8767 §5: 1.8 s, just under the 2 s many stub resolvers wait.
    staleAnswerTimeout: 1.8,
    // RFC 8767 §5 and BIND's stale-refresh-time: 30 s.
    staleRefreshTime: 30,
    // At most one more upstream question per name in use per TTL, and hot names never miss.
    prefetch: 'on',
    tlsCa: null,
    cacheSize: 10000,
    cacheMaxBytes: 64 * 1024 * 1024,
    cacheMinTtl: 0,
    cacheMaxTtl: 86400,
    stateDir,
    metrics: null,
    dnstap: null,
    queryLog: null,
    queryLogSample: 1,
    user: null,
    control: null,
    // NSD's RRL defaults but the IPv6 prefix, BIND's /56 (a site's usual allocation).
    rrl: RRL_DEFAULTS.rate,
    rrlSlip: RRL_DEFAULTS.slip,
    rrlIpv4Prefix: RRL_DEFAULTS.ipv4Prefix,
    rrlIpv6Prefix: RRL_DEFAULTS.ipv6Prefix,
    rrlExempt: [...DEFAULT_RRL_EXEMPT],
    rrlSize: RRL_DEFAULTS.buckets,
    cookies: 'on',
    cookieSecret: [],
    cookieSeed: randomOctets(16).toString('hex'),
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
    const fileKeys = new Set([...SETTINGS.map((s) => s.fileKey ?? s.flag), ...FILE_ONLY_KEYS]);
    for (const key of Object.keys(fileValues)) {
      if (fileKeys.has(key)) continue;
      problems.push(`${fileName}: unknown setting "${key}"; known settings: ${[...fileKeys].join(', ')}`);
    }
    sources.push({ values: fileValues, describe: (flag) => `${fileName}: "${fileKeyOf(flag)}"`, baseDir: dirname(resolve(cwd, fileName)) });
  }
  sources.push({ values: cliValues, describe: (flag) => `--${flag}`, baseDir: cwd });
  // TSIG keys come from the config file only (a secret on the command line shows in `ps`); zones name them.
  if (fileValues !== null && fileName !== null && fileValues['keys'] !== undefined) {
    const keys = parseKeys(fileValues['keys'], dirname(resolve(cwd, fileName)));
    for (const p of keys.problems) problems.push(`${fileName}: "keys": ${p}`);
    config.keys = keys.keys;
  }
  const keyNames = new Set(config.keys.map((k) => k.name));

  for (const setting of SETTINGS) {
    for (const source of sources) {
      const raw = source.values === fileValues ? fileValues[setting.fileKey ?? setting.flag] : source.values[setting.flag];
      if (raw === undefined) continue;
      const parsed = parseSetting(setting, raw, source, keyNames);
      if (typeof parsed === 'string' || Array.isArray(parsed)) for (const p of [parsed].flat()) problems.push(`${source.describe(setting.flag)}: ${p}`);
      else (config as unknown as Record<string, unknown>)[setting.key] = parsed.value;
    }
  }
  if (config.listen.length === 0) problems.push('--listen: give at least one address');
  if (config.cacheMinTtl > config.cacheMaxTtl) problems.push(`--cache-min-ttl (${config.cacheMinTtl}) is above --cache-max-ttl (${config.cacheMaxTtl})`);
  for (const p of shadowedForwardZones(config.forwardZones, config.zones)) problems.push(`forward-zones: ${p}`);
  // The UDP thread answers from its copy of the reply cache and logs nothing itself (src/net/udp-thread.ts).
  if (config.io === 'thread' && config.answerCache === 0) problems.push('--io thread answers from the reply cache, which --answer-cache 0 turns off: give --answer-cache above 0, or --io mmsg');
  if (config.io !== 'thread' && config.udpCoalesceUs > 0) problems.push(`--udp-coalesce-us ${config.udpCoalesceUs}: only the UDP thread waits to coalesce batches, and --io is ${config.io}: give --io thread, or --udp-coalesce-us 0`);
  if (config.io === 'thread' && (config.dnstap !== null || config.queryLog !== null)) problems.push(`--io thread does not log the queries it answers: with ${config.dnstap !== null ? '--dnstap' : '--query-log'} use --io mmsg (the default)`);
  return problems.length > 0 ? { ok: false, problems } : { ok: true, config };
}

/** The config file's key of a flag (`zones` for `zone`). */
function fileKeyOf(flag: string): string {
  return SETTINGS.find((s) => s.flag === flag)?.fileKey ?? flag;
}

/** Parses one raw value; a string is a problem description (a list: several). `keys`: the TSIG key names defined. */
function parseSetting(setting: Setting, raw: unknown, source: Source, keys: ReadonlySet<string>): { value: unknown } | string | string[] {
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
    case 'prefixes': {
      const list = (Array.isArray(raw) ? raw : [raw]).flatMap((v) => String(v).split(',')).map((v) => v.trim()).filter(Boolean);
      const prefixes = PrefixList.compile(list);
      return typeof prefixes === 'string' ? prefixes : { value: list };
    }
    case 'secrets': {
      const list = (Array.isArray(raw) ? raw : [raw]).flatMap((v) => String(v).split(',')).map((v) => v.trim()).filter(Boolean);
      const bad = list.map(parseSecret).find((r): r is string => typeof r === 'string');
      return bad ?? { value: list };
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
      return parseZones(raw, source.baseDir, keys);
    case 'endpoint':
      return parseHostPort(Array.isArray(raw) ? raw[raw.length - 1] : raw);
    case 'dnstap':
    case 'log-file':
      return parseSink(setting.kind, Array.isArray(raw) ? raw[raw.length - 1] : raw, source.baseDir);
    case 'files': {
      const list = Array.isArray(raw) ? raw : [raw];
      const bad = list.find((f) => typeof f !== 'string' || f.trim() === '' || f.includes('\0'));
      if (bad !== undefined) return `must be file paths, got ${JSON.stringify(bad)}`;
      const tilde = (list as string[]).find((f) => f.startsWith('~'));
      if (tilde !== undefined) return `"~" is not expanded here: give the file as an absolute path, got "${tilde}"`;
      return { value: [...new Set((list as string[]).map((f) => resolve(source.baseDir, f)))] };
    }
    case 'ca-file': {
      const last = Array.isArray(raw) ? raw[raw.length - 1] : raw;
      if (last === 'system') return { value: null };
      if (typeof last !== 'string' || last.trim() === '' || last.includes('\0')) return `must be a PEM file of CA certificates, or "system", got ${JSON.stringify(last)}`;
      if (last.startsWith('~')) return `"~" is not expanded here: give the file as an absolute path, got "${last}"`;
      return { value: resolve(source.baseDir, last) };
    }
    case 'forward-zones': {
      const parsed = parseForwardZones(raw);
      return parsed.ok ? { value: parsed.zones } : parsed.problems.join('; ');
    }
    case 'user': {
      const last = Array.isArray(raw) ? raw[raw.length - 1] : raw;
      const problem = typeof last === 'string' ? userSpecProblem(last) : `must be NAME or NAME:GROUP, got ${JSON.stringify(last)}`;
      return problem === null ? { value: last } : problem;
    }
    case 'socket': {
      const last = Array.isArray(raw) ? raw[raw.length - 1] : raw;
      if (typeof last !== 'string' || last.trim() === '' || last.includes('\0')) return `must be the path of a unix socket file, got ${JSON.stringify(last)}`;
      if (last.startsWith('~')) return `"~" is not expanded here: give an absolute path, got "${last}"`;
      return { value: resolve(source.baseDir, last) };
    }
    case 'path': {
      const last = Array.isArray(raw) ? raw[raw.length - 1] : raw;
      if (typeof last !== 'string' || last.trim() === '') return `must be a folder path, got ${JSON.stringify(last)}`;
      if (last.includes('\0')) return 'must be a folder path without NUL characters';
      if (last.startsWith('~')) return `"~" is not expanded here: give the folder as an absolute path, got "${last}"`;
      return { value: resolve(source.baseDir, last) };
    }
  }
}

/** `127.0.0.1:9153` or `[::1]:9153`. */
function parseHostPort(raw: unknown): { value: HostPort } | string {
  const text = typeof raw === 'string' ? raw.trim() : '';
  const m = /^\[([^\]]+)\]:(\d+)$/.exec(text) ?? /^([^:[\]]+):(\d+)$/.exec(text);
  const port = m ? Number(m[2]) : NaN;
  if (!m || isIP(m[1]!) === 0 || !(port >= 1 && port <= 65535)) {
    return `must be ADDRESS:PORT with an IP address and a port from 1 to 65535 (127.0.0.1:9153, [::1]:9153), got ${JSON.stringify(raw)}`;
  }
  return { value: { address: m[1]!, port } };
}

/** `--dnstap FILE` or `unix:PATH`; `--query-log FILE` or `-`. Relative paths resolve against `baseDir`. */
function parseSink(kind: 'dnstap' | 'log-file', raw: unknown, baseDir: string): { value: DnstapSink | QueryLogSink } | string {
  const text = typeof raw === 'string' ? raw.trim() : '';
  if (text === '' || text.includes('\0')) return `must be a file path${kind === 'dnstap' ? ' or unix:PATH' : ' or -'}, got ${JSON.stringify(raw)}`;
  if (text.startsWith('~')) return `"~" is not expanded here: give an absolute path, got "${text}"`;
  if (kind === 'log-file') return { value: text === '-' ? { kind: 'stdout' } : { kind: 'file', path: resolve(baseDir, text) } };
  if (!text.startsWith('unix:')) return { value: { kind: 'file', path: resolve(baseDir, text) } };
  const path = text.slice('unix:'.length);
  if (path === '') return 'unix: needs the path of the collector\'s socket, e.g. unix:/run/dnstap.sock';
  return { value: { kind: 'unix', path: resolve(baseDir, path) } };
}

/** Top-level keys of the config file that are not flags. */
const FILE_ONLY_KEYS = ['keys'] as const;

/** The settings a zone entry takes (anything else, a typo included, is an error). */
const ZONE_SETTINGS = ['name', 'type', 'file', 'primaries', 'notify', 'allow-transfer', 'allow-notify', 'catalog'] as const;
/** The settings a key entry takes. */
const KEY_SETTINGS = ['name', 'algorithm', 'secret', 'secret-file'] as const;
/** The settings an address-and-key object takes (a primary, a notify target, an allow entry). */
const REMOTE_SETTINGS = ['address', 'key'] as const;

/**
 * `--zone example.com.=zones/example.com.zone` (a primary), or the config
 * file's `"zones"`: entries `{ "name", "type", "file" | "primaries",
 * "notify", "allow-transfer", "allow-notify" }` (type `primary` by default).
 * Every problem is reported, each naming the zone and the setting.
 */
function parseZones(raw: unknown, baseDir: string, keys: ReadonlySet<string>): { value: ZoneSpec[] } | string[] {
  const items = Array.isArray(raw) ? raw : [raw];
  const zones: ZoneSpec[] = [];
  const problems: string[] = [];
  items.forEach((item, index) => {
    const zone = typeof item === 'string' ? zoneFromFlag(item, baseDir, problems) : zoneFromEntry(item, index, baseDir, keys, problems);
    if (zone === null) return;
    if (zones.some((z) => nameKey(z.name) === nameKey(zone.name))) problems.push(`zone ${zone.name} is listed twice`);
    else zones.push(zone);
  });
  return problems.length > 0 ? problems : { value: zones };
}

/** `ORIGIN=FILE`: a primary zone with no transfer settings. */
function zoneFromFlag(item: string, baseDir: string, problems: string[]): PrimaryZone | null {
  const eq = item.indexOf('=');
  if (eq <= 0 || eq === item.length - 1) {
    problems.push(`expected ORIGIN=FILE, got "${item}"`);
    return null;
  }
  const origin = zoneOrigin(item.slice(0, eq), problems);
  if (origin === null) return null;
  return { name: origin, type: 'primary', file: resolve(baseDir, item.slice(eq + 1)), notify: [], allowTransfer: [], allowNotify: [] };
}

/** One entry of the config file's "zones". */
function zoneFromEntry(item: unknown, index: number, baseDir: string, keys: ReadonlySet<string>, problems: string[]): ZoneSpec | null {
  if (item === null || typeof item !== 'object' || Array.isArray(item)) {
    problems.push(`zone #${index + 1}: each zone is an object such as { "name": "example.com.", "file": "zones/example.com.zone" }, got ${JSON.stringify(item)}`);
    return null;
  }
  const o = item as Record<string, unknown>;
  if (typeof o['name'] !== 'string' || o['name'] === '') {
    problems.push(`zone #${index + 1}: each zone needs a "name" (its origin, e.g. example.com.), got ${JSON.stringify(item)}`);
    return null;
  }
  const origin = zoneOrigin(o['name'], problems);
  if (origin === null) return null;
  const before = problems.length;
  const say = (setting: string, what: string): void => void problems.push(`zone ${origin}: "${setting}": ${what}`);
  for (const key of Object.keys(o)) {
    if ((ZONE_SETTINGS as readonly string[]).includes(key)) continue;
    const near = closest(key, ZONE_SETTINGS);
    say(key, `unknown setting${near ? ` (did you mean "${near}"?)` : ''}; a zone takes ${ZONE_SETTINGS.join(', ')}`);
  }
  let type: ZoneType = 'primary';
  if (o['type'] !== undefined) {
    const t = o['type'];
    const old: Record<string, ZoneType> = { master: 'primary', slave: 'secondary' };
    if (typeof t === 'string' && (ZONE_TYPES as readonly string[]).includes(t)) type = t as ZoneType;
    else say('type', `must be "primary" (read from "file") or "secondary" (transferred from "primaries"), got ${JSON.stringify(t)}${typeof t === 'string' && old[t] ? `: write "${old[t]}"` : ''}`);
  }
  const notify = o['notify'] === undefined ? [] : remotes(o['notify'], 'notify', keys, (w) => say('notify', w));
  const allowTransfer = o['allow-transfer'] === undefined ? [] : aclEntries(o['allow-transfer'], keys, (w) => say('allow-transfer', w));
  const allowNotify = o['allow-notify'] === undefined ? [] : aclEntries(o['allow-notify'], keys, (w) => say('allow-notify', w));
  const common = { name: origin, notify, allowTransfer, allowNotify };
  if (type === 'primary') {
    const file = o['file'];
    if (file === undefined) problems.push(`zone ${origin}: a primary zone needs "file" (its zone file), or "type": "secondary" and "primaries" to transfer it`);
    else if (typeof file !== 'string' || file === '' || file.includes('\0')) say('file', `must be the path of the zone file, got ${JSON.stringify(file)}`);
    if (o['primaries'] !== undefined) say('primaries', 'is for secondary zones: add "type": "secondary" (and remove "file"), or remove "primaries"');
    if (o['allow-notify'] !== undefined) say('allow-notify', 'is for secondary zones (a primary takes no NOTIFY): remove it');
    if (o['catalog'] !== undefined) say('catalog', 'is for secondary zones (shardns consumes catalogs, RFC 9432; it does not produce them): add "type": "secondary" and "primaries", or remove "catalog"');
    return problems.length > before ? null : { ...common, type, file: resolve(baseDir, file as string), journal: allowTransfer.length > 0 };
  }
  if (o['file'] !== undefined) say('file', 'is for primary zones; a secondary keeps what it transfers in the state directory: remove "file"');
  const primaries = o['primaries'] === undefined ? [] : remotes(o['primaries'], 'primaries', keys, (w) => say('primaries', w));
  if (primaries.length === 0 && problems.length === before) {
    problems.push(`zone ${origin}: a secondary zone needs "primaries": the servers it transfers the zone from, e.g. ["192.0.2.1", { "address": "192.0.2.2:5300", "key": "xfr-key" }]`);
  }
  const catalog = o['catalog'];
  if (catalog !== undefined && typeof catalog !== 'boolean') say('catalog', `must be true (the zone is a catalog, RFC 9432: its members become secondary zones) or false, got ${JSON.stringify(catalog)}`);
  return problems.length > before ? null : { ...common, type, primaries, ...(catalog === true ? { catalog: true } : {}) };
}

/** A zone's origin in presentation form, or null (the problem said). */
function zoneOrigin(name: string, problems: string[]): string | null {
  const parsed = parseZoneName(name);
  if (parsed instanceof NameError) {
    problems.push(`bad zone name "${name}": ${parsed.message}; write it as in a zone file, e.g. example.com. (or . for the root)`);
    return null;
  }
  return presentName(parsed);
}

/**
 * Servers of `primaries` or `notify`: `"ADDR"`, `"ADDR:PORT"`, `"[V6]:PORT"`
 * (port 53 by default), or `{ "address": …, "key": NAME }` to sign what we
 * send them with that key.
 */
function remotes(raw: unknown, setting: string, keys: ReadonlySet<string>, say: (what: string) => void): Remote[] {
  const out: Remote[] = [];
  for (const item of Array.isArray(raw) ? raw : [raw]) {
    let address: unknown = item;
    let key: string | null = null;
    if (item !== null && typeof item === 'object' && !Array.isArray(item)) {
      const o = item as Record<string, unknown>;
      for (const k of Object.keys(o)) if (!(REMOTE_SETTINGS as readonly string[]).includes(k)) say(`unknown setting "${k}" in ${JSON.stringify(item)}; a server takes "address" and "key"`);
      address = o['address'];
      if (o['key'] !== undefined) key = knownKey(o['key'], keys, say);
    }
    if (typeof address !== 'string' || address.trim() === '') {
      say(`each server is "ADDR", "ADDR:PORT", "[V6]:PORT" or { "address": …, "key": … }, got ${JSON.stringify(item)}`);
      continue;
    }
    if (/^[a-z][a-z0-9+.-]*:\/\//i.test(address) || address.includes('#')) {
      say(`"${address}": ${setting} are plain DNS servers: write ADDR, ADDR:PORT or [V6]:PORT`);
      continue;
    }
    const u = parseUpstream(address.trim());
    if (typeof u === 'string') say(u);
    else if (key !== null || !(item !== null && typeof item === 'object' && (item as Record<string, unknown>)['key'] !== undefined)) out.push({ address: u.address, port: u.port, key });
  }
  return out;
}

/**
 * Entries of `allow-transfer` or `allow-notify`: `"any"`, an address or
 * CIDR block (`"192.0.2.0/24"`), a key name (requests signed with it, from
 * anywhere), or `{ "address": CIDR, "key": NAME }` (both required).
 */
function aclEntries(raw: unknown, keys: ReadonlySet<string>, say: (what: string) => void): AclEntry[] {
  const out: AclEntry[] = [];
  for (const item of Array.isArray(raw) ? raw : [raw]) {
    if (typeof item === 'string') {
      const text = item.trim();
      if (text === 'none') continue;
      if (text === 'any' || typeof compileAcl([text]) !== 'string') {
        out.push({ address: text, key: null });
        continue;
      }
      const name = keyName(text);
      if (name !== null && keys.has(name)) out.push({ address: null, key: name });
      else say(`"${text}" is neither an address or CIDR block (192.0.2.1, 2001:db8::/32, any) nor the name of a key in "keys"`);
      continue;
    }
    if (item === null || typeof item !== 'object' || Array.isArray(item)) {
      say(`each entry is an address or CIDR block, a key name, or { "address": …, "key": … }, got ${JSON.stringify(item)}`);
      continue;
    }
    const o = item as Record<string, unknown>;
    for (const k of Object.keys(o)) if (!(REMOTE_SETTINGS as readonly string[]).includes(k)) say(`unknown setting "${k}" in ${JSON.stringify(item)}; an entry takes "address" and "key"`);
    if (o['address'] === undefined && o['key'] === undefined) {
      say(`an entry needs "address", "key" or both, got ${JSON.stringify(item)}`);
      continue;
    }
    let address: string | null = null;
    if (o['address'] !== undefined) {
      const a = typeof o['address'] === 'string' ? o['address'].trim() : '';
      const acl = a === '' ? 'not a string' : compileAcl([a]);
      if (typeof acl === 'string') {
        say(`"address": ${typeof o['address'] === 'string' ? acl : `must be an address or CIDR block, got ${JSON.stringify(o['address'])}`}`);
        continue;
      }
      address = a;
    }
    const key = o['key'] === undefined ? null : knownKey(o['key'], keys, say);
    if (o['key'] !== undefined && key === null) continue;
    out.push({ address, key });
  }
  return out;
}

/** A key name as keys are compared: presentation form, lower case, trailing dot; null when not a name. */
function keyName(text: string): string | null {
  const parsed = parseZoneName(text);
  return parsed instanceof NameError ? null : presentName(parsed).toLowerCase();
}

/** The name of a key defined in "keys", or null (the problem said). */
function knownKey(raw: unknown, keys: ReadonlySet<string>, say: (what: string) => void): string | null {
  const name = typeof raw === 'string' ? keyName(raw) : null;
  if (name !== null && keys.has(name)) return name;
  const defined = keys.size > 0 ? `; the keys defined are ${[...keys].join(', ')}` : '';
  say(`key ${JSON.stringify(raw)} is not among "keys": define it there ({ "name": ${JSON.stringify(raw)}, "algorithm": "hmac-sha256", "secret": "…" })${defined}`);
  return null;
}

/**
 * The config file's `"keys"`: `{ "name", "algorithm", "secret" }` with the
 * secret in base64, or `"secret-file"` naming a file that holds it (the
 * base64 alone, or a `secret "…";` / `secret: …` line as tsig-keygen and
 * keymgr write them; relative to the config file's folder).
 */
function parseKeys(raw: unknown, baseDir: string): { keys: TsigKeySpec[]; problems: string[] } {
  const keys: TsigKeySpec[] = [];
  const problems: string[] = [];
  if (!Array.isArray(raw)) return { keys, problems: [`must be a list of keys such as [{ "name": "xfr-key", "algorithm": "hmac-sha256", "secret": "…" }], got ${JSON.stringify(raw)}`] };
  raw.forEach((item, index) => {
    if (item === null || typeof item !== 'object' || Array.isArray(item)) {
      problems.push(`key #${index + 1}: each key is { "name", "algorithm", "secret" or "secret-file" }, got ${JSON.stringify(item)}`);
      return;
    }
    const o = item as Record<string, unknown>;
    const name = typeof o['name'] === 'string' ? keyName(o['name']) : null;
    if (name === null) {
      problems.push(`key #${index + 1}: "name" must be a domain name such as xfr-key or xfr.example.com., got ${JSON.stringify(o['name'])}`);
      return;
    }
    const before = problems.length;
    const say = (what: string): void => void problems.push(`key ${name}: ${what}`);
    for (const k of Object.keys(o)) {
      if ((KEY_SETTINGS as readonly string[]).includes(k)) continue;
      const near = closest(k, KEY_SETTINGS);
      say(`unknown setting "${k}"${near ? ` (did you mean "${near}"?)` : ''}; a key takes ${KEY_SETTINGS.join(', ')}`);
    }
    const algorithm = typeof o['algorithm'] === 'string' ? o['algorithm'].toLowerCase().replace(/\.$/, '') : o['algorithm'];
    if (typeof algorithm !== 'string' || !(TSIG_ALGORITHMS as readonly string[]).includes(algorithm)) {
      const md5 = typeof algorithm === 'string' && algorithm.startsWith('hmac-md5');
      say(`"algorithm" must be one of ${TSIG_ALGORITHMS.join(', ')}, got ${JSON.stringify(o['algorithm'])}${md5 ? ' (HMAC-MD5 is not supported: make a new key, e.g. tsig-keygen -a hmac-sha256 NAME or keymgr -t NAME hmac-sha256)' : ''}`);
    }
    let secret: string | null = null;
    if (o['secret'] !== undefined && o['secret-file'] !== undefined) say('give "secret" or "secret-file", not both');
    else if (o['secret'] !== undefined) secret = typeof o['secret'] === 'string' ? o['secret'] : null;
    else if (o['secret-file'] !== undefined) {
      const file = o['secret-file'];
      if (typeof file !== 'string' || file === '') say(`"secret-file" must be a file path, got ${JSON.stringify(file)}`);
      else {
        const path = resolve(baseDir, file);
        try {
          const text = readFileSync(path, 'utf8');
          secret = /secret\s*:?\s*"?([A-Za-z0-9+/=]+)"?/.exec(text)?.[1] ?? text;
        } catch (err) {
          say(`cannot read "secret-file" ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message} — check the path (relative paths start at the config file's folder) and that this user may read it`);
        }
      }
    } else say('needs "secret" (base64) or "secret-file"');
    const compact = secret?.replace(/\s+/g, '') ?? null;
    if (compact !== null && (!/^[A-Za-z0-9+/]+={0,2}$/.test(compact) || compact.length % 4 !== 0)) say('the secret is not base64 (as tsig-keygen and keymgr -t print it)');
    if (keys.some((k) => k.name === name)) say('is defined twice');
    if (problems.length === before && compact !== null) keys.push({ name, algorithm: algorithm as TsigAlgorithm, secret: compact });
  });
  return { keys, problems };
}

/** The candidate closest to a misspelt setting (edit distance at most 2), if any. */
function closest(word: string, candidates: readonly string[]): string | null {
  let best: string | null = null;
  let bestDistance = 3;
  for (const c of candidates) {
    const d = editDistance(word.toLowerCase(), c);
    if (d < bestDistance) {
      bestDistance = d;
      best = c;
    }
  }
  return best;
}

/** Levenshtein distance. */
function editDistance(a: string, b: string): number {
  let row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const next = [i];
    for (let j = 1; j <= b.length; j++) next[j] = Math.min(row[j]! + 1, next[j - 1]! + 1, row[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    row = next;
  }
  return row[b.length]!;
}
