/** The control socket: a unix stream socket (mode 0600, the server's user) in the state directory that `shardns ctl` talks to, one JSON request and one JSON reply a connection; the server side and the client side. */

import { lchownSync, unlinkSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { ShardnsError, type SerializedError } from '../errors.js';
import type { Logger } from '../log.js';
import { ERRNO, libc as realLibc, type Libc } from '../sys/libc.js';

/** The control socket's name in the state directory, unless `--control` moves it. */
export const CONTROL_SOCKET_NAME = 'control.sock';

/** Where the control socket is: `--control`, or {@link CONTROL_SOCKET_NAME} in the state directory. */
export function controlPath(config: { control: string | null; stateDir: string }): string {
  return config.control ?? join(config.stateDir, CONTROL_SOCKET_NAME);
}

/** The commands `shardns ctl` sends. */
export const CONTROL_COMMANDS = ['status', 'reload', 'stats', 'upgrade', 'stop'] as const;
/** One of {@link CONTROL_COMMANDS}. */
export type ControlCommand = (typeof CONTROL_COMMANDS)[number];

/** One request: a command; for `reload` optionally the one zone to reload; for `upgrade` optionally `rebuild` (the new release parses and compiles every zone again). */
export type ControlRequest = { command: 'status' } | { command: 'reload'; zone?: string } | { command: 'stats' } | { command: 'upgrade'; rebuild?: true } | { command: 'stop' };

/** The one reply to a request: the command's result, or why it failed (then `shardns ctl` exits 1). */
export type ControlReply = { ok: true; result: unknown } | { ok: false; error: SerializedError };

/** What the server does with a request (src/ops/operator.ts). */
export interface ControlHandler {
  handle(request: ControlRequest): Promise<ControlReply>;
}

/** A request read off the wire, or what is wrong with it. */
export function parseRequest(line: string): ControlRequest | string {
  let v: unknown;
  try {
    v = JSON.parse(line);
  } catch {
    return 'the request is not JSON';
  }
  if (v === null || typeof v !== 'object') return 'the request is not a JSON object';
  const o = v as { command?: unknown; zone?: unknown; rebuild?: unknown };
  if (typeof o.command !== 'string' || !(CONTROL_COMMANDS as readonly string[]).includes(o.command)) {
    return `unknown command ${JSON.stringify(o.command)}; the commands are ${CONTROL_COMMANDS.join(', ')}`;
  }
  if (o.command === 'reload') {
    if (o.zone !== undefined && (typeof o.zone !== 'string' || o.zone === '')) return '"zone" must be a zone name';
    return o.zone === undefined ? { command: 'reload' } : { command: 'reload', zone: o.zone };
  }
  if (o.command === 'upgrade') {
    if (o.rebuild !== undefined && typeof o.rebuild !== 'boolean') return '"rebuild" must be true or false';
    return o.rebuild === true ? { command: 'upgrade', rebuild: true } : { command: 'upgrade' };
  }
  return { command: o.command as Exclude<ControlCommand, 'reload' | 'upgrade'> };
}

/** Longest request line accepted (a request is a few dozen octets). */
const MAX_REQUEST = 4096;
/** `sizeof(((struct sockaddr_un *)0)->sun_path)` on Linux: the path and its NUL. */
const SUN_PATH_MAX = 108;
const AF_UNIX = 1;
const SOCK_STREAM = 1;
const SOCK_NONBLOCK = 0o4000;
const SOCK_CLOEXEC = 0o2000000;

/** A bound and listening control socket, or why not. */
export type BindOutcome = { kind: 'ok'; fd: number } | { kind: 'error'; error: ShardnsError };

/**
 * Creates the control socket at `path` through src/sys/libc.ts: socket,
 * bind with umask 0177 (so it is mode 0600 from its first moment: no one
 * else may connect, even briefly), listen, and when `owner` is given, chown
 * to the user the server will run as (it is bound before the privilege
 * drop). A file already at `path` is a control socket left by a server that
 * is gone (nothing answers: it is replaced) or one of a running server (it
 * answers: refused, since two servers must not share a state directory).
 * Bound here rather than by node:net so that closing it never unlinks the
 * path: an upgrade hands the same socket to the new supervisor.
 */
export async function bindControlSocket(path: string, owner: { uid: number; gid: number } | null, c: Libc = realLibc): Promise<BindOutcome> {
  const name = Buffer.from(path);
  const fail = (what: string, hint: string): BindOutcome => ({ kind: 'error', error: new ShardnsError('E_CONTROL', `control socket ${path}: ${what}`, hint) });
  const moveIt = 'give another path with --control (config key "control")';
  if (name.length >= SUN_PATH_MAX) return fail(`the path is ${name.length} octets; a unix socket path has at most ${SUN_PATH_MAX - 1}`, moveIt);
  const sa = Buffer.alloc(2 + name.length + 1);
  sa.writeUInt16LE(AF_UNIX, 0);
  name.copy(sa, 2);
  for (let attempt = 0; ; attempt++) {
    const s = c.socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (s.kind === 'errno') return fail(`socket: ${c.strerror(s.errno).toLowerCase()}`, 'this is unexpected; please report it');
    const fd = s.value;
    const mask = process.umask(0o177);
    const bound = c.bind(fd, sa);
    process.umask(mask);
    if (bound.kind === 'errno') {
      c.close(fd);
      if (bound.errno === ERRNO.EADDRINUSE && attempt === 0) {
        if (await answers(path)) return fail('another shardns is running and answering here', `stop it first ("shardns ctl stop" with its --state-dir or --control), or give this server its own --state-dir`);
        try {
          unlinkSync(path);
        } catch (err) {
          return fail(`a stale socket file is in the way and cannot be removed: ${(err as NodeJS.ErrnoException).code}`, `remove it by hand, or ${moveIt}`);
        }
        continue;
      }
      const why = c.strerror(bound.errno).toLowerCase();
      return fail(`cannot bind: ${why} (errno ${bound.errno})`, bound.errno === ERRNO.ENOENT ? `the folder does not exist: create it, or ${moveIt}` : `check that the folder is writable by this user, or ${moveIt}`);
    }
    const listening = c.listen(fd, 16);
    if (listening.kind === 'errno') {
      c.close(fd);
      return fail(`cannot listen: ${c.strerror(listening.errno).toLowerCase()}`, 'this is unexpected; please report it');
    }
    if (owner !== null) {
      try {
        lchownSync(path, owner.uid, owner.gid);
      } catch (err) {
        c.close(fd);
        return fail(`cannot hand it to uid ${owner.uid}: ${(err as NodeJS.ErrnoException).code}`, moveIt);
      }
    }
    return { kind: 'ok', fd };
  }
}

/** Whether a server answers on the control socket at `path` (a connection is accepted). */
function answers(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const conn = net.connect(path);
    const done = (yes: boolean): void => {
      conn.destroy();
      resolve(yes);
    };
    conn.once('connect', () => done(true));
    conn.once('error', () => done(false));
    conn.setTimeout(1000, () => done(false));
  });
}

/** Removes the control socket file on a planned stop (not after an upgrade: the new supervisor serves it). */
export function removeControlSocket(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    /* gone already, or a folder this user may not write: the next start replaces a stale file */
  }
}

/**
 * Serves the control socket: each connection sends one request line and
 * gets one reply line, then is closed. The descriptor was bound by
 * {@link bindControlSocket} (here or, in an upgrade, by the previous
 * supervisor); `close()` stops accepting without removing the file.
 */
export class ControlServer {
  private constructor(private readonly server: net.Server) {}

  /** Starts accepting on `fd` (a listening unix socket); requests go to `handler`. */
  static serve(fd: number, handler: ControlHandler, log: Logger): Promise<ControlServer> {
    const server = net.createServer((conn) => {
      conn.on('error', (err) => log.debug(`control connection: ${err.message}`));
      conn.setTimeout(10_000, () => conn.destroy());
      let buf = '';
      let asked = false;
      conn.on('data', (chunk: Buffer) => {
        if (asked) return;
        buf += chunk.toString('utf8');
        const nl = buf.indexOf('\n');
        if (nl < 0 && buf.length <= MAX_REQUEST) return;
        asked = true;
        // The request is read; the reply may take long (a reload, an upgrade): no idle timeout meanwhile.
        conn.setTimeout(0);
        const parsed = nl < 0 ? 'the request is too long' : parseRequest(buf.slice(0, nl));
        const reply: Promise<ControlReply> =
          typeof parsed === 'string'
            ? Promise.resolve({ ok: false, error: new ShardnsError('E_CONTROL', parsed, 'send one JSON object a line: {"command":"status"}').toJSON() })
            : handler.handle(parsed).catch((err: unknown) => ({ ok: false as const, error: new ShardnsError('E_CONTROL', `the command failed: ${(err as Error).message}`, 'this is a bug; please report it').toJSON() }));
        void reply.then((r) => {
          if (!conn.destroyed) conn.end(JSON.stringify(r) + '\n');
        });
      });
    });
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen({ fd }, () => {
        server.off('error', reject);
        server.on('error', (err) => log.warn(`control socket: ${err.message}`));
        resolve(new ControlServer(server));
      });
    });
  }

  /** Stops accepting; connections still being answered finish. The socket file stays. */
  close(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

/** The answer to one request: the reply, or why the server could not be asked. */
export type AskOutcome = { kind: 'reply'; reply: ControlReply } | { kind: 'error'; error: ShardnsError };

/**
 * Sends one request to the control socket at `path` and waits up to
 * `timeoutMs` for the reply. Errors say what to check: no socket (is it
 * running, with this --state-dir?), nothing listening, not allowed.
 */
export function askControl(path: string, request: ControlRequest, timeoutMs: number): Promise<AskOutcome> {
  return new Promise((resolve) => {
    const conn = net.connect(path);
    let buf = '';
    let settled = false;
    const finish = (o: AskOutcome): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      conn.destroy();
      resolve(o);
    };
    const fail = (what: string, hint: string): void => finish({ kind: 'error', error: new ShardnsError('E_CONTROL', `control socket ${path}: ${what}`, hint) });
    const timer = setTimeout(() => fail(`no reply within ${timeoutMs / 1000} s to "${request.command}"`, 'the server may be busy or stuck: see its log; give more time with --timeout'), timeoutMs);
    conn.on('connect', () => conn.write(JSON.stringify(request) + '\n'));
    conn.on('data', (chunk: Buffer) => {
      buf += chunk.toString('utf8');
      const nl = buf.indexOf('\n');
      if (nl < 0) return;
      try {
        finish({ kind: 'reply', reply: JSON.parse(buf.slice(0, nl)) as ControlReply });
      } catch {
        fail('the reply is not JSON', 'is another program listening there? check --control');
      }
    });
    conn.on('end', () => fail('the server closed the connection without a reply', 'see the server\'s log'));
    conn.on('error', (err: NodeJS.ErrnoException) => {
      switch (err.code) {
        case 'ENOENT':
          return fail('no such socket: is shardns running?', 'start it, or point ctl at it with the same --config, --state-dir or --control the server was started with');
        case 'ECONNREFUSED':
          return fail('nothing listens there (a server that stopped without removing it?)', 'start shardns, or check --state-dir / --control');
        case 'EACCES':
        case 'EPERM':
          return fail('permission denied', "the socket is mode 0600 and belongs to the server's user: run ctl as that user, or as root");
        default:
          return fail(`${err.code ?? err.message}`, 'check --control and that the server is running');
      }
    });
  });
}
