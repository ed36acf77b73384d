import { expect } from 'chai';
import { CONTROL, controlFrame, dataFrame, FrameReader, type Frame } from '../../../src/ops/frame-streams.js';

describe('Frame Streams', () => {
  it('writes a control frame as escape, length, type, then each content type as field type, length, bytes', () => {
    expect(controlFrame(CONTROL.START, ['protobuf:dnstap.Dnstap']).toString('hex')).to.equal(
      '00000000' + // escape: a zero data frame length
        '00000022' + // control frame length: 4 + 8 + 22
        '00000002' + // START
        '00000001' + // CONTENT_TYPE
        '00000016' + // 22 octets
        Buffer.from('protobuf:dnstap.Dnstap').toString('hex'),
    );
    expect(controlFrame(CONTROL.STOP).toString('hex')).to.equal('00000000' + '00000004' + '00000003');
  });

  it('writes a data frame as a big-endian length and the payload', () => {
    expect(dataFrame(Buffer.from([7, 8, 9])).toString('hex')).to.equal('00000003070809');
  });

  const stream = Buffer.concat([
    controlFrame(CONTROL.READY, ['a', 'protobuf:dnstap.Dnstap']),
    dataFrame(Buffer.from('first')),
    dataFrame(Buffer.alloc(300, 1)),
    controlFrame(CONTROL.FINISH),
  ]);
  const want: Frame[] = [
    { kind: 'control', type: CONTROL.READY, contentTypes: ['a', 'protobuf:dnstap.Dnstap'] },
    { kind: 'data', payload: Buffer.from('first') },
    { kind: 'data', payload: Buffer.alloc(300, 1) },
    { kind: 'control', type: CONTROL.FINISH, contentTypes: [] },
  ];

  it('reads back what it writes, whole', () => {
    expect(new FrameReader().push(stream)).to.deep.equal(want);
  });

  it('reads a stream cut at every octet, keeping what is incomplete', () => {
    for (let cut = 1; cut < stream.length; cut++) {
      const r = new FrameReader();
      const a = r.push(stream.subarray(0, cut));
      const b = r.push(stream.subarray(cut));
      expect(typeof a, `cut at ${cut}`).to.equal('object');
      expect([...(a as Frame[]), ...(b as Frame[])], `cut at ${cut}`).to.deep.equal(want);
      expect(r.buffered).to.equal(0);
    }
  });

  const broken: { name: string; bytes: Buffer; problem: RegExp }[] = [
    { name: 'a control frame shorter than its type', bytes: Buffer.from('0000000000000002aaaa', 'hex'), problem: /control frame of 2 octets/ },
    { name: 'a control frame over 512 octets', bytes: Buffer.from('0000000000000201', 'hex'), problem: /control frame of 513 octets/ },
    { name: 'a field longer than its frame', bytes: Buffer.from('00000000' + '0000000c' + '00000001' + '00000001' + '00000009', 'hex'), problem: /field longer than its frame/ },
    { name: 'a data frame over the limit', bytes: Buffer.from('00100001', 'hex'), problem: /data frame of 1048577 octets is over/ },
  ];
  for (const c of broken) {
    it(`says what is wrong with ${c.name}`, () => {
      expect(new FrameReader().push(c.bytes)).to.match(c.problem);
    });
  }
});
