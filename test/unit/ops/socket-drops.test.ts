import { expect } from 'chai';
import { mkdirSync, mkdtempSync, openSync, closeSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseProcNetUdp, readUdpDrops, socketInode } from '../../../src/ops/socket-drops.js';

// Lines as Linux 6.1 writes them (proc(5)); the last field is the drop count.
const UDP = `   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops            
 1398: 0100007F:B129 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 1543105 2 00000000ccdd939a 0       
 2075: 0100007F:13D3 00000000:0000 07 00000000:0022C000 00:00000000 00000000   101        0 77881 2 000000001a2b3c4d 4123    
`;
const UDP6 = `  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops
  911: 00000000000000000000000001000000:13D3 00000000000000000000000000000000:0000 07 00000000:00000000 00:00000000 00000000   101        0 77882 2 0000000055aa55aa 17
`;

describe('kernel UDP drops', () => {
  it('reads each socket\'s drops by inode from /proc/net/udp and udp6', () => {
    expect([...parseProcNetUdp(UDP)]).to.deep.equal([
      [1543105, 0],
      [77881, 4123],
    ]);
    expect([...parseProcNetUdp(UDP6)]).to.deep.equal([[77882, 17]]);
    expect(parseProcNetUdp('').size).to.equal(0);
  });

  it('reads both files under a proc root, and a missing one adds nothing', () => {
    const root = mkdtempSync(join(tmpdir(), 'shardns-proc-'));
    try {
      mkdirSync(join(root, 'net'));
      writeFileSync(join(root, 'net/udp'), UDP);
      expect([...readUdpDrops(root)]).to.deep.equal([
        [1543105, 0],
        [77881, 4123],
      ]);
      writeFileSync(join(root, 'net/udp6'), UDP6);
      expect(readUdpDrops(root).get(77882)).to.equal(17);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  it('gives a descriptor\'s inode as fstat does, null for a closed one', () => {
    const dir = mkdtempSync(join(tmpdir(), 'shardns-ino-'));
    try {
      const file = join(dir, 'f');
      writeFileSync(file, 'x');
      const fd = openSync(file, 'r');
      expect(socketInode(fd)).to.equal(statSync(file).ino);
      closeSync(fd);
      expect(socketInode(fd)).to.equal(null);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
