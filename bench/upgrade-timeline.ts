/** Where the time of an upgrade goes: the server's log lines (text format, debug level) after `shardns ctl upgrade`, as milestones in ms since the command was started. Pure: the bench hands it the log text. */

/** One step of an upgrade and when the log says it happened. */
export interface Milestone {
  /** Short name, e.g. `new supervisor logs`. */
  step: string;
  /** Milliseconds since `ctl upgrade` was started (negative: before). */
  ms: number;
  /** What the line said of it (the zone line's reason, a pid), or ''. */
  detail: string;
}

/** A log line of the text format: `2026-11-23T00:37:06.507Z INFO  supervisor[4476]: message`. */
const LINE = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z) (DEBUG|INFO|WARN|ERROR)\s+([a-z0-9-]+)\[(\d+)\]: (.*)$/;

interface LogLine {
  at: number;
  role: string;
  pid: number;
  msg: string;
}

/** The log lines of `text` that parse (others, e.g. dnsperf's or a stack trace, are skipped). */
export function parseLogLines(text: string): LogLine[] {
  const out: LogLine[] = [];
  for (const raw of text.split('\n')) {
    const m = LINE.exec(raw);
    if (m) out.push({ at: Date.parse(m[1]!), role: m[3]!, pid: Number(m[4]), msg: m[5]! });
  }
  return out;
}

/**
 * The milestones of one upgrade, in the order they happened, from the log
 * after the command (`t0`: when `shardns ctl upgrade` was started, ms since
 * the epoch). Steps the log does not show are left out: the old
 * supervisor spawning its successor, the successor's first line (Node and
 * the CLI loaded, configuration read), each zone's image (built or reused,
 * with the reason), the new workers ready (first and last; their `ready on`
 * lines are debug), the successor listening, the old one told, its first worker
 * stopping, and the old one gone.
 */
export function upgradeTimeline(log: string, t0: number): Milestone[] {
  const lines = parseLogLines(log);
  const out: Milestone[] = [];
  const add = (step: string, at: number, detail = ''): void => {
    out.push({ step, ms: at - t0, detail });
  };
  const spawned = lines.find((l) => l.role === 'supervisor' && /^upgrade: started the new supervisor \(pid \d+\)/.test(l.msg));
  const newPid = spawned ? Number(/\(pid (\d+)\)/.exec(spawned.msg)![1]) : null;
  if (spawned) add('old supervisor spawns the new one', spawned.at, `pid ${newPid}`);
  const fromNew = (l: LogLine): boolean => newPid === null || l.pid === newPid;
  const first = lines.find((l) => l.role === 'supervisor' && fromNew(l) && / taking over from pid \d+/.test(l.msg));
  if (first) add('new supervisor logs (Node started, config read)', first.at);
  for (const l of lines) {
    const z = /^zone (\S+): serial \d+, \d+ records; image (built|reused) in (\d+) ms: ([^;]*)/.exec(l.msg);
    if (z && l.role === 'supervisor' && fromNew(l)) add(`zone ${z[1]} image ${z[2]}`, l.at, `${z[3]} ms: ${z[4]}`);
  }
  const build = lines.find((l) => l.role === 'supervisor' && fromNew(l) && /^(zone build took|every zone image reused)/.test(l.msg));
  if (build) add(build.msg.startsWith('every') ? 'no builder' : 'builder done', build.at, build.msg);
  // Workers forked after the successor was: the new ones (an old worker restarted meanwhile would count too; the log cannot tell).
  const since = spawned?.at ?? -Infinity;
  const ready = lines.filter((l) => l.at >= since && l.role.startsWith('worker-') && l.msg.startsWith('ready on '));
  if (ready.length > 0) {
    add('first new worker ready', ready[0]!.at, `${ready[0]!.role}[${ready[0]!.pid}]`);
    if (ready.length > 1) add(`last new worker ready (${ready.length})`, ready[ready.length - 1]!.at, `${ready[ready.length - 1]!.role}[${ready[ready.length - 1]!.pid}]`);
  }
  const listening = lines.find((l) => l.role === 'supervisor' && newPid !== null && l.pid === newPid && l.msg.startsWith('listening on '));
  if (listening) add('new supervisor serves', listening.at);
  const told = lines.find((l) => l.role === 'supervisor' && l.pid !== newPid && /^upgrade: the new supervisor .* serves on the same sockets/.test(l.msg));
  if (told) add('old supervisor told; its workers stop', told.at);
  const stopping = lines.find((l) => l.role.startsWith('worker-') && l.msg.startsWith('stopping: '));
  if (stopping) add('first old worker stops reading', stopping.at, `${stopping.role}[${stopping.pid}]`);
  const gone = lines.find((l) => l.role === 'supervisor' && l.pid !== newPid && l.msg.startsWith('handed over to pid'));
  if (gone) add('old supervisor exits', gone.at);
  return out.sort((a, b) => a.ms - b.ms);
}

/** `+120 old supervisor spawns the new one (pid 5); +950 …`: one line for a report cell. */
export function formatTimeline(ms: readonly Milestone[]): string {
  return ms.map((m) => `+${m.ms} ${m.step}${m.detail ? ` (${m.detail})` : ''}`).join('; ');
}
