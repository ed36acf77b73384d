/** The command line (yargs): `serve`, `check`, `probe` and `ctl`, wiring only. */

import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { networkInterfaces } from 'node:os';
import type { ParseError } from 'jsonc-parser';
import type { Argv } from 'yargs';
import { SETTINGS, primaryZones, resolveConfig, type Config } from './config.js';
import { usableCpus } from './cpus.js';
import { autoUpstreams, formatUpstream, resolvConfNameservers, type Upstream } from './forward/upstreams.js';
import { displayPath } from './display-path.js';
import { ShardnsError } from './errors.js';
import { createLogger, type Logger } from './log.js';
import type { Supervisor } from './supervisor.js';
import { VERSION } from './version.js';
import { quickArgs } from './quick-args.js';
import { controlPath, CONTROL_COMMANDS, CONTROL_SOCKET_NAME, removeControlSocket, type ControlCommand } from './ops/control.js';
import { CTL_TIMEOUT_S, runCtl } from './ops/ctl.js';
import type { Operator } from './ops/operator.js';

/** Exit codes: 0 fine, 1 could not run (bind failed, broken zone), 2 usage (bad flag or config value). */
export const EXIT = { OK: 0, FAILED: 1, USAGE: 2 } as const;

type Args = Record<string, unknown> & { config?: string; print?: boolean; verify?: boolean };

/** A command's handler, given what the command line said. */
export type RunCommand = (command: 'serve' | 'check' | 'probe' | 'ctl', args: Record<string, unknown>) => Promise<number>;

/** The settings kinds a flag of which may be given more than once (yargs `array`). */
export const LIST_KINDS: ReadonlySet<string> = new Set(['strings', 'zones', 'cidrs', 'forward']);

const runCommand: RunCommand = (command, args) => {
  switch (command) {
    case 'serve':
      return serve(args as Args);
    case 'check':
      return check(args as Args);
    case 'probe':
      return runProbe(args as unknown as ProbeArgs);
    case 'ctl':
      return ctl(args as unknown as CtlArgs);
  }
};

/**
 * Runs the command line; resolves to the exit code when the command is done.
 * A plain `serve` or `ctl` line is read by src/quick-args.ts; yargs, loaded
 * only then, reads every other (help, version, check, probe, anything
 * unusual or wrong, which it explains).
 */
export async function main(argv: string[]): Promise<number> {
  const quick = quickArgs(argv, SETTINGS, LIST_KINDS);
  if (quick.kind !== 'yargs') return runCommand(quick.kind, quick.args);
  return parseWithYargs(argv, runCommand);
}

/** Reads the command line with yargs and runs the command it names through `run`; exits 2 on a usage error. */
export async function parseWithYargs(argv: string[], run: RunCommand): Promise<number> {
  const { default: yargs } = await import('yargs');
  let exitCode: number = EXIT.OK;
  const parser = yargs(argv)
    .scriptName('shardns')
    .usage('$0 [serve] [options]\n$0 check [options]\n$0 probe [options]\n$0 ctl <status|reload [ZONE]|stats|upgrade|stop> [options]')
    .command(['serve', '$0'], 'answer DNS queries (the default command)', addSettings, async (args) => {
      exitCode = await run('serve', args);
    })
    .command(
      'check',
      'validate the configuration, parse and compile every zone as the builder does (in memory, nothing written), check the state directory, warn about what would break DNSSEC validation; binds nothing; exit 0 or 1',
      (y) =>
        addSettings(y)
          .option('print', { type: 'boolean', describe: 'write each zone in canonical form (one RR a line, absolute names, sorted)' })
          .option('verify', {
            type: 'boolean',
            describe: 'verify every DNSSEC signature of signed zones, as dnssec-verify does (RSASHA256/512, ECDSA P-256/P-384, Ed25519, Ed448); a bad, missing or expired signature fails the check',
          }),
      async (args) => {
        exitCode = await run('check', args);
      },
    )
    .command('probe', 'send one DNS query and print the reply; exit 0 when the rcode is the expected one (health checks)', addProbeOptions, async (args) => {
      exitCode = await run('probe', args);
    })
    .command(
      'ctl <command> [name]',
      'control the running server over its control socket: status, reload [ZONE], stats [--json], upgrade, stop; exit 0 when the command worked, 1 when it failed',
      addCtlOptions,
      async (args) => {
        exitCode = await run('ctl', args);
      },
    )
    .option('config', { type: 'string', describe: 'JSON file with any of these settings; flags on the command line win', requiresArg: true })
    .strict()
    .version(VERSION)
    .help()
    .alias('help', 'h')
    .wrap(Math.min(110, process.stdout.columns || 100))
    .epilogue('Examples:\n  shardns --port 5353                 serve on 127.0.0.1 and ::1, port 5353\n  shardns --config config/shardns.json --listen 0.0.0.0')
    .fail((msg, err) => {
      // yargs reports usage problems as YError; anything else is a bug to surface.
      if (err && err.name !== 'YError') throw err;
      process.stderr.write(`shardns: ${msg ?? err?.message}\nRun "shardns --help" for the flags and their values.\n`);
      process.exit(EXIT.USAGE);
    });
  if (!argv.some((a) => a === '--help' || a === '-h')) skipHelpRendering(parser);
  await parser.parseAsync();
  return exitCode;
}

/**
 * yargs renders a command's whole help (every setting, wrapped to the
 * terminal) before it runs the command, to have it at hand should the
 * command fail: about 130 ms of CPU at every `shardns ctl`, `check` and
 * `probe`, for a text the fail handler above never prints (it says what
 * went wrong and points at --help). When --help is not asked for, that
 * rendering is skipped; with --help yargs renders the help as usual. (A
 * yargs internal: where it is missing, nothing changes.)
 */
function skipHelpRendering(parser: Argv): void {
  const usage = (parser as unknown as { getInternalMethods?: () => { getUsageInstance?: () => { cacheHelpMessage?: () => void } } }).getInternalMethods?.().getUsageInstance?.();
  if (usage && typeof usage.cacheHelpMessage === 'function') usage.cacheHelpMessage = () => undefined;
}

function addSettings(y: Argv): Argv {
  for (const s of SETTINGS) {
    y.option(s.flag, {
      type: 'string',
      array: LIST_KINDS.has(s.kind),
      describe: s.describe,
      defaultDescription: s.defaultText,
      requiresArg: true,
      ...(s.choices ? { choices: [...s.choices] } : {}),
    });
  }
  return y;
}

/** Reads `--config` and merges it with the flags; problems are printed (and given to `report`) and mapped to an exit code. */
function loadConfig(args: Args, badExit: number, report: (problems: string[]) => void = () => undefined): Config | number {
  let fileValues: Record<string, unknown> | null = null;
  if (args.config !== undefined) {
    const read = readConfigFile(args.config);
    if (typeof read === 'string') {
      process.stderr.write(`shardns: ${read}\n`);
      report([read]);
      return badExit;
    }
    fileValues = read;
  }
  const result = resolveConfig(args, fileValues, args.config ?? null, usableCpus(), process.cwd());
  if (!result.ok) {
    report(result.problems);
    for (const p of result.problems) process.stderr.write(`shardns: ${p}\n`);
    process.stderr.write('Run "shardns --help" for the flags and their values.\n');
    return badExit;
  }
  return result.config;
}

/** Parses the JSON config file (comments and trailing commas allowed); a string is the error to show. */
function readConfigFile(path: string): Record<string, unknown> | string {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    return `cannot read config file ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message} — check the path given to --config`;
  }
  // jsonc-parser is required here, when there is a config file, not imported by every start (~20 ms).
  const { parse: parseJsonc, printParseErrorCode } = createRequire(import.meta.url)('jsonc-parser') as typeof import('jsonc-parser');
  const errors: ParseError[] = [];
  const value: unknown = parseJsonc(text, errors, { allowTrailingComma: true });
  const first = errors[0];
  if (first !== undefined) {
    const before = text.slice(0, first.offset).split('\n');
    const found = JSON.stringify(text.slice(first.offset, first.offset + Math.max(1, first.length)));
    return `${path}:${before.length}:${(before.at(-1)?.length ?? 0) + 1}: not valid JSON: ${printParseErrorCode(first.error)} at ${found}`;
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return `${path}: the config file must hold one JSON object ({ "port": 5353, … })`;
  return value as Record<string, unknown>;
}

/**
 * `shardns check`: the configuration, then every zone parsed and compiled
 * to its image exactly as the builder does (checkZones), in memory: nothing
 * is written to the state directory, which is only probed (it must be a
 * writable folder, or creatable). Signed zones are checked for what would
 * break DNSSEC validation (src/dnssec/: warnings; with --verify, every
 * signature is verified and a problem fails the check).
 */
async function check(args: Args): Promise<number> {
  const config = loadConfig(args, EXIT.FAILED);
  if (typeof config === 'number') return config;
  // The parser and compiler load only here: `serve` leaves them to the builder process (a faster start).
  const [{ checkZones }, { probeStateDir }, { printZone }, { planPrivileges, stateDirWouldServe }] = await Promise.all([
    import('./zone/image/build.js'),
    import('./zone/image/store.js'),
    import('./zone/index.js'),
    import('./ops/privileges.js'),
  ]);
  const zones = checkZones(primaryZones(config));
  for (const w of zones.warnings) process.stderr.write(`${w}\n`);
  // As root the server works in the state directory as the user it drops to (made theirs first): check that, not root's access.
  const plan = planPrivileges(config.user, process.geteuid?.() ?? -1);
  // (A --user the server would refuse is reported here too.)
  const state = plan.kind === 'error' ? plan : plan.kind === 'drop' ? stateDirWouldServe(config.stateDir, plan.target, [CONTROL_SOCKET_NAME]) : probeStateDir(config.stateDir);
  const problems = zones.kind === 'error' ? zones.errors.length : 0;
  if (zones.kind === 'error') for (const e of zones.errors) process.stderr.write(`${e}\n`);
  if (state.kind === 'error') process.stderr.write(`shardns: ${state.error.describe()} [${state.error.code}]\n`);
  if (zones.kind === 'error' || state.kind === 'error') {
    const n = problems + (state.kind === 'error' ? 1 : 0);
    process.stderr.write(`shardns: ${n} error(s); the server would refuse to start\n`);
    return EXIT.FAILED;
  }
  // DNSSEC: what would break validation is a warning (the server serves the zone, as NSD does); with --verify an error.
  const { dnssecReport } = await import('./dnssec/report.js');
  const verify = args.verify === true;
  const where = (origin: string): string => displayPath(primaryZones(config).find((z) => z.name === origin)?.file ?? origin);
  const dnssec = dnssecReport(zones.zones.map((z) => ({ zone: z.zone, where: where(z.origin) })), verify, Date.now() / 1000);
  for (const line of dnssec.problems) process.stderr.write(`${line}\n`);
  if (args.print === true) {
    for (const z of zones.zones) process.stdout.write(printZone(z.zone));
    return dnssec.errors > 0 ? EXIT.FAILED : EXIT.OK;
  }
  for (const line of dnssec.summary) process.stdout.write(`${line}\n`);
  if (dnssec.errors > 0) {
    process.stderr.write(`shardns: ${dnssec.errors} DNSSEC error(s): validating resolvers would fail (SERVFAIL) on the names concerned; the server would still serve the zone(s)\n`);
    return EXIT.FAILED;
  }
  // Per zone: serial and source (the zone file, or its primaries), and its transfer settings.
  const { zoneLine, transferLine } = await import('./xfr/report.js');
  const { readSecondaryState } = await import('./xfr/secondary-files.js');
  for (const z of config.zones) {
    const checked = zones.zones.find((c) => c.origin === z.name);
    process.stdout.write(`${zoneLine(z, checked?.serial ?? null, checked?.records ?? null, displayPath)}\n`);
    // A secondary: what the state directory says of its last transfer (read only; nothing is written).
    if (z.type === 'secondary') process.stdout.write(`  ${transferLine(readSecondaryState(config.stateDir, z.name).state)}\n`);
  }
  const records = zones.zones.reduce((n, z) => n + z.records, 0);
  const imageBytes = zones.zones.reduce((n, z) => n + z.imageBytes, 0);
  process.stdout.write(
    `configuration OK: ${config.listen.length} address(es) on port ${config.port}, ${config.workers} workers, ` +
      `${zones.zones.length} zone(s) with ${records} records; images ${sizeText(imageBytes)}, state directory ${config.stateDir}\n`,
  );
  return EXIT.OK;
}

/** `812 KiB`, `96.3 MiB`. */
function sizeText(bytes: number): string {
  return bytes < 1048576 ? `${Math.ceil(bytes / 1024)} KiB` : `${(bytes / 1048576).toFixed(1)} MiB`;
}

async function serve(args: Args): Promise<number> {
  // The server's own modules load only here: `ctl` (as `shardns ctl upgrade`), `check` and `probe` start faster without them.
  const [{ Supervisor }, { Operator, flattenCounters }, { startUp }, { Predecessor, takeHandover }, { unreadableZones }] = await Promise.all([
    import('./supervisor.js'),
    import('./ops/operator.js'),
    import('./ops/startup.js'),
    import('./ops/upgrade.js'),
    import('./ops/privileges.js'),
  ]);
  // Started by a running server to take over its sockets (an upgrade)? Then it hears how this start went.
  const handover = takeHandover();
  if (handover.kind === 'error') {
    process.stderr.write(`shardns: ${handover.error.describe()}\n`);
    return EXIT.FAILED;
  }
  const predecessor = handover.kind === 'ok' ? new Predecessor(handover.handover.from) : null;
  const config = loadConfig(args, EXIT.USAGE, (problems) => predecessor?.failed(`the configuration is invalid: ${problems.join('; ')}`));
  if (typeof config === 'number') return config;
  process.title = 'shardns supervisor';
  const log = createLogger('supervisor', config.logLevel, config.logFormat);
  const cannotStart = (e: Error & { describe?: () => string; code?: string }): number => {
    const text = e.describe ? e.describe() : e.message;
    log.error(`cannot start: ${text}`, e.code ? { code: e.code } : {});
    predecessor?.failed(text);
    return EXIT.FAILED;
  };
  const what = `${config.workers} worker${config.workers === 1 ? '' : 's'}`;
  log.info(predecessor ? `shardns ${VERSION} taking over from pid ${predecessor.pid}: starting ${what} on its sockets` : `shardns ${VERSION} starting ${what}`, { node: process.version });

  // Bind (or take over the sockets), then drop privileges: before any zone is read or query answered.
  const up = await startUp(config, handover.kind === 'ok' ? handover.handover : null);
  if (up.kind === 'error') return cannotStart(up.error);
  const started = up.started;
  if (started.note) log.info(started.note);
  // A start that fails from here leaves no control socket file behind (in an upgrade it is the old server's).
  const abandon = (e: Error): number => {
    if (!predecessor) removeControlSocket(started.control.path);
    return cannotStart(e);
  };
  const unreadable = unreadableZones(primaryZones(config), started.user);
  if (unreadable.length > 0) return abandon(new ShardnsError('E_USER', unreadable.join('\n'), 'the zone builder reads the zone files as the user the server runs as'));

  config.upstreams = workOutUpstreams(config, log);
  const supervisor = new Supervisor(config, log, started.listeners, { holdRemoval: predecessor !== null, rebuild: handover.kind === 'ok' && handover.handover.rebuild === true });
  const operator = new Operator({
    supervisor,
    config,
    log,
    user: started.user,
    listeners: started.listeners,
    control: started.control,
    ...(predecessor ? { predecessorGone: predecessor.gone } : {}),
  });
  handleSignals(operator, supervisor, log, flattenCounters);
  try {
    await supervisor.start();
  } catch (err) {
    supervisor.killAll();
    return abandon(err as Error);
  }
  log.info(supervisor.describeListening());
  await operator.serveControl();
  if (predecessor) {
    predecessor.ready(VERSION);
    void predecessor.gone.then(() => {
      log.info(`the previous supervisor (pid ${predecessor.pid}) has gone; this one serves alone`);
      supervisor.releaseRemoval();
    });
  }
  return operator.done;
}

/**
 * The upstreams to forward to: the list given, none, or for `auto` the
 * nameservers of /etc/resolv.conf that are not this server itself.
 */
function workOutUpstreams(config: Config, log: Logger): Upstream[] {
  const spec = config.forward;
  if (spec.mode === 'none') {
    log.info('forwarding off (--forward none): names outside our zones are REFUSED');
    return [];
  }
  let upstreams: Upstream[];
  if (spec.mode === 'list') {
    upstreams = spec.upstreams;
  } else {
    let text = '';
    try {
      text = readFileSync(RESOLV_CONF, 'utf8');
    } catch {
      /* no resolv.conf: nothing to forward to */
    }
    const local = Object.values(networkInterfaces()).flatMap((list) => (list ?? []).map((i) => i.address));
    upstreams = autoUpstreams(resolvConfNameservers(text), config.listen, config.port, local);
    if (upstreams.length === 0) {
      log.warn(`--forward auto: ${RESOLV_CONF} names no nameserver other than this server; serving only our zones (names outside them are REFUSED); give upstreams with --forward ADDR`);
      return [];
    }
  }
  log.info(`forwarding names outside our zones to ${upstreams.map(formatUpstream).join(', ')} for clients in ${config.allowRecursion.join(' ')}`);
  return upstreams;
}

/** Where `--forward auto` finds the machine's resolvers. */
const RESOLV_CONF = '/etc/resolv.conf';

/**
 * Signals: SIGTERM/SIGINT drain and exit 0 (a second one kills at once);
 * SIGHUP reloads the zones; SIGUSR1 logs each worker's counters; SIGUSR2
 * upgrades to the installed code without closing a socket (src/ops/upgrade.ts).
 */
function handleSignals(operator: Operator, supervisor: Supervisor, log: Logger, flattenCounters: (c: object) => Record<string, number>): void {
  process.on('SIGTERM', () => operator.stop('SIGTERM'));
  process.on('SIGINT', () => operator.stop('SIGINT'));
  process.on('SIGHUP', () => {
    void operator.reload(undefined, 'SIGHUP').then((r) => {
      if (r.kind === 'error' && r.error.code === 'E_CONTROL') log.warn(`SIGHUP: ${r.error.message}; ignored`);
    });
  });
  process.on('SIGUSR1', () => {
    void supervisor.stats().then((all) => {
      for (const s of all) log.info(`worker ${s.id} (pid ${s.pid}) counters`, { ...flattenCounters(s.counters) });
    });
  });
  process.on('SIGUSR2', () => {
    log.info('SIGUSR2: upgrading to the installed code (a new supervisor on the same sockets)');
    void operator.upgrade();
  });
}

/** `shardns ctl <command>`: the control socket is found as the server finds it (--control, else in the state directory). */
/** What `ctl` takes from the command line. */
type CtlArgs = Args & { command: ControlCommand; name?: string; json?: boolean; timeout?: string; rebuild?: boolean };

async function ctl(args: CtlArgs): Promise<number> {
  // The zone is positional (`ctl reload example.com.`): --zone is the server's setting, which ctl reads like the rest.
  if (args.name !== undefined && args.command !== 'reload') return usage(`ctl ${args.command} takes no zone (only "ctl reload [ZONE]" does)`);
  if (args.rebuild === true && args.command !== 'upgrade') return usage(`--rebuild is for "ctl upgrade" only (the new release then parses and compiles every zone again)`);
  const timeoutS = args.timeout === undefined ? CTL_TIMEOUT_S[args.command] : Number(args.timeout);
  if (!(timeoutS > 0)) return usage(`--timeout: must be a number of seconds above 0, got "${args.timeout}"`);
  const config = loadConfig(args, EXIT.USAGE);
  if (typeof config === 'number') return config;
  return runCtl({ command: args.command, ...(args.name !== undefined ? { zone: args.name } : {}), ...(args.rebuild === true ? { rebuild: true } : {}), json: args.json === true, timeoutS, path: controlPath(config) });
}

function addCtlOptions(y: Argv): Argv {
  return addSettings(y)
    .positional('command', { type: 'string', choices: [...CONTROL_COMMANDS], describe: 'what to ask the running server' })
    .positional('name', { type: 'string', describe: 'for reload: the one zone to reload, e.g. example.com. (default: every zone)' })
    .option('json', { type: 'boolean', describe: 'print the reply as JSON (status, stats, reload, upgrade)' })
    .option('rebuild', { type: 'boolean', describe: 'for upgrade: the new release parses and compiles every zone again (by default it serves the zone images of the same image format as they are)' })
    .option('timeout', { type: 'string', describe: 'seconds to wait for the reply', defaultDescription: 'reload 300, upgrade 150, others 10' });
}

interface ProbeArgs {
  server: string;
  port: string;
  name: string;
  type: string;
  class: string;
  tcp: boolean;
  timeout: string;
  'expect-rcode': string;
}

function addProbeOptions(y: Argv): Argv {
  return y
    .option('server', { type: 'string', default: '127.0.0.1', describe: 'address to ask' })
    .option('port', { type: 'string', default: '53', describe: 'port to ask' })
    .option('name', { type: 'string', default: 'id.server.', describe: 'query name' })
    .option('type', { type: 'string', default: 'TXT', describe: 'query type' })
    .option('class', { type: 'string', default: 'CH', describe: 'query class' })
    .option('tcp', { type: 'boolean', default: false, describe: 'ask over TCP instead of UDP' })
    .option('timeout', { type: 'string', default: '2', describe: 'seconds to wait for the reply' })
    .option('expect-rcode', { type: 'string', default: 'NOERROR', describe: 'rcode that counts as healthy' });
}

async function runProbe(a: ProbeArgs): Promise<number> {
  const port = Number(a.port);
  const timeout = Number(a.timeout);
  if (!Number.isInteger(port) || port < 1 || port > 65535) return usage(`--port: must be a whole number from 1 to 65535, got "${a.port}"`);
  if (!(timeout > 0)) return usage(`--timeout: must be a number of seconds above 0, got "${a.timeout}"`);
  // Run as root (a container's health check), the probe sends its one query as the server's default user.
  if (process.geteuid?.() === 0) {
    const { dropPrivileges, planPrivileges } = await import('./ops/privileges.js');
    const plan = planPrivileges(null, 0);
    if (plan.kind === 'drop') dropPrivileges(plan.target);
  }
  // dns-packet and the probe load only for this command: `serve` starts faster without them.
  const { probe } = await import('./probe.js');
  const r = await probe({ server: a.server, port, name: a.name, type: a.type.toUpperCase(), klass: a.class.toUpperCase(), tcp: a.tcp, timeoutMs: timeout * 1000 });
  if (!r.ok) {
    process.stderr.write(`unhealthy: ${r.reason}\n`);
    return EXIT.FAILED;
  }
  process.stdout.write(`${r.rcode} in ${r.ms} ms${r.answers.map((t) => `\n${t}`).join('')}\n`);
  if (r.rcode !== a['expect-rcode'].toUpperCase()) {
    process.stderr.write(`unhealthy: rcode ${r.rcode}, expected ${a['expect-rcode'].toUpperCase()}\n`);
    return EXIT.FAILED;
  }
  return EXIT.OK;
}

function usage(message: string): number {
  process.stderr.write(`shardns: ${message}\n`);
  return EXIT.USAGE;
}
