/** `shardns ctl <command>`: sends one request to a running server's control socket and prints the reply, as text for people or `--json`; exit 0 when the command worked, 1 when it failed or the server could not be asked. */

import type { SecondaryStatus } from '../xfr/secondary.js';
import { askControl, type ControlCommand, type ControlRequest } from './control.js';
import type { ReloadResult, StatsResult, StatusResult, UpgradeResult } from './operator.js';

/** Seconds `shardns ctl` waits for a reply by default: a reload builds zones and an upgrade starts a server, so they get longer. */
export const CTL_TIMEOUT_S: Record<ControlCommand, number> = { status: 10, stats: 10, stop: 10, reload: 300, upgrade: 150 };

/** What `shardns ctl` was asked. */
export interface CtlArgs {
  command: ControlCommand;
  zone?: string;
  /** For upgrade: the new release parses and compiles every zone again (images of the same format are reused otherwise). */
  rebuild?: boolean;
  json: boolean;
  timeoutS: number;
  /** The control socket's path (worked out from --control, --state-dir, --config as the server does). */
  path: string;
}

/** Where ctl writes (a test passes its own). */
export interface CtlOutput {
  out(text: string): void;
  err(text: string): void;
}

const stdio: CtlOutput = { out: (t) => process.stdout.write(t), err: (t) => process.stderr.write(t) };

/** Runs one ctl command; resolves to the exit code (0 worked, 1 failed or unreachable). */
export async function runCtl(a: CtlArgs, io: CtlOutput = stdio): Promise<number> {
  const request: ControlRequest =
    a.command === 'reload' && a.zone !== undefined ? { command: 'reload', zone: a.zone } : a.command === 'upgrade' && a.rebuild === true ? { command: 'upgrade', rebuild: true } : ({ command: a.command } as ControlRequest);
  const asked = await askControl(a.path, request, a.timeoutS * 1000);
  if (asked.kind === 'error') {
    io.err(`shardns ctl ${a.command}: ${asked.error.describe()}\n`);
    return 1;
  }
  const reply = asked.reply;
  if (!reply.ok) {
    if (a.json) io.out(JSON.stringify({ ok: false, error: reply.error }) + '\n');
    io.err(`shardns ctl ${a.command}: ${reply.error.message}${reply.error.hint ? ` — ${reply.error.hint}` : ''}\n`);
    return 1;
  }
  io.out(a.json ? JSON.stringify(reply.result, null, 2) + '\n' : formatResult(a.command, reply.result));
  return 0;
}

/** A command's result as text for people. */
export function formatResult(command: ControlCommand, result: unknown): string {
  switch (command) {
    case 'status':
      return formatStatus(result as StatusResult);
    case 'stats':
      return formatStats(result as StatsResult);
    case 'reload':
      return formatReload(result as ReloadResult);
    case 'upgrade': {
      const u = result as UpgradeResult;
      return `upgraded: the new supervisor (pid ${u.pid}, shardns ${u.version}) serves on the same sockets after ${u.ms} ms; the old workers finish what they hold and exit\n`;
    }
    case 'stop':
      return `stopping: pid ${(result as { pid: number }).pid} drains its workers and exits\n`;
  }
}

/** `shardns ctl status` as text: the server line, one line per worker, one per zone. */
export function formatStatus(s: StatusResult): string {
  const lines = [
    `shardns ${s.version} (node ${s.node}), supervisor pid ${s.pid}, up ${duration(s.uptimeS)}, ${s.phase}, running as ${s.user}`,
    s.listening,
    `state directory ${s.stateDir}, control socket ${s.control}`,
    `workers:`,
    ...s.workers.map((w) => `  worker ${w.id}: ${w.pid === null ? 'not running (being restarted)' : `pid ${w.pid}, ${w.ready ? 'serving' : 'starting'}, up ${duration(w.uptimeS)}`}, ${w.restarts} restart(s)`),
    `zones:${s.zones.length === 0 ? ' none' : ''}`,
    ...s.zones.map((z) => `  ${z.origin} serial ${z.serial}, ${z.records} records, from ${z.file}`),
    ...(s.secondaries ?? []).map((z) => `  ${secondaryLine(z)}`),
  ];
  return lines.join('\n') + '\n';
}

/** `example.org. secondary, serial 7, serving; last IXFR from 192.0.2.1 at …: ok (…); next check at …` */
export function secondaryLine(z: SecondaryStatus): string {
  const standing = z.standing === 'serving' ? 'serving' : z.standing === 'expired' ? 'EXPIRED (answered SERVFAIL)' : 'no data yet (answered SERVFAIL)';
  const last = z.last === null ? 'no transfer yet' : `last ${z.last.kind}${z.last.from ? ` from ${z.last.from}` : ''} at ${z.last.at}: ${z.last.outcome}${z.last.detail ? ` (${z.last.detail})` : ''}`;
  return `${z.origin} secondary, serial ${z.serial ?? 'none'}, ${standing}; ${last}; ${z.nextCheck === null ? 'checking now' : `next check at ${z.nextCheck}`}`;
}

/** `shardns ctl stats` as text: the supervisor's counts, every counter summed over the workers (`name value` a line), then a line per worker. */
export function formatStats(s: StatsResult): string {
  const out = [`supervisor: ${s.supervisor.restarts} worker restart(s); reloads ${s.supervisor.reloads.ok} ok, ${s.supervisor.reloads.failed} failed; upgrades ${s.supervisor.upgrades.ok} ok, ${s.supervisor.upgrades.failed} failed`];
  out.push(`total over ${s.workers.length} worker(s):`);
  for (const [k, v] of Object.entries(s.totals)) out.push(`  ${k} ${v}`);
  for (const w of s.workers) out.push(`worker ${w.id} (pid ${w.pid}): ${w.counters.queries} queries, ${w.counters.udp} udp, ${w.counters.tcp} tcp, ${w.counters.dropped} dropped`);
  return out.join('\n') + '\n';
}

/** `shardns ctl reload` as text. */
export function formatReload(r: ReloadResult): string {
  const zones = r.zones.map((z) => `  ${z.origin} serial ${z.serial}, ${z.records} records${z.reused ? ' (unchanged)' : ''}`);
  return [`reloaded ${r.zones.length} zone(s) in ${r.workers} worker(s) (build ${r.buildMs} ms, swap ${r.mapMs} ms)`, ...zones, ...r.warnings.map((w) => `warning: ${w}`)].join('\n') + '\n';
}

/** `3 h 12 min`, `41 s`. */
function duration(s: number): string {
  if (s < 120) return `${Math.round(s)} s`;
  if (s < 7200) return `${Math.round(s / 60)} min`;
  if (s < 172_800) return `${Math.floor(s / 3600)} h ${Math.round((s % 3600) / 60)} min`;
  return `${Math.floor(s / 86_400)} d ${Math.round((s % 86_400) / 3600)} h`;
}
