import { expect } from 'chai';
import { existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger } from '../../../src/log.js';
import { askControl, bindControlSocket, ControlServer, controlPath, parseRequest, type ControlRequest } from '../../../src/ops/control.js';
import { adoptListeners, childSockets, FIRST_CHILD_FD, openListeners } from '../../../src/ops/listeners.js';
import { formatStatus } from '../../../src/ops/ctl.js';
import { libc } from '../../../src/sys/libc.js';
import { freePort } from '../../helpers/server.js';

const quiet = createLogger('test', 'error', 'text', { out: () => undefined, err: () => undefined });

describe('control requests', () => {
  const cases: [string, ControlRequest | RegExp][] = [
    ['{"command":"status"}', { command: 'status' }],
    ['{"command":"reload"}', { command: 'reload' }],
    ['{"command":"reload","zone":"example.com."}', { command: 'reload', zone: 'example.com.' }],
    ['{"command":"stats","zone":"x"}', { command: 'stats' }],
    ['{"command":"upgrade"}', { command: 'upgrade' }],
    ['{"command":"upgrade","rebuild":true}', { command: 'upgrade', rebuild: true }],
    ['{"command":"upgrade","rebuild":false}', { command: 'upgrade' }],
    ['{"command":"upgrade","rebuild":"yes"}', /"rebuild" must be true or false/],
    ['{"command":"stop"}', { command: 'stop' }],
    ['{"command":"restart"}', /unknown command "restart"; the commands are status, reload, stats, upgrade, stop/],
    ['{"command":"reload","zone":""}', /"zone" must be a zone name/],
    ['[1]', /unknown command/],
    ['status', /not JSON/],
    ['null', /not a JSON object/],
  ];
  for (const [line, want] of cases) {
    it(`${line} → ${want instanceof RegExp ? want : JSON.stringify(want)}`, () => {
      const got = parseRequest(line);
      if (want instanceof RegExp) expect(got).to.be.a('string').and.match(want);
      else expect(got).to.deep.equal(want);
    });
  }

  it('the socket is control.sock in the state directory unless --control moves it', () => {
    expect(controlPath({ control: null, stateDir: '/var/lib/shardns' })).to.equal('/var/lib/shardns/control.sock');
    expect(controlPath({ control: '/run/shardns.sock', stateDir: '/var/lib/shardns' })).to.equal('/run/shardns.sock');
  });
});

describe('the control socket, bound and asked in-process', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'shardns-control-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('mode 0600 from the start; one request, one reply; closing it leaves the file', async () => {
    const path = join(dir, 'c.sock');
    const bound = await bindControlSocket(path, null);
    expect(bound.kind).to.equal('ok');
    if (bound.kind !== 'ok') return;
    expect(statSync(path).mode & 0o777).to.equal(0o600);
    const seen: ControlRequest[] = [];
    const server = await ControlServer.serve(bound.fd, { handle: async (r) => (seen.push(r), { ok: true, result: { echo: r.command } }) }, quiet);
    expect(await askControl(path, { command: 'status' }, 2000)).to.deep.equal({ kind: 'reply', reply: { ok: true, result: { echo: 'status' } } });
    expect(await askControl(path, { command: 'reload', zone: 'a.' }, 2000)).to.deep.include({ kind: 'reply' });
    expect(seen).to.deep.equal([{ command: 'status' }, { command: 'reload', zone: 'a.' }]);
    await server.close();
    expect(existsSync(path), 'an upgraded supervisor serves the same file').to.equal(true);
  });

  it('a garbled request gets an error reply, not a hang', async () => {
    const path = join(dir, 'c.sock');
    const bound = await bindControlSocket(path, null);
    if (bound.kind !== 'ok') throw bound.error;
    const server = await ControlServer.serve(bound.fd, { handle: async () => ({ ok: true, result: null }) }, quiet);
    const reply = await new Promise<string>((resolve) => {
      const c = net.connect(path, () => c.write('hello\n'));
      let got = '';
      c.on('data', (d) => (got += d.toString()));
      c.on('end', () => resolve(got));
    });
    expect(JSON.parse(reply)).to.deep.include({ ok: false });
    expect(reply).to.include('the request is not JSON');
    await server.close();
  });

  it('a stale socket file is replaced; a live one is refused; a path too long is refused', async () => {
    const path = join(dir, 'c.sock');
    const first = await bindControlSocket(path, null);
    if (first.kind !== 'ok') throw first.error;
    const server = await ControlServer.serve(first.fd, { handle: async () => ({ ok: true, result: null }) }, quiet);
    const second = await bindControlSocket(path, null);
    expect(second.kind).to.equal('error');
    if (second.kind === 'error') expect(second.error.message).to.include('another shardns is running and answering here');
    await server.close();
    libc.close(first.fd);
    const third = await bindControlSocket(path, null);
    expect(third.kind, 'nothing answers on the file now: replaced').to.equal('ok');
    if (third.kind === 'ok') libc.close(third.fd);
    const long = await bindControlSocket(join(dir, 'x'.repeat(120)), null);
    expect(long.kind).to.equal('error');
    if (long.kind === 'error') expect(long.error.message).to.match(/a unix socket path has at most 107/);
  });

  it('asking where nothing listens: what to check', async () => {
    const missing = await askControl(join(dir, 'none.sock'), { command: 'status' }, 2000);
    expect(missing.kind).to.equal('error');
    if (missing.kind === 'error') expect(missing.error.message).to.include('no such socket: is shardns running?');
    writeFileSync(join(dir, 'plain'), '');
    const notSocket = await askControl(join(dir, 'plain'), { command: 'status' }, 2000);
    expect(notSocket.kind).to.equal('error');
  });
});

describe('listeners: one set of sockets per slot, handed to children, taken over in an upgrade', () => {
  it('opens workers × addresses × (udp, tcp); a child sees them from descriptor 4; an upgrade must listen where they do', async () => {
    const port = await freePort();
    const plan = { listen: ['127.0.0.1', '::1'], port, workers: 2 };
    const opened = openListeners(plan);
    if (opened.kind !== 'ok') throw opened.error;
    try {
      expect(opened.slots.map((s) => s.sockets.map((k) => `${k.spec.address}/${k.spec.transport}`))).to.deep.equal([
        ['127.0.0.1/udp', '127.0.0.1/tcp', '::1/udp', '::1/tcp'],
        ['127.0.0.1/udp', '127.0.0.1/tcp', '::1/udp', '::1/tcp'],
      ]);
      const child = childSockets(opened.slots[1]!);
      expect(child.stdio).to.deep.equal(opened.slots[1]!.sockets.map((s) => s.fd));
      expect(child.sockets.map((s) => s.fd)).to.deep.equal([FIRST_CHILD_FD, FIRST_CHILD_FD + 1, FIRST_CHILD_FD + 2, FIRST_CHILD_FD + 3]);

      const inherited = opened.slots.flatMap((s) => s.sockets.map((k) => ({ slot: s.slot, fd: k.fd, family: k.family, address: k.spec.address, port: k.spec.port, transport: k.spec.transport })));
      const same = adoptListeners(inherited, plan);
      expect(same.kind).to.equal('ok');
      const more = adoptListeners(inherited, { ...plan, workers: 3 });
      expect(more.kind).to.equal('error');
      if (more.kind === 'error') expect(more.error.describe()).to.match(/listens on 127\.0\.0\.1:\d+, \[::1\]:\d+ with 2 worker\(s\); this configuration asks for .* with 3 — an upgrade takes over the open sockets and cannot change listen, port or workers/);
      const elsewhere = adoptListeners(inherited, { ...plan, listen: ['127.0.0.1'] });
      expect(elsewhere.kind).to.equal('error');
      const closed = adoptListeners([{ ...inherited[0]!, fd: 999 }, ...inherited.slice(1)], plan);
      expect(closed.kind).to.equal('error');
      if (closed.kind === 'error') expect(closed.error.message).to.match(/descriptor 999\) is not open/);
    } finally {
      for (const s of opened.slots) for (const k of s.sockets) libc.close(k.fd);
    }
  });
});

describe('ctl status as text', () => {
  it('a line per worker (one being restarted) and per zone', () => {
    const text = formatStatus({
      pid: 100,
      version: '1.2.3',
      node: 'v20.0.0',
      uptimeS: 4000,
      user: 'nobody (uid 65534, gid 65534 nogroup)',
      listening: 'listening on 127.0.0.1:53 (udp, tcp) with 2 workers',
      stateDir: '/var/lib/shardns',
      control: '/var/lib/shardns/control.sock',
      phase: 'running',
      workers: [
        { id: 0, pid: 101, ready: true, uptimeS: 3999, restarts: 0 },
        { id: 1, pid: null, ready: false, uptimeS: 0, restarts: 3 },
      ],
      zones: [{ origin: 'example.com.', serial: 7, records: 34, file: '/etc/shardns/example.com.zone', image: '/x' }],
    });
    expect(text).to.equal(
      [
        'shardns 1.2.3 (node v20.0.0), supervisor pid 100, up 67 min, running, running as nobody (uid 65534, gid 65534 nogroup)',
        'listening on 127.0.0.1:53 (udp, tcp) with 2 workers',
        'state directory /var/lib/shardns, control socket /var/lib/shardns/control.sock',
        'workers:',
        '  worker 0: pid 101, serving, up 67 min, 0 restart(s)',
        '  worker 1: not running (being restarted), 3 restart(s)',
        'zones:',
        '  example.com. serial 7, 34 records, from /etc/shardns/example.com.zone',
        '',
      ].join('\n'),
    );
  });
});
