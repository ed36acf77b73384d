import { expect } from 'chai';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger } from '../../../src/log.js';
import { DNSTAP_CONTENT_TYPE } from '../../../src/ops/dnstap.js';
import { CONTROL, dataFrame, FrameReader } from '../../../src/ops/frame-streams.js';
import { openDnstapWriter, openQueryLogWriter, type LogWriter } from '../../../src/ops/log-writer.js';
import { ShardnsError } from '../../../src/errors.js';
import { startCollector as collector } from '../../helpers/ops.js';
import { until } from '../../helpers/server.js';

const lines: string[] = [];
const log = createLogger('test', 'debug', 'text', { out: (l) => lines.push(l), err: (l) => lines.push(l) });

function writer(w: LogWriter | ShardnsError): LogWriter {
  if (w instanceof ShardnsError) throw w;
  return w;
}

describe('log writers', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'shardns-logw-'));
    lines.length = 0;
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('writes a dnstap file as START with the content type, the data frames, STOP (truncating an old file)', async () => {
    const path = join(dir, 'tap.fstrm');
    writeFileSync(path, 'old contents, longer than what follows');
    const w = writer(openDnstapWriter({ kind: 'file', path }, log));
    expect(w.write(Buffer.concat([dataFrame(Buffer.from('one')), dataFrame(Buffer.from('two'))]))).to.equal(true);
    await w.close();
    expect(new FrameReader().push(readFileSync(path))).to.deep.equal([
      { kind: 'control', type: CONTROL.START, contentTypes: [DNSTAP_CONTENT_TYPE] },
      { kind: 'data', payload: Buffer.from('one') },
      { kind: 'data', payload: Buffer.from('two') },
      { kind: 'control', type: CONTROL.STOP, contentTypes: [] },
    ]);
  });

  it('appends the query log to a file', async () => {
    const path = join(dir, 'q.jsonl');
    writeFileSync(path, '{"before":1}\n');
    const w = writer(openQueryLogWriter({ kind: 'file', path }, log));
    w.write(Buffer.from('{"a":1}\n{"b":2}\n'));
    await w.close();
    expect(readFileSync(path, 'utf8')).to.equal('{"before":1}\n{"a":1}\n{"b":2}\n');
  });

  it('refuses a path it cannot open, saying why and what to do', () => {
    const w = openDnstapWriter({ kind: 'file', path: join(dir, 'missing', 'tap') }, log);
    expect(w).to.be.instanceOf(ShardnsError);
    expect((w as ShardnsError).code).to.equal('E_LOG');
    expect((w as ShardnsError).describe()).to.equal(`cannot open ${join(dir, 'missing', 'tap')} for --dnstap: ENOENT — create its folder first, or give another path`);
    expect((openQueryLogWriter({ kind: 'file', path: dir }, log) as ShardnsError).describe()).to.match(/for --query-log: EISDIR — give a file path, not a folder$/);
  });

  it('speaks the bidirectional handshake to a collector: READY, ACCEPT, START, data, STOP, FINISH', async () => {
    const path = join(dir, 'tap.sock');
    const c = await collector(path);
    const w = writer(openDnstapWriter({ kind: 'unix', path }, log));
    expect(await until(() => w.write(dataFrame(Buffer.from('hello'))), 3000, 10)).to.equal(true);
    await w.close();
    await c.close();
    expect(c.frames).to.deep.equal([
      { kind: 'control', type: CONTROL.READY, contentTypes: [DNSTAP_CONTENT_TYPE] },
      { kind: 'control', type: CONTROL.START, contentTypes: [DNSTAP_CONTENT_TYPE] },
      { kind: 'data', payload: Buffer.from('hello') },
      { kind: 'control', type: CONTROL.STOP, contentTypes: [] },
    ]);
  });

  it('drops records while the collector is away, says so once, and connects when it comes', async () => {
    const path = join(dir, 'late.sock');
    const w = writer(openDnstapWriter({ kind: 'unix', path }, log));
    expect(w.write(dataFrame(Buffer.from('lost')))).to.equal(false);
    expect(await until(() => lines.some((l) => l.includes(`dnstap: the collector at ${path} cannot be reached (ENOENT)`)), 3000)).to.equal(true);
    const c = await collector(path);
    expect(await until(() => w.write(dataFrame(Buffer.from('kept'))), 5000, 20)).to.equal(true);
    await w.close();
    await c.close();
    expect(c.frames.filter((f) => f.kind === 'data')).to.deep.equal([{ kind: 'data', payload: Buffer.from('kept') }]);
    expect(lines.filter((l) => l.includes('cannot be reached'))).to.have.length(1);
    expect(lines.some((l) => l.includes(`dnstap: writing to the collector at ${path}`))).to.equal(true);
  });

  it('does not send dnstap to a collector that accepts another content type', async () => {
    const path = join(dir, 'other.sock');
    const c = await collector(path, ['protobuf:other.Thing']);
    const w = writer(openDnstapWriter({ kind: 'unix', path }, log));
    expect(await until(() => lines.some((l) => l.includes('it accepts protobuf:other.Thing, not protobuf:dnstap.Dnstap')), 3000)).to.equal(true);
    expect(w.write(dataFrame(Buffer.from('x')))).to.equal(false);
    await w.close();
    await c.close();
    expect(c.frames.filter((f) => f.kind === 'data')).to.deep.equal([]);
  });
});
