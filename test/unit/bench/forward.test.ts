import { expect } from 'chai';
import { forwardQueries, forwardSettings, settingLabel, SHARDNS_DEFAULT_CACHE_SIZE } from '../../../bench/forward.js';
import type { Query } from '../../../bench/queries.js';

describe('bench forwarding scenario: query file and cache settings', () => {
  it("uses shardns's own --cache-size default", () => {
    expect(SHARDNS_DEFAULT_CACHE_SIZE).to.equal(10_000);
  });

  it('sizes "on" to hold every distinct question (never below the default), passes nothing for "default", 0 for "off"', () => {
    expect(forwardSettings(['on', 'default', 'off', '5000'], 19_244)).to.deep.equal([
      { name: 'on', cacheSize: 20_000 },
      { name: 'default', cacheSize: null },
      { name: 'off', cacheSize: 0 },
      { name: '5000', cacheSize: 5000 },
    ]);
    expect(forwardSettings(['on'], 861)).to.deep.equal([{ name: 'on', cacheSize: 10_000 }]);
  });

  it('names the settings in the report', () => {
    expect(settingLabel('on', 20_000)).to.equal('cache on (20,000 entries)');
    expect(settingLabel('default', null)).to.equal('cache default (10,000 entries)');
    expect(settingLabel('off', 0)).to.equal('cache off');
    expect(settingLabel('5000', 5000)).to.equal('cache 5,000 entries');
  });

  it('leaves out names below a delegation and counts distinct questions with the case folded', () => {
    const q: Query[] = [
      { name: 'host1.example.com', type: 'A', kind: 'existing' },
      { name: 'HOST1.example.COM', type: 'A', kind: 'existing' },
      { name: 'host1.example.com', type: 'AAAA', kind: 'nodata' },
      { name: 'x.sub1.example.com', type: 'A', kind: 'referral' },
      { name: 'nxabc.example.com', type: 'A', kind: 'absent' },
    ];
    const f = forwardQueries(q);
    expect(f.queries.map((x) => x.kind)).to.deep.equal(['existing', 'existing', 'nodata', 'absent']);
    expect(f.leftOut).to.equal(1);
    expect(f.distinctQuestions).to.equal(3);
  });
});
