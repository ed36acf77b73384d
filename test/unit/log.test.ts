import { expect } from 'chai';
import { createLogger, type LogSink } from '../../src/log.js';

function capture(): LogSink & { out_: string[]; err_: string[] } {
  const s = { out_: [] as string[], err_: [] as string[], out: (l: string) => void s.out_.push(l), err: (l: string) => void s.err_.push(l) };
  return s;
}

describe('createLogger', () => {
  it('text: time, level, role[pid], message and fields on one line', () => {
    const sink = capture();
    createLogger('worker-2', 'info', 'text', sink, 4711).info('ready', { port: 53, note: 'two words' });
    expect(sink.out_).to.have.length(1);
    expect(sink.out_[0]).to.match(/^\d{4}-\d\d-\d\dT[\d:.]+Z INFO  worker-2\[4711\]: ready port=53 note="two words"$/);
  });
  it('json: one object per line with role and pid', () => {
    const sink = capture();
    createLogger('supervisor', 'debug', 'json', sink, 1).warn('slow', { ms: 3 });
    expect(JSON.parse(sink.err_[0]!)).to.deep.include({ level: 'warn', role: 'supervisor', pid: 1, msg: 'slow', ms: 3 });
  });
  it('drops lines below the level; warnings and errors go to stderr', () => {
    const sink = capture();
    const log = createLogger('x', 'warn', 'text', sink, 1);
    log.debug('a');
    log.info('b');
    log.warn('c');
    log.error('d');
    expect(sink.out_).to.have.length(0);
    expect(sink.err_).to.have.length(2);
  });
});
