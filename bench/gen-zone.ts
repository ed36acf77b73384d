/** Generates a zone file of N records with a realistic mix, for the zone-load benchmark. */

import { writeFileSync } from 'node:fs';

/** A small deterministic generator (mulberry32), so every run writes the same zone. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * A zone for `origin` with exactly `records` records: SOA, NS with glue, 50
 * mail hosts, then hosts with A (all), AAAA (about half, owner omitted), TXT (about one in
 * ten, SPF-style or a token), MX (one in twenty), CNAME aliases (one in
 * eight names), SRV (one in fifty) and delegations with glue (one in a
 * hundred). Names are relative; some lines carry their own TTL.
 */
export function generateZone(records: number, origin = 'example.com.'): string {
  const rnd = prng(20240101);
  const out: string[] = [
    '$TTL 3600',
    `$ORIGIN ${origin}`,
    '@ IN SOA ns1 hostmaster ( 2024010101 7200 3600 1209600 300 )',
    '  IN NS ns1',
    '  IN NS ns2',
    'ns1 IN A 192.0.2.1',
    'ns2 IN A 198.51.100.1',
  ];
  for (let m = 0; m < 50 && out.length - 2 < records; m++) out.push(`mail${m} IN A 192.0.2.${100 + m}`);
  let n = out.length - 2;
  let host = 0;
  let lastHost = -1;
  const ip4 = (i: number): string => `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
  const ip6 = (i: number): string => `2001:db8:${(i >> 16).toString(16)}:${(i & 0xffff).toString(16)}::1`;
  const room = (k: number): boolean => n + k <= records;
  while (n < records) {
    const i = host++;
    const r = rnd();
    if (r < 0.01 && room(4)) {
      out.push(`sub${i} IN NS ns1.sub${i}`, `sub${i} IN NS ns2.sub${i}`, `ns1.sub${i} IN A ${ip4(i)}`, `ns2.sub${i} IN AAAA ${ip6(i)}`);
      n += 4;
      continue;
    }
    if (r < 0.13 && lastHost >= 0 && room(1)) {
      out.push(`www${i} IN CNAME host${lastHost}`);
      n += 1;
      continue;
    }
    if (r < 0.15 && lastHost >= 0 && room(1)) {
      out.push(`_sip._tcp.svc${i} 600 IN SRV 10 60 5060 host${lastHost}`);
      n += 1;
      continue;
    }
    out.push(rnd() < 0.1 ? `host${i} 300 IN A ${ip4(i)}` : `host${i} IN A ${ip4(i)}`);
    lastHost = i;
    n++;
    if (rnd() < 0.5 && room(1)) {
      out.push(`  IN AAAA ${ip6(i)}`);
      n++;
    }
    if (rnd() < 0.1 && room(1)) {
      out.push(rnd() < 0.5 ? `  IN TXT "v=spf1 ip4:${ip4(i)} -all"` : `  IN TXT "token=${Math.floor(rnd() * 1e12).toString(36)}"`);
      n++;
    }
    if (rnd() < 0.05 && room(1)) {
      out.push(`  IN MX 10 mail${i % 50}`);
      n++;
    }
  }
  return out.join('\n') + '\n';
}

const isMain = process.argv[1] !== undefined && import.meta.url === new URL(`file://${process.argv[1]}`).href;
if (isMain) {
  const count = Number(process.argv[2] ?? '1000000');
  const file = process.argv[3];
  if (!Number.isInteger(count) || count < 5) {
    console.error('usage: node dist/bench/gen-zone.js RECORDS [FILE]   (RECORDS >= 5; FILE defaults to stdout)');
    process.exit(2);
  }
  const text = generateZone(count);
  if (file === undefined) process.stdout.write(text);
  else writeFileSync(file, text);
}
