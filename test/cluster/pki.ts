// The cluster's certificates, made with the openssl CLI: a CA generated at every `up`, the
// API server's serving certificate (127.0.0.1, and the in-cluster names and IPs: kubernetes.default.svc, 10.96.0.1), client certificates for the
// kubeconfig users, and the shop mesh's mutual-TLS certificates signed by the same CA.
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { run } from './exec.js';
import { API_ADVERTISE_IP } from './net/plumbing.js';

export interface Pem {
  cert: string;
  key: string;
}

async function sign(dir: string, name: string, subject: string, ext: string): Promise<Pem> {
  const key = join(dir, `${name}.key`);
  const csr = join(dir, `${name}.csr`);
  const crt = join(dir, `${name}.crt`);
  const extFile = join(dir, `${name}.ext`);
  writeFileSync(extFile, ext);
  await run('openssl', ['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
    '-keyout', key, '-out', csr, '-subj', subject]);
  // A random serial per certificate: with -CAcreateserial the certificates signed at once
  // (Promise.all below) read and wrote one ca.srl together, and one read it half-written
  // ("Unable to load number from ca.srl": the cluster did not come up).
  await run('openssl', ['x509', '-req', '-in', csr, '-CA', join(dir, 'ca.crt'), '-CAkey', join(dir, 'ca.key'),
    '-set_serial', `0x${randomBytes(16).toString('hex').replace(/^[89a-f]/, '1')}`, '-out', crt, '-days', '30', '-extfile', extFile]);
  return { cert: readFileSync(crt, 'utf8'), key: readFileSync(key, 'utf8') };
}

export interface ClusterPki {
  ca: string;
  server: Pem;
  clients: Record<string, Pem>;
}

/** clientSubjects: user name -> openssl subject ("/CN=alice/O=group"). */
export async function makePki(dir: string, clientSubjects: Record<string, string>): Promise<ClusterPki> {
  mkdirSync(dir, { recursive: true });
  await run('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
    '-keyout', join(dir, 'ca.key'), '-out', join(dir, 'ca.crt'), '-days', '30', '-subj', '/CN=tap-cluster-ca']);
  const server = await sign(dir, 'apiserver', '/CN=kube-apiserver',
    `subjectAltName=IP:127.0.0.1,IP:10.96.0.1,IP:${API_ADVERTISE_IP},DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local\nextendedKeyUsage=serverAuth\n`);
  const clients: Record<string, Pem> = {};
  await Promise.all(Object.entries(clientSubjects).map(async ([user, subject]) => {
    clients[user] = await sign(dir, `user-${user}`, subject, 'extendedKeyUsage=clientAuth\n');
  }));
  return { ca: readFileSync(join(dir, 'ca.crt'), 'utf8'), server, clients };
}

/** A certificate for a workload of the shop's mesh, valid for both ends of mutual TLS. */
export async function makeWorkloadCert(dir: string, name: string, dnsNames: string[]): Promise<Pem> {
  const san = dnsNames.map((d) => `DNS:${d}`).join(',');
  return sign(dir, `mesh-${name}`, `/CN=${name}`, `subjectAltName=${san}\nextendedKeyUsage=serverAuth,clientAuth\n`);
}
