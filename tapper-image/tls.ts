// The serving certificate: self-signed, made at start with the image's openssl, kept in
// memory only (openssl writes key and certificate to its stdout, "-"; nothing touches the
// filesystem, which may be read-only). The API server's proxy does not verify a pod's
// certificate, so TLS here is encryption only; the key never leaves the process.
import { spawnSync } from 'node:child_process';

export interface ServingCertificate {
  key: string;
  cert: string;
}

export class TlsSetupError extends Error {}

export function makeSelfSignedCertificate(commonName: string): ServingCertificate {
  const r = spawnSync(
    'openssl',
    [
      'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
      '-keyout', '-', '-days', '30',
      '-subj', `/CN=${commonName.replace(/[^A-Za-z0-9.-]/g, '-')}`,
      '-addext', 'basicConstraints=critical,CA:FALSE',
      '-addext', 'extendedKeyUsage=serverAuth',
    ],
    // RANDFILE unset: openssl must not try to write a seed file in $HOME.
    { encoding: 'utf8', timeout: 20_000, env: { ...process.env, RANDFILE: '' } },
  );
  if (r.error) throw new TlsSetupError(`cannot run openssl to make the serving certificate: ${r.error.message}`);
  const key = /-----BEGIN PRIVATE KEY-----[\s\S]+?-----END PRIVATE KEY-----\n?/.exec(r.stdout)?.[0];
  const cert = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----\n?/.exec(r.stdout)?.[0];
  if (r.status !== 0 || !key || !cert) {
    throw new TlsSetupError(`openssl could not make the serving certificate: ${(r.stderr || '').trim().split('\n').pop() ?? 'no output'}`);
  }
  return { key, cert };
}
