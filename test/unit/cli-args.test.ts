/** `shardns serve …` is parsed as the default command (yargs then skips rendering the help text at every start), unless that would change what runs. */

import { expect } from 'chai';
import { asDefaultCommand } from '../../src/cli.js';

describe('cli: serve as the default command', () => {
  const cases: [string[], string[]][] = [
    [['serve', '--port', '5353'], ['--port', '5353']],
    [['serve'], []],
    [['--port', '5353'], ['--port', '5353']],
    [['check', '--zone', 'a.=a.zone'], ['check', '--zone', 'a.=a.zone']],
    // Another command word after serve: left for yargs to refuse, as before.
    [['serve', 'check'], ['serve', 'check']],
    [['serve', '--port', '1', 'ctl'], ['serve', '--port', '1', 'ctl']],
    // serve's own help, not the top level's.
    [['serve', '--help'], ['serve', '--help']],
    [['serve', '-h'], ['serve', '-h']],
  ];
  for (const [given, parsed] of cases) {
    it(`${JSON.stringify(given)} → ${JSON.stringify(parsed)}`, () => expect(asDefaultCommand(given)).to.deep.equal(parsed));
  }
});
