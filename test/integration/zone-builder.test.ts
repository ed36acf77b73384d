/** The zone builder process (dist/workers/zone-builder.js), forked as the supervisor forks it: build, reuse, rebuild, a broken zone, removal of unused images. */

import { expect } from 'chai';
import { fork, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ZoneConfig } from '../../src/config.js';
import type { BuildOutcome } from '../../src/zone/image/build.js';
import { ZoneBuilder } from '../../src/builder.js';
import { isFromBuilder, type FromBuilder, type ToBuilder } from '../../src/zone/image/messages.js';
import type { RemoveOutcome } from '../../src/zone/image/store.js';
import { ROOT } from '../helpers/server.js';

const BUILDER = join(ROOT, 'dist/workers/zone-builder.js');

/** A forked builder and a way to ask it something and wait for the answer with the same seq. */
class Builder {
  readonly child: ChildProcess;
  readonly output: string[] = [];
  private seq = 0;
  private readonly waiting = new Map<number, (m: FromBuilder) => void>();
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  constructor() {
    this.child = fork(BUILDER, [], { stdio: ['ignore', 'pipe', 'pipe', 'ipc'], serialization: 'advanced', execArgv: [] });
    this.child.stdout!.on('data', (d: Buffer) => this.output.push(d.toString()));
    this.child.stderr!.on('data', (d: Buffer) => this.output.push(d.toString()));
    this.child.on('message', (m) => {
      // `started` says the builder has the job; the answer follows.
      if (!isFromBuilder(m) || m.type === 'started') return;
      this.waiting.get(m.seq)?.(m);
      this.waiting.delete(m.seq);
    });
    this.exited = new Promise((resolve) => this.child.on('exit', (code, signal) => resolve({ code, signal })));
  }

  private ask(msg: ToBuilder): Promise<FromBuilder> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no answer to ${msg.type} ${msg.seq}:\n${this.output.join('')}`)), 60_000);
      this.waiting.set(msg.seq, (m) => {
        clearTimeout(timer);
        resolve(m);
      });
      this.child.send(msg);
    });
  }

  async build(zones: ZoneConfig[], stateDir: string): Promise<{ outcome: BuildOutcome; ms: number; peakRssMB: number }> {
    const t0 = performance.now();
    const m = await this.ask({ type: 'build', seq: ++this.seq, zones, stateDir });
    if (m.type !== 'built') throw new Error(`the builder answered ${m.type} to a build`);
    return { outcome: m.outcome, ms: performance.now() - t0, peakRssMB: m.peakRssMB };
  }

  /** Deleting unused images is the supervisor's own quick file work (src/builder.ts), beside the builds. */
  removeUnused(stateDir: string, keep: string[]): RemoveOutcome {
    return new ZoneBuilder({ stateDir, logLevel: 'error', logFormat: 'text' }).removeUnused(keep);
  }
}

function zoneText(serial: number, hosts: number): string {
  const lines = ['$TTL 3600', `@ IN SOA ns1 hostmaster ${serial} 7200 3600 1209600 300`, '  IN NS ns1', 'ns1 IN A 192.0.2.1'];
  for (let i = 0; i < hosts; i++) lines.push(`host${i} IN A 10.0.${(i >> 8) & 255}.${i & 255}`);
  return lines.join('\n') + '\n';
}

describe('zone builder process', () => {
  const top = mkdtempSync(join(tmpdir(), 'shardns-builder-'));
  const state = join(top, 'state');
  const file = join(top, 'zones', 'example.com.zone');
  const zones: ZoneConfig[] = [{ name: 'example.com.', file }];
  let builder: Builder;

  before(() => {
    mkdirSync(join(top, 'zones'));
    writeFileSync(file, zoneText(1, 20_000));
    builder = new Builder();
  });

  after(async () => {
    builder.child.disconnect();
    const exit = await builder.exited;
    rmSync(top, { recursive: true, force: true });
    expect(exit, 'the builder exits 0 when its channel closes').to.deep.equal({ code: 0, signal: null });
  });

  let firstImage = '';
  let firstMs = 0;
  let secondImage = '';

  it('builds an image in the state directory', async () => {
    const { outcome, ms, peakRssMB } = await builder.build(zones, state);
    expect(outcome.kind, JSON.stringify(outcome)).to.equal('ok');
    if (outcome.kind !== 'ok') return;
    const z = outcome.zones[0]!;
    expect(z).to.deep.include({ origin: 'example.com.', serial: 1, records: 20_003, reused: false, sourceFiles: [file] });
    expect(existsSync(z.imagePath)).to.equal(true);
    expect(peakRssMB).to.be.greaterThan(10);
    firstImage = z.imagePath;
    firstMs = ms;
  });

  it('builds again with nothing changed: reused, and faster', async () => {
    const { outcome, ms } = await builder.build(zones, state);
    expect(outcome.kind).to.equal('ok');
    if (outcome.kind !== 'ok') return;
    expect(outcome.zones[0]).to.deep.include({ reused: true, imagePath: firstImage, reason: 'sources unchanged' });
    expect(ms).to.be.below(firstMs);
  });

  it('the zone edited: a new image', async () => {
    writeFileSync(file, zoneText(2, 20_001));
    const { outcome } = await builder.build(zones, state);
    expect(outcome.kind).to.equal('ok');
    if (outcome.kind !== 'ok') return;
    expect(outcome.zones[0]).to.deep.include({ reused: false, serial: 2, records: 20_004, reason: `${file} changed` });
    secondImage = outcome.zones[0]!.imagePath;
    expect(secondImage).to.not.equal(firstImage);
  });

  it('the zone broken: an error with file:line, and the last good image still on disk', async () => {
    writeFileSync(file, zoneText(3, 5) + 'bad IN A 10.0.0.256\n');
    const { outcome } = await builder.build(zones, state);
    expect(outcome.kind).to.equal('error');
    if (outcome.kind !== 'error') return;
    expect(outcome.errors).to.have.length(1);
    expect(outcome.errors[0]).to.match(/example\.com\.zone:10:\d+: /);
    expect(outcome.error).to.include({ code: 'E_ZONE' });
    expect(outcome.failed[0]!.previous).to.equal(secondImage);
    expect(existsSync(secondImage)).to.equal(true);
    expect(existsSync(firstImage)).to.equal(true);
  });

  it('removing unused images after the build: only the kept image is left', () => {
    const r = builder.removeUnused(state, [secondImage]);
    expect(r).to.deep.equal({ kind: 'ok', removed: [firstImage] });
    expect(readdirSync(join(state, 'images'))).to.deep.equal([secondImage.split('/').pop()]);
  });

  it('an unusable state directory: E_STATE_DIR in the outcome, the builder lives on', async () => {
    writeFileSync(join(top, 'blocker'), '');
    const { outcome } = await builder.build(zones, join(top, 'blocker', 'state'));
    expect(outcome.kind === 'error' && outcome.error.code).to.equal('E_STATE_DIR');
    const removed = builder.removeUnused(join(top, 'blocker', 'state'), []);
    expect(removed.kind === 'error' && removed.error.code).to.equal('E_STATE_DIR');
    expect(builder.child.exitCode).to.equal(null);
  });
});
