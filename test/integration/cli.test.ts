import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { BIN, ROOT, freePort, startServer } from '../helpers/server.js';
import { VERSION } from '../../src/version.js';

function run(args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 20_000, cwd: ROOT });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function tempFile(name: string, text: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'shardns-cli-'));
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

describe('shardns command line', function () {
  this.timeout(30_000);

  const usage: { name: string; args: string[]; stderr: RegExp }[] = [
    { name: 'unknown flag', args: ['--prot', '53'], stderr: /Unknown arguments?: prot/ },
    { name: 'bad port', args: ['--port', 'http'], stderr: /--port: must be a whole number from 1 to 65535, got "http"/ },
    { name: 'bad choice', args: ['--log-format', 'xml'], stderr: /Invalid values:[\s\S]*log-format/ },
    { name: 'flag without value', args: ['--workers'], stderr: /Not enough arguments following: workers/ },
    { name: 'unknown command', args: ['frobnicate'], stderr: /Unknown argument: frobnicate/ },
    { name: 'missing config file', args: ['--config', '/nonexistent/shardns.json'], stderr: /cannot read config file \/nonexistent\/shardns\.json: ENOENT — check the path given to --config/ },
  ];
  for (const c of usage) {
    it(`exit 2 with a clear message: ${c.name}`, () => {
      const r = run(c.args);
      expect(r.code).to.equal(2);
      expect(r.stderr).to.match(c.stderr);
    });
  }

  it('a config file that is not JSON: exit 2 with file:line:column', () => {
    const path = tempFile('bad.json', '{\n  "port": 5353,\n  "workers": two\n}\n');
    const r = run(['--config', path]);
    expect(r.code).to.equal(2);
    expect(r.stderr).to.match(new RegExp(`${path}:3:\\d+: not valid JSON`));
  });

  it('--version prints the package version', () => {
    const r = run(['--version']);
    expect(r.code).to.equal(0);
    expect(r.stdout.trim()).to.equal(VERSION);
  });

  it('--help lists the settings with their defaults', () => {
    const r = run(['--help']);
    expect(r.code).to.equal(0);
    for (const flag of ['--listen', '--port', '--workers', '--worker-timeout', '--config', '--log-level', '--log-format']) expect(r.stdout).to.include(flag);
    expect(r.stdout).to.include('[default: 127.0.0.1 ::1]');
  });

  it('check: exit 0 on the shipped config, without binding', () => {
    const r = run(['check', '--config', 'config/shardns.json']);
    expect(r.code, r.stderr).to.equal(0);
    // A line per zone (serial, source, transfer settings), then the summary.
    expect(r.stdout).to.match(/^zone example\.com\.: primary, serial \d+, \d+ records, from file .*\nconfiguration OK/);
  });

  it('check: parses and compiles the zones as the builder does, and writes nothing to the state directory', () => {
    const zone = tempFile('c.zone', '$TTL 60\n@ SOA ns1 host 9 3600 600 86400 60\n@ NS ns1\nns1 A 192.0.2.1\nwww A 192.0.2.2\n');
    const state = join(dirname(zone), 'state');
    try {
      const r = run(['check', '--zone', `c.test=${zone}`, '--state-dir', state]);
      expect(r.code, r.stderr).to.equal(0);
      expect(r.stdout).to.match(new RegExp(`^zone c\\.test\\.: primary, serial 9, 4 records, from file ${zone}; transfers refused\\nconfiguration OK: .*, 1 zone\\(s\\) with 4 records; images \\d+ KiB, state directory ${state}\\n$`));
      expect(existsSync(state)).to.equal(false);
    } finally {
      rmSync(dirname(zone), { recursive: true, force: true });
    }
  });

  it('check: exit 1 with file:line:column for a broken zone, and E_STATE_DIR for a state directory that cannot be', () => {
    const zone = tempFile('b.zone', '$TTL 60\n@ SOA ns1 host 9 3600 600 86400 60\n@ NS ns1\nns1 A 192.0.2.300\n');
    const blocker = tempFile('blocker', '');
    try {
      const r = run(['check', '--zone', `b.test=${zone}`, '--state-dir', join(blocker, 'state')]);
      expect(r.code).to.equal(1);
      expect(r.stderr).to.match(/b\.zone:4:\d+: /);
      expect(r.stderr).to.include(`cannot create ${join(blocker, 'state')} (state directory): ${blocker} is a file, not a folder`).and.include('[E_STATE_DIR]');
      expect(r.stderr).to.include('shardns: 2 error(s); the server would refuse to start');
    } finally {
      for (const f of [zone, blocker]) rmSync(dirname(f), { recursive: true, force: true });
    }
  });

  it('check: exit 1 and every problem on a bad config', () => {
    const path = tempFile('c.json', JSON.stringify({ port: 0, listen: ['nowhere'], colour: 'blue' }));
    const r = run(['check', '--config', path]);
    expect(r.code).to.equal(1);
    expect(r.stderr).to.include('unknown setting "colour"');
    expect(r.stderr).to.include('"port": must be a whole number');
    expect(r.stderr).to.include('"listen": not an IP address: "nowhere"');
  });

  it('serve takes settings from --config, flags win, and --log-format json gives JSON lines', async () => {
    const port = await freePort();
    const path = tempFile('c.json', JSON.stringify({ port: 1, workers: 1, listen: ['127.0.0.1'], 'log-format': 'json' }));
    const server = await startServer(['--config', path]);
    try {
      const line = server.stdout().split('\n').find((l) => l.includes('listening on'));
      const entry = JSON.parse(line!) as Record<string, unknown>;
      expect(entry).to.deep.include({ level: 'info', role: 'supervisor', pid: server.proc.pid, msg: `listening on 127.0.0.1:${server.port} (udp, tcp) with 1 worker` });
      expect(server.port).to.not.equal(port === 1 ? 0 : 1);
    } finally {
      server.kill();
    }
  });

  it('probe: exit 0 with the answer from a running server, 1 when the rcode differs or nothing answers', async () => {
    const server = await startServer(['--workers', '1', '--listen', '127.0.0.1', '--forward', 'none']);
    try {
      const ok = run(['probe', '--port', String(server.port), '--tcp']);
      expect(ok.code, ok.stderr).to.equal(0);
      expect(ok.stdout).to.match(/^NOERROR in \d+ ms\nid\.server TXT worker-0 pid \d+ host /);
      const refused = run(['probe', '--port', String(server.port), '--name', 'example.com', '--class', 'IN', '--type', 'A']);
      expect(refused.code).to.equal(1);
      expect(refused.stderr).to.include('unhealthy: rcode REFUSED, expected NOERROR');
    } finally {
      server.kill();
    }
    const silent = run(['probe', '--port', String(await freePort()), '--timeout', '0.3']);
    expect(silent.code).to.equal(1);
    expect(silent.stderr).to.match(/unhealthy: no reply from 127\.0\.0\.1:\d+ within 300 ms/);
  });
});
