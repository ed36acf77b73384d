import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { SETTINGS, defaults } from '../../src/config.js';
import { ROOT } from '../helpers/server.js';

describe('README configuration reference', () => {
  const readme = readFileSync(`${ROOT}README.md`, 'utf8');
  const rows = new Map<string, string>();
  for (const line of readme.split('\n')) {
    const m = /^\| `([a-z0-9-]+)`[^|]*\| ([^|]*) \|/.exec(line);
    if (m) rows.set(m[1]!, m[2]!.trim());
  }

  it('lists every setting, and no setting that does not exist', () => {
    expect(new Set(rows.keys())).to.deep.equal(new Set(SETTINGS.map((s) => s.flag)));
  });

  for (const s of SETTINGS) {
    it(`states the default of --${s.flag} as the code has it`, () => {
      const text = rows.get(s.flag);
      expect(text, `no README row for ${s.flag}`).to.not.equal(undefined);
      const value = (defaults(4) as unknown as Record<string, unknown>)[s.key];
      // The worker count and the state directory depend on the machine and the user: the row states the rule.
      if (s.flag === 'workers') return;
      if (s.flag === 'state-dir') {
        expect(text).to.include('`/var/lib/shardns` as root').and.include('`$XDG_STATE_HOME/shardns`').and.include('`~/.local/state/shardns`');
        return;
      }
      if (typeof value === 'number') expect(text).to.equal(`\`${value}\``);
      if (typeof value === 'string') expect(text).to.equal(`\`${value}\``);
    });
  }
});
