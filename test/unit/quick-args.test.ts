import { expect } from 'chai';
import { LIST_KINDS, parseWithYargs } from '../../src/cli.js';
import { SETTINGS } from '../../src/config.js';
import { quickArgs } from '../../src/quick-args.js';

/** The keys the command handlers read: every setting's flag, --config, ctl's own flags and positionals. */
const READ = [...SETTINGS.map((s) => s.flag), 'config', 'json', 'rebuild', 'timeout', 'command', 'name'];

/** What yargs gives the handler for `argv`: the command and the keys the handlers read. */
async function viaYargs(argv: string[]): Promise<{ command: string; args: Record<string, unknown> }> {
  let seen: { command: string; args: Record<string, unknown> } | null = null;
  await parseWithYargs(argv, async (command, args) => {
    seen = { command, args };
    return 0;
  });
  if (seen === null) throw new Error(`yargs ran no command for ${argv.join(' ')}`);
  const got = seen as { command: string; args: Record<string, unknown> };
  return { command: got.command, args: Object.fromEntries(READ.filter((k) => got.args[k] !== undefined).map((k) => [k, got.args[k]])) };
}

describe('quickArgs: plain serve and ctl lines read without yargs, as yargs reads them', () => {
  const plain: string[][] = [
    [],
    ['serve'],
    ['--port', '5353'],
    ['serve', '--port=5353', '--listen', '127.0.0.1', '--listen', '::1'],
    ['--listen', '127.0.0.1,::1', '--zone', 'example.com.=a.zone', '--zone', 'b.=b.zone', '--forward', 'none', '--log-level', 'debug'],
    ['--config', 'c.json', '--workers', '4', '--io', 'dgram', '--forward-zone', 'corp.example.=10.1.2.3'],
    ['--allow-recursion', '10.0.0.0/8', '--allow-recursion', '::1/128', '--rrl', '0', '--state-dir', '/var/lib/x'],
    ['ctl', 'status'],
    ['ctl', 'reload', 'example.com.', '--state-dir', '/x'],
    ['ctl', 'stats', '--json'],
    ['ctl', 'upgrade', '--rebuild', '--timeout', '30', '--config', 'c.json'],
    ['ctl', 'stop', '--control', '/run/s.sock'],
  ];
  for (const argv of plain) {
    it(`"${argv.join(' ')}": the same command and values as yargs`, async () => {
      const quick = quickArgs(argv, SETTINGS, LIST_KINDS);
      expect(quick.kind, 'read here').to.not.equal('yargs');
      if (quick.kind === 'yargs') return;
      expect({ command: quick.kind, args: quick.args }).to.deep.equal(await viaYargs(argv));
    });
  }

  const leftToYargs: string[][] = [
    ['--help'],
    ['-h'],
    ['--version'],
    ['check'],
    ['probe', '--port', '53'],
    ['--prot', '53'],
    ['--logLevel', 'debug'],
    ['--workers'],
    ['--port='],
    ['--port', '-1'],
    ['--log-format', 'xml'],
    ['--listen', '127.0.0.1', '::1'],
    ['--port', '1', '--port', '2'],
    ['--', 'x'],
    ['serve', 'extra'],
    ['ctl'],
    ['ctl', 'bogus'],
    ['ctl', 'status', '--listen', '127.0.0.1', '::1'],
    ['ctl', 'reload', 'a.', 'b.'],
    ['ctl', 'stats', '--no-json'],
    ['ctl', 'stats', '--json=false'],
    ['frobnicate'],
  ];
  for (const argv of leftToYargs) {
    it(`"${argv.join(' ')}": left to yargs`, () => {
      expect(quickArgs(argv, SETTINGS, LIST_KINDS).kind).to.equal('yargs');
    });
  }
});
