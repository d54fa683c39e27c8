// Service-account tokens as kube-apiserver issues and checks them: RS256 JWTs signed with the
// cluster's service-account key, issuer and audience https://kubernetes.default.svc.cluster.local,
// bound to a pod (and its node) when the kubelet asks for one (TokenRequest). A token
// authenticates as system:serviceaccount:NS:NAME, groups system:serviceaccounts and
// system:serviceaccounts:NS, only while its service account (and bound pod) still exist
// with the same uid and it has not expired.
// Also the ServiceAccount admission plugin: the pod's service account must exist, and
// unless automountServiceAccountToken is false (pod first, then service account) every
// container gets the projected `kube-api-access-*` volume at
// /var/run/secrets/kubernetes.io/serviceaccount.
import { createPrivateKey, createPublicKey, generateKeyPairSync, randomUUID, sign, verify, type KeyObject } from 'node:crypto';
import type { KubeObject, Store } from './store.js';
import { findResource } from './resources.js';
import { errors } from './status.js';
import type { UserInfo } from './rbac.js';

export const API_AUDIENCE = 'https://kubernetes.default.svc.cluster.local';
export const SA_MOUNT_PATH = '/var/run/secrets/kubernetes.io/serviceaccount';
/** What the kubelet asks for: one hour and seven seconds (the seven mark a kubelet-issued token). */
export const DEFAULT_TOKEN_SECONDS = 3607;

const serviceAccounts = findResource('', 'v1', 'serviceaccounts')!;
const pods = findResource('', 'v1', 'pods')!;

const b64url = (b: Buffer | string) => Buffer.from(b).toString('base64url');

interface Claims {
  aud: string[];
  exp: number;
  iat: number;
  nbf: number;
  iss: string;
  jti: string;
  sub: string;
  'kubernetes.io': {
    namespace: string;
    serviceaccount: { name: string; uid: string };
    pod?: { name: string; uid: string };
    node?: { name: string; uid: string };
    warnafter?: number;
  };
}

export interface TokenRequestSpec {
  audiences?: string[];
  expirationSeconds?: number;
  boundObjectRef?: { kind: string; name: string; uid?: string };
}

export class TokenIssuer {
  private readonly key: KeyObject;
  private readonly pub: KeyObject;
  private readonly kid: string;

  constructor(private readonly store: Store, pem?: string) {
    if (pem) {
      this.key = createPrivateKey(pem);
    } else {
      this.key = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
    }
    this.pub = createPublicKey(this.key);
    this.kid = b64url(this.pub.export({ format: 'der', type: 'spki' }).subarray(-32));
  }

  /** TokenRequest: a token for NS/NAME, optionally bound to a pod (and node). */
  issue(namespace: string, name: string, spec: TokenRequestSpec = {}, node?: { name: string; uid: string }): { token: string; expirationTimestamp: string } {
    const sa = this.store.get(serviceAccounts, namespace, name);
    if (!sa) throw errors.notFound('serviceaccounts', '', name);
    const now = Math.floor(Date.now() / 1000);
    const seconds = Math.max(600, Math.min(Number(spec.expirationSeconds ?? 3600), 48 * 3600));
    const bound = spec.boundObjectRef;
    // --service-account-extend-token-expiration (on by default): a kubelet's 3607 s pod token
    // is valid for a year, and says from when on its use is warned about (warnafter)
    const extended = bound?.kind === 'Pod' && seconds === DEFAULT_TOKEN_SECONDS;
    const claims: Claims = {
      aud: spec.audiences?.length ? spec.audiences : [API_AUDIENCE], exp: now + (extended ? 365 * 86400 : seconds), iat: now, nbf: now, iss: API_AUDIENCE, jti: randomUUID(),
      sub: `system:serviceaccount:${namespace}:${name}`,
      'kubernetes.io': { namespace, serviceaccount: { name, uid: sa.metadata.uid } },
    };
    if (bound?.kind === 'Pod') {
      const pod = this.store.get(pods, namespace, bound.name);
      if (!pod || (bound.uid && bound.uid !== pod.metadata.uid)) throw errors.notFound('pods', '', bound.name);
      claims['kubernetes.io'].pod = { name: pod.metadata.name, uid: pod.metadata.uid };
      if (node) claims['kubernetes.io'].node = node;
      if (extended) claims['kubernetes.io'].warnafter = now + seconds;
    }
    const head = b64url(JSON.stringify({ alg: 'RS256', kid: this.kid }));
    const body = b64url(JSON.stringify(claims));
    const sig = sign('sha256', Buffer.from(`${head}.${body}`), this.key);
    return { token: `${head}.${body}.${b64url(sig)}`, expirationTimestamp: new Date(claims.exp * 1000).toISOString().replace(/\.\d+Z$/, 'Z') };
  }

  /** The user a service-account token stands for, or undefined when it is not a valid one. */
  authenticate(token: string): UserInfo | undefined {
    const parts = token.split('.');
    if (parts.length !== 3) return undefined;
    let claims: Claims;
    try {
      if (!verify('sha256', Buffer.from(`${parts[0]}.${parts[1]}`), this.pub, Buffer.from(parts[2]!, 'base64url'))) return undefined;
      claims = JSON.parse(Buffer.from(parts[1]!, 'base64url').toString('utf8'));
    } catch {
      return undefined;
    }
    const now = Date.now() / 1000;
    if (claims.iss !== API_AUDIENCE || !claims.aud?.includes(API_AUDIENCE) || now >= claims.exp || now < claims.nbf - 60) return undefined;
    const k = claims['kubernetes.io'];
    const sa = this.store.get(serviceAccounts, k?.namespace, k?.serviceaccount?.name);
    if (!sa || sa.metadata.uid !== k.serviceaccount.uid) return undefined;
    if (k.pod) {
      const pod = this.store.get(pods, k.namespace, k.pod.name);
      if (!pod || pod.metadata.uid !== k.pod.uid || pod.metadata.deletionTimestamp) return undefined;
    }
    const extra: Record<string, string[]> = { 'authentication.kubernetes.io/credential-id': [`JTI=${claims.jti}`] };
    if (k.node) Object.assign(extra, { 'authentication.kubernetes.io/node-name': [k.node.name], 'authentication.kubernetes.io/node-uid': [k.node.uid] });
    if (k.pod) Object.assign(extra, { 'authentication.kubernetes.io/pod-name': [k.pod.name], 'authentication.kubernetes.io/pod-uid': [k.pod.uid] });
    return { name: claims.sub, uid: sa.metadata.uid, groups: ['system:serviceaccounts', `system:serviceaccounts:${k.namespace}`], extra };
  }
}

function randomName(): string {
  const SAFE = 'bcdfghjklmnpqrstvwxz2456789';
  return Array.from({ length: 5 }, () => SAFE[Math.floor(Math.random() * SAFE.length)]).join('');
}

/** The ServiceAccount admission plugin for a pod being created. */
export function admitServiceAccount(store: Store, pod: KubeObject): void {
  const spec = pod.spec;
  const ns = pod.metadata.namespace as string;
  const name = spec.serviceAccountName as string;
  const sa = store.get(serviceAccounts, ns, name);
  // The namespace controller creates `default` a moment after the namespace; a pod created
  // in that moment is admitted (a real server would look it up live and usually find it).
  if (!sa && name !== 'default') {
    throw errors.forbidden(`pods "${pod.metadata.name}" is forbidden: error looking up service account ${ns}/${name}: serviceaccount "${name}" not found`, { name: pod.metadata.name, kind: 'pods' });
  }
  const automount = spec.automountServiceAccountToken ?? sa?.automountServiceAccountToken ?? true;
  if (!automount) return;
  const all = [...(spec.initContainers ?? []), ...(spec.containers ?? [])];
  if (all.every((c: any) => (c.volumeMounts ?? []).some((m: any) => m.mountPath === SA_MOUNT_PATH))) return;
  const existing = (spec.volumes ?? []).find((v: any) => v.name?.startsWith('kube-api-access-') && v.projected);
  const volumeName = existing?.name ?? `kube-api-access-${randomName()}`;
  if (!existing) {
    spec.volumes = [...(spec.volumes ?? []), {
      name: volumeName,
      projected: {
        defaultMode: 420,
        sources: [
          { serviceAccountToken: { expirationSeconds: DEFAULT_TOKEN_SECONDS, path: 'token' } },
          { configMap: { name: 'kube-root-ca.crt', items: [{ key: 'ca.crt', path: 'ca.crt' }] } },
          { downwardAPI: { items: [{ path: 'namespace', fieldRef: { apiVersion: 'v1', fieldPath: 'metadata.namespace' } }] } },
        ],
      },
    }];
  }
  for (const c of all) {
    if ((c.volumeMounts ?? []).some((m: any) => m.mountPath === SA_MOUNT_PATH)) continue;
    c.volumeMounts = [...(c.volumeMounts ?? []), { name: volumeName, readOnly: true, mountPath: SA_MOUNT_PATH }];
  }
}
