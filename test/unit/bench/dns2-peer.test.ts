import { expect } from 'chai';
import dnsPacket from 'dns-packet';
import dns2 from 'dns2';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { answerQuestion } from '../../../bench/peers/dns2-server.js';
import { loadZoneFile } from '../../../src/zone/index.js';
import { ZoneTree } from '../../../bench/peers/dns2-tree.js';

const { Packet } = dns2;

const ZONE = `$TTL 3600
$ORIGIN example.com.
@ IN SOA ns1 hostmaster 1 7200 3600 1209600 300
  IN NS ns1
  IN MX 10 mail
ns1 IN A 192.0.2.1
mail IN A 192.0.2.2
host IN A 192.0.2.3
  IN AAAA 2001:db8::3
  IN TXT "v=spf1 -all" "second"
  IN HINFO "PC" "Linux"
www IN CNAME host
out IN CNAME elsewhere.example.net.
_sip._tcp IN SRV 10 60 5060 host
*.wild 600 IN A 192.0.2.99
sub IN NS ns.sub
ns.sub IN A 192.0.2.53
`;

describe('bench dns2 peer: answers from the zone through dns2', () => {
  let dir: string;
  let tree: ZoneTree;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'bench-dns2-'));
    writeFileSync(join(dir, 'z.zone'), ZONE);
    const r = loadZoneFile('example.com.', join(dir, 'z.zone'));
    if (!r.ok) throw new Error(r.errors.map((e) => e.message).join());
    tree = new ZoneTree(r.zone);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  /** Asks the peer's logic, encodes the reply with dns2 as the server does, decodes it with dns-packet. */
  function ask(name: string, type: string, klass = 1): dnsPacket.Packet & { rcode?: string } {
    const r = answerQuestion(tree, name, Packet.TYPE[type as keyof typeof Packet.TYPE], klass);
    const p = new Packet();
    p.header = new Packet.Header({ id: 7, qr: 1, aa: r.aa ? 1 : 0, rcode: r.rcode });
    p.questions = [{ name, type: Packet.TYPE[type as keyof typeof Packet.TYPE], class: klass } as dns2.Packet.Question];
    p.answers = r.answers;
    p.authorities = r.authorities;
    p.additionals = r.additionals;
    return dnsPacket.decode(p.toBuffer()) as dnsPacket.Packet & { rcode?: string };
  }
  const rr = (p: dnsPacket.Packet, section: 'answers' | 'authorities' | 'additionals' = 'answers'): string[] =>
    (p[section] ?? []).map((a) => `${a.name.toLowerCase()} ${a.type} ${JSON.stringify((a as { data: unknown }).data)}`);

  const cases: { q: [string, string]; rcode: string; aa: boolean; answers?: string[]; authorities?: string[]; additionals?: string[] }[] = [
    { q: ['host.example.com', 'A'], rcode: 'NOERROR', aa: true, answers: ['host.example.com A "192.0.2.3"'] },
    { q: ['HOST.Example.COM', 'AAAA'], rcode: 'NOERROR', aa: true, answers: ['host.example.com AAAA "2001:db8::3"'] },
    { q: ['host.example.com', 'TXT'], rcode: 'NOERROR', aa: true, answers: ['host.example.com TXT [{"type":"Buffer","data":[118,61,115,112,102,49,32,45,97,108,108]},{"type":"Buffer","data":[115,101,99,111,110,100]}]'] },
    { q: ['example.com', 'MX'], rcode: 'NOERROR', aa: true, answers: ['example.com MX {"preference":10,"exchange":"mail.example.com"}'] },
    { q: ['_sip._tcp.example.com', 'SRV'], rcode: 'NOERROR', aa: true, answers: ['_sip._tcp.example.com SRV {"priority":10,"weight":60,"port":5060,"target":"host.example.com"}'] },
    { q: ['www.example.com', 'A'], rcode: 'NOERROR', aa: true, answers: ['www.example.com CNAME "host.example.com"', 'host.example.com A "192.0.2.3"'] },
    { q: ['out.example.com', 'A'], rcode: 'NOERROR', aa: true, answers: ['out.example.com CNAME "elsewhere.example.net"'] },
    { q: ['a.b.wild.example.com', 'A'], rcode: 'NOERROR', aa: true, answers: ['a.b.wild.example.com A "192.0.2.99"'] },
    { q: ['nope.example.com', 'A'], rcode: 'NXDOMAIN', aa: true, answers: [], authorities: ['example.com SOA {"mname":"ns1.example.com","rname":"hostmaster.example.com","serial":1,"refresh":7200,"retry":3600,"expire":1209600,"minimum":300}'] },
    { q: ['mail.example.com', 'AAAA'], rcode: 'NOERROR', aa: true, answers: [], authorities: ['example.com SOA {"mname":"ns1.example.com","rname":"hostmaster.example.com","serial":1,"refresh":7200,"retry":3600,"expire":1209600,"minimum":300}'] },
    { q: ['x.sub.example.com', 'A'], rcode: 'NOERROR', aa: false, answers: [], authorities: ['sub.example.com NS "ns.sub.example.com"'], additionals: ['ns.sub.example.com A "192.0.2.53"'] },
    { q: ['host.example.com', 'HINFO'], rcode: 'NOERROR', aa: true, answers: [] }, // dns2 cannot encode HINFO: left out
    { q: ['example.org', 'A'], rcode: 'REFUSED', aa: false, answers: [] },
  ];
  for (const c of cases) {
    it(`${c.q.join(' ')} → ${c.rcode}${c.answers?.length ? `, ${c.answers.length} answer(s)` : ''}`, () => {
      const p = ask(...c.q);
      expect(p.rcode).to.equal(c.rcode);
      expect(((p.flags ?? 0) & dnsPacket.AUTHORITATIVE_ANSWER) !== 0).to.equal(c.aa);
      if (c.answers) expect(rr(p)).to.deep.equal(c.answers);
      if (c.authorities) expect(rr(p, 'authorities')).to.deep.equal(c.authorities);
      if (c.additionals) expect(rr(p, 'additionals')).to.deep.equal(c.additionals);
    });
  }

  it('refuses class CH (no identity answers)', () => {
    expect(answerQuestion(tree, 'host.example.com', 1, 3).rcode).to.equal(5);
  });
});
