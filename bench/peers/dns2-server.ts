/**
 * The npm `dns2` server as a benchmark peer: one zone file, loaded with
 * shardns's own loader and looked up with its lookup, answered over UDP
 * through dns2's server API (dns2 decodes every query and encodes every
 * reply). Single process, UDP only. Run by bench/servers.ts as
 * `node dist/bench/peers/dns2-server.js --port P --zone ORIGIN=FILE`.
 */

import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';
import type { Answer } from 'dns-packet';
import dns2 from 'dns2';
import { formatDiagnostic, loadZoneFile } from '../../src/zone/index.js';
import { lookup, MAX_CHAIN } from './dns2-lookup.js';
import { isAtOrBelow, nameKey } from '../../src/zone/names.js';
import { ZoneTree, type RRset } from './dns2-tree.js';

const { Packet } = dns2;
type Resource = dns2.Packet.Resource;

/** dns2's type numbers by name, and names by number. */
const TYPE_CODE: Readonly<Record<string, number>> = Packet.TYPE as unknown as Record<string, number>;
const TYPE_NAME = new Map<number, string>(Object.entries(TYPE_CODE).map(([k, v]) => [v, k]));

const RCODE = { NOERROR: 0, FORMERR: 1, NXDOMAIN: 3, NOTIMP: 4, REFUSED: 5, YXDOMAIN: 6 } as const;
const CLASS_IN = 1;

/** What the peer puts in a reply, before dns2 encodes it. */
export interface PeerReply {
  rcode: number;
  aa: boolean;
  answers: Resource[];
  authorities: Resource[];
  additionals: Resource[];
}

/**
 * One zone record (dns-packet shape, as src/zone loads it) in dns2's shape,
 * or null for the types dns2 cannot encode (it knows A, AAAA, NS, CNAME, PTR,
 * MX, TXT, SPF, SOA, SRV and CAA).
 */
export function toDns2(r: Answer): Resource | null {
  const type = TYPE_CODE[r.type];
  if (type === undefined) return null;
  const base = { name: r.name, type, class: CLASS_IN, ttl: (r as { ttl?: number }).ttl ?? 0 };
  const d = (r as { data: unknown }).data;
  const o = d as Record<string, unknown>;
  let extra: Record<string, unknown>;
  switch (r.type as string) {
    case 'A':
    case 'AAAA':
      extra = { address: d };
      break;
    case 'NS':
      extra = { ns: d };
      break;
    case 'CNAME':
    case 'PTR':
      extra = { domain: d };
      break;
    case 'MX':
      extra = { exchange: o.exchange, priority: o.preference };
      break;
    case 'TXT':
    case 'SPF':
      extra = { data: Array.isArray(d) ? d : [d] };
      break;
    case 'SRV':
      extra = { priority: o.priority, weight: o.weight, port: o.port, target: o.target };
      break;
    case 'SOA':
      extra = { primary: o.mname, admin: o.rname, serial: o.serial, refresh: o.refresh, retry: o.retry, expiration: o.expire, minimum: o.minimum };
      break;
    case 'CAA':
      extra = { flags: o.flags, tag: o.tag, value: o.value };
      break;
    default:
      return null;
  }
  return { ...base, ...extra } as unknown as Resource;
}

function push(into: Resource[], set: RRset): void {
  for (const r of set.records) {
    const x = toDns2(r);
    if (x) into.push(x);
  }
}

/**
 * The reply to one question from one zone, using shardns's lookup: answers
 * (following CNAMEs and DNAMEs inside the zone), NXDOMAIN and NODATA with the
 * SOA in authority, referrals with NS and glue. No EDNS, no DNSSEC, no
 * compression choices of its own (dns2 compresses names), no CH class.
 */
export function answerQuestion(tree: ZoneTree, name: string, qtype: number, qclass: number): PeerReply {
  const reply: PeerReply = { rcode: RCODE.NOERROR, aa: true, answers: [], authorities: [], additionals: [] };
  if (qclass !== CLASS_IN || !isAtOrBelow(nameKey(name), tree.originKey)) return { ...reply, rcode: RCODE.REFUSED, aa: false };
  const type = TYPE_NAME.get(qtype) ?? `TYPE${qtype}`;
  let qname = name;
  for (let link = 0; link <= MAX_CHAIN; link++) {
    if (!isAtOrBelow(nameKey(qname), tree.originKey)) return reply; // alias leaves the zone: the client follows it
    const r = lookup(tree, qname, type);
    switch (r.kind) {
      case 'answer':
        for (const set of r.rrsets) push(reply.answers, set);
        return reply;
      case 'cname':
        push(reply.answers, r.cname);
        qname = r.target;
        continue;
      case 'dname':
        push(reply.answers, r.cname); // dns2 cannot encode DNAME: only the synthesized CNAME
        qname = r.target;
        continue;
      case 'delegation':
        if (reply.answers.length === 0) reply.aa = false;
        push(reply.authorities, r.ns);
        for (const g of r.glue) push(reply.additionals, g);
        return reply;
      case 'nodata':
        push(reply.authorities, r.soa);
        return reply;
      case 'nxdomain':
        push(reply.authorities, r.soa);
        reply.rcode = RCODE.NXDOMAIN;
        return reply;
      case 'yxdomain':
        reply.rcode = RCODE.YXDOMAIN;
        return reply;
    }
  }
  return reply;
}

/** Starts the peer: `--port P --zone ORIGIN=FILE [--address 127.0.0.1]`. */
async function main(argv: string[]): Promise<void> {
  const { values } = parseArgs({ args: argv, options: { port: { type: 'string' }, zone: { type: 'string' }, address: { type: 'string', default: '127.0.0.1' } } });
  const port = Number(values.port);
  const eq = values.zone?.indexOf('=') ?? -1;
  if (!Number.isInteger(port) || port < 1 || port > 65535 || eq <= 0) {
    process.stderr.write('usage: node dist/bench/peers/dns2-server.js --port PORT --zone ORIGIN=FILE [--address 127.0.0.1]\n');
    process.exit(2);
  }
  const loaded = loadZoneFile(values.zone!.slice(0, eq), values.zone!.slice(eq + 1));
  if (!loaded.ok) {
    process.stderr.write(`dns2 peer: zone does not load:\n${loaded.errors.slice(0, 5).map(formatDiagnostic).join('\n')}\n`);
    process.exit(1);
  }
  const tree = new ZoneTree(loaded.zone);
  process.title = 'dns2 peer';
  const server = dns2.createServer({
    udp: true,
    handle: (request, send) => {
      const response = Packet.createResponseFromRequest(request);
      const q = request.questions[0];
      if (request.header.opcode !== 0) response.header.rcode = RCODE.NOTIMP;
      else if (q === undefined || request.questions.length !== 1) response.header.rcode = RCODE.FORMERR;
      else {
        const r = answerQuestion(tree, q.name, q.type, q.class);
        response.header.rcode = r.rcode;
        response.header.aa = r.aa ? 1 : 0;
        response.answers = r.answers;
        response.authorities = r.authorities;
        response.additionals = r.additionals;
      }
      send(response).catch(() => undefined);
    },
  });
  server.on('requestError', () => undefined); // undecodable datagrams: dropped, as dns2 does
  server.on('error', (err) => process.stderr.write(`dns2 peer: ${err.message}\n`));
  await server.listen({ udp: { port, address: values.address! } });
  process.stdout.write(`dns2 peer (dns2 ${dns2Version()}) serving ${loaded.zone.origin} (${loaded.zone.size} records) on ${values.address}:${port}/udp\n`);
  const stop = (): void => void server.close().then(() => process.exit(0));
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

/** dns2's version, from its package.json. */
export function dns2Version(): string {
  try {
    const file = createRequire(import.meta.url).resolve('dns2/package.json');
    return (JSON.parse(readFileSync(file, 'utf8')) as { version?: string }).version ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) await main(process.argv.slice(2));
