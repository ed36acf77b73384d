/** Reloads under load: no query goes unanswered and no reply mixes two versions of a zone. */

import { expect } from 'chai';
import dgram from 'node:dgram';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import dnsPacket from 'dns-packet';
import { startServer, type RunningServer } from '../helpers/server.js';

/**
 * Version N of the zone: every record a reply to `mail MX` touches (the MX
 * target, its address in additional, the apex NS in authority and its
 * address) names N, so a reply built from two versions shows it.
 */
function zone(n: number): string {
  return [
    '$ORIGIN load.test.',
    '$TTL 60',
    `@ SOA ns-v${n} host ${n} 3600 600 86400 60`,
    `@ NS ns-v${n}`,
    `ns-v${n} A 192.0.2.${n}`,
    `mail MX 10 mx-v${n}`,
    `mx-v${n} A 198.51.100.${n}`,
    `www TXT "v${n}"`,
    '',
  ].join('\n');
}

/** The versions named in a reply's records (owner names and data). */
function versions(reply: Buffer): Set<string> {
  const p = dnsPacket.decode(reply);
  const seen = new Set<string>();
  for (const r of [...(p.answers ?? []), ...(p.authorities ?? []), ...(p.additionals ?? [])]) {
    const text = JSON.stringify([r.name, (r as { data?: unknown }).data]);
    for (const m of text.matchAll(/v(\d+)|\.(\d+)"/g)) seen.add(m[1] ?? m[2]!);
  }
  return seen;
}

/** Asks `mail MX` over and over from one socket, one query in flight, until `until()` says stop. */
async function asker(port: number, until: () => boolean, replies: Buffer[], lost: string[]): Promise<number> {
  const sock = dgram.createSocket('udp4');
  await new Promise<void>((r) => sock.bind(0, '127.0.0.1', r));
  let sent = 0;
  try {
    while (!until()) {
      const id = sent++ & 0xffff;
      const query = dnsPacket.encode({ type: 'query', id, flags: 0, questions: [{ name: 'mail.load.test', type: 'MX', class: 'IN' }] });
      const reply = await new Promise<Buffer | null>((resolve) => {
        const timer = setTimeout(() => {
          sock.off('message', onMessage);
          resolve(null);
        }, 2000);
        const onMessage = (m: Buffer): void => {
          if (m.readUInt16BE(0) !== id) return;
          clearTimeout(timer);
          sock.off('message', onMessage);
          resolve(m);
        };
        sock.on('message', onMessage);
        sock.send(query, port, '127.0.0.1');
      });
      if (reply === null) lost.push(`query ${id}`);
      else replies.push(reply);
    }
  } finally {
    sock.close();
  }
  return sent;
}

describe('reloads under load', function () {
  this.timeout(60_000);
  let server: RunningServer;
  let dir: string;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'shardns-reload-load-'));
    writeFileSync(join(dir, 'load.test.zone'), zone(1));
    server = await startServer(['--workers', '2', '--listen', '127.0.0.1', '--forward', 'none', '--zone', `load.test.=${join(dir, 'load.test.zone')}`]);
  });
  after(() => {
    server?.kill();
    rmSync(dir, { recursive: true, force: true });
  });

  it('six reloads while four clients ask: every query answered, every reply from one version', async () => {
    let done = false;
    const replies: Buffer[] = [];
    const lost: string[] = [];
    const askers = [0, 1, 2, 3].map(() => asker(server.port, () => done, replies, lost));
    for (let n = 2; n <= 7; n++) {
      writeFileSync(join(dir, 'load.test.zone'), zone(n));
      const since = server.mark();
      process.kill(server.proc.pid!, 'SIGHUP');
      await server.waitFor(/reloaded 1 zone\(s\)/, 20_000, since);
      await new Promise((r) => setTimeout(r, 150));
    }
    done = true;
    const sent = (await Promise.all(askers)).reduce((a, b) => a + b, 0);
    expect(lost, 'queries without a reply').to.deep.equal([]);
    expect(replies.length).to.equal(sent);
    const seen = new Set<string>();
    const mixed: string[] = [];
    for (const r of replies) {
      const v = versions(r);
      expect(v.size, 'a reply names at least one version').to.be.greaterThan(0);
      if (v.size > 1) mixed.push([...v].join('+'));
      for (const x of v) seen.add(x);
    }
    expect(mixed, 'replies mixing versions').to.deep.equal([]);
    // The load spanned the reloads: replies from the first, the last and versions between.
    expect(seen.has('1') || seen.has('2')).to.equal(true);
    expect(seen.has('7')).to.equal(true);
    expect(seen.size).to.be.greaterThan(3);
  });
});
