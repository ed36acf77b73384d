/** A throwaway certificate authority made with openssl at test time, and server certificates it issues, for DNS-over-TLS tests. */

import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Why this helper cannot run here, or null. */
export function opensslUnavailable(): string | null {
  return spawnSync('openssl', ['version']).error ? 'openssl not installed — apt-get install openssl' : null;
}

/** A CA: its certificate (what clients trust) and what it needs to issue more. */
export interface TestCa {
  dir: string;
  /** PEM file of the CA certificate. */
  certFile: string;
  keyFile: string;
}

/** A server certificate and its key (PEM files). */
export interface ServerCert {
  certFile: string;
  keyFile: string;
}

function openssl(args: string[], cwd: string): void {
  const r = spawnSync('openssl', args, { cwd, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`openssl ${args.join(' ')} failed:\n${r.stderr}`);
}

/** Makes a CA (ECDSA P-256, valid two days) in a new folder readable by any user (the server drops privileges). */
export function makeCa(name = 'shardns test CA'): TestCa {
  const dir = mkdtempSync(join(tmpdir(), 'shardns-ca-'));
  chmodSync(dir, 0o755);
  openssl(
    ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2', '-subj', `/CN=${name}`, '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign'],
    dir,
  );
  chmodSync(join(dir, 'ca.pem'), 0o644);
  return { dir, certFile: join(dir, 'ca.pem'), keyFile: join(dir, 'ca.key') };
}

/** Issues a server certificate for `dnsName` (its subjectAltName), signed by `ca`. */
export function issueServerCert(ca: TestCa, dnsName: string): ServerCert {
  const base = `server-${dnsName}`;
  openssl(['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', `${base}.key`, '-out', `${base}.csr`, '-subj', `/CN=${dnsName}`], ca.dir);
  writeFileSync(join(ca.dir, `${base}.ext`), `subjectAltName=DNS:${dnsName}\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n`);
  openssl(['x509', '-req', '-in', `${base}.csr`, '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', `${base}.pem`, '-days', '2', '-extfile', `${base}.ext`], ca.dir);
  for (const f of [`${base}.pem`, `${base}.key`]) chmodSync(join(ca.dir, f), 0o644);
  return { certFile: join(ca.dir, `${base}.pem`), keyFile: join(ca.dir, `${base}.key`) };
}
