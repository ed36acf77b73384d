import { expect } from 'chai';
import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import { collectGarbage, listening } from '../../../bench/inspector.js';
import { freePort } from '../../../bench/ports.js';
import { memoryKb } from '../../../bench/procstat.js';

/** A Node process with its inspector port set (nothing listens until SIGUSR1) that reports its heap, then drops ~40 MB it held. */
async function heapHolder(port: number): Promise<{ child: ChildProcess; heapUsedWithJunk: number }> {
  const script = `
    globalThis.junk = Array.from({ length: 600000 }, (_, i) => ({ i, s: 'x' + i }));
    process.stdout.write(JSON.stringify({ heapUsed: process.memoryUsage().heapUsed }) + '\\n');
    globalThis.junk = null;
    setInterval(() => {}, 1000);
  `;
  const child = spawn(process.execPath, ['-e', script], { env: { ...process.env, NODE_OPTIONS: `--inspect-port=127.0.0.1:${port}` }, stdio: ['ignore', 'pipe', 'pipe'] });
  const line = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('\n')) resolve(out.split('\n')[0]!);
    });
    child.once('exit', (code) => reject(new Error(`the child exited (${code}) before reporting`)));
  });
  return { child, heapUsedWithJunk: (JSON.parse(line) as { heapUsed: number }).heapUsed };
}

describe('bench inspector client (forced collections in another Node process)', () => {
  it('forces a full collection in a real Node process through SIGUSR1 and its inspector, which stays open on loopback for the next one', async function () {
    const port = await freePort();
    const { child, heapUsedWithJunk } = await heapHolder(port);
    try {
      expect(heapUsedWithJunk).to.be.greaterThan(30 * 1024 * 1024);
      expect(await listening(port)).to.equal(false);
      for (let k = 0; k < 3; k++) {
        let pss = 0;
        const r = await collectGarbage(child.pid!, port, () => (pss = memoryKb(child.pid!).pssKb));
        expect(r.kind, `${JSON.stringify(r)}; the child: exit code ${child.exitCode}, signal ${child.signalCode}`).to.equal('ok');
        if (r.kind !== 'ok') return;
        expect(r.opened, 'SIGUSR1 the first time only').to.equal(k === 0);
        // The 600,000 dropped objects are gone: only a collection frees them (an idle process allocates nothing to start one).
        expect(r.usedBytes).to.be.lessThan(heapUsedWithJunk / 4);
        expect(r.totalBytes).to.be.at.least(r.usedBytes);
        expect(r.pssKb).to.equal(pss).and.be.greaterThan(0);
        expect(await listening(port), 'the inspector stays open').to.equal(true);
      }
      await new Promise((r) => setTimeout(r, 200));
      expect(child.exitCode).to.equal(null);
      expect(child.signalCode).to.equal(null);
    } finally {
      child.kill('SIGKILL');
    }
  });

  it('refuses a port where something other than an inspector listens, without signalling', async () => {
    const port = await freePort();
    const { child } = await heapHolder(port);
    const other = net.createServer((c) => {
      c.on('error', () => undefined);
      c.end('HTTP/1.1 404 Not Found\r\n\r\n');
    });
    try {
      await new Promise<void>((r) => other.listen(port, '127.0.0.1', r));
      const r = await collectGarbage(child.pid!, port, () => 0);
      expect(r.kind).to.equal('error');
      expect(r.kind === 'error' && r.message).to.match(/listens but is no inspector/);
    } finally {
      other.close();
      child.kill('SIGKILL');
    }
  });

  it("refuses another process's inspector on the port (its process.pid is not the one asked for)", async () => {
    const port = await freePort();
    const a = await heapHolder(port);
    const b = await heapHolder(await freePort(new Set([port])));
    try {
      expect((await collectGarbage(a.child.pid!, port, () => 0)).kind).to.equal('ok');
      const r = await collectGarbage(b.child.pid!, port, () => 0);
      expect(r.kind).to.equal('error');
      expect(r.kind === 'error' && r.message).to.equal(`the inspector on 127.0.0.1:${port} is pid ${a.child.pid}'s, not ${b.child.pid}'s`);
    } finally {
      a.child.kill('SIGKILL');
      b.child.kill('SIGKILL');
    }
  });

  it('says so when the process opens no inspector on the port', async () => {
    const port = await freePort();
    const inspectPort = await freePort(new Set([port]));
    const { child } = await heapHolder(inspectPort);
    try {
      const r = await collectGarbage(child.pid!, port, () => 0, 1000);
      expect(r.kind).to.equal('error');
      expect(r.kind === 'error' && r.message).to.match(new RegExp(`pid ${child.pid} opened no inspector on 127.0.0.1:${port}`));
    } finally {
      child.kill('SIGKILL');
    }
  });
});
