// The kubeconfig users of the simulated cluster and how they authenticate:
// a cluster admin (client certificate, group system:masters), a user limited to the `dev`
// namespace (client certificate, RoleBinding to `admin` there), and a read-only user
// (bearer token, ClusterRoleBinding to `view`). Contexts: tap (default), tap-dev, tap-viewer.
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import yaml from 'js-yaml';
import type { ClusterPki } from './pki.js';
import type { UserInfo } from './api/rbac.js';
import type { KubeObject } from './api/store.js';

export const CERT_USERS: Record<string, string> = {
  admin: '/CN=kubernetes-admin/O=system:masters',
  dev: '/CN=dev',
};

export const LIMITED_NAMESPACE = 'dev';

export function makeTokens(): { viewerToken: string; tokens: Record<string, UserInfo> } {
  const viewerToken = randomBytes(24).toString('hex');
  return { viewerToken, tokens: { [viewerToken]: { name: 'viewer', groups: [] } } };
}

export function userBindings(): KubeObject[] {
  return [
    {
      apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'RoleBinding', metadata: { name: 'dev-admin', namespace: LIMITED_NAMESPACE },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'admin' },
      subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: 'dev' }],
    },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRoleBinding', metadata: { name: 'viewer-view' },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'view' },
      subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: 'viewer' }],
    },
  ];
}

const b64 = (s: string) => Buffer.from(s).toString('base64');

export function writeKubeconfig(path: string, port: number, pki: ClusterPki, viewerToken: string): void {
  const server = `https://127.0.0.1:${port}`;
  const config = {
    apiVersion: 'v1', kind: 'Config', preferences: {},
    clusters: [{ name: 'tap', cluster: { server, 'certificate-authority-data': b64(pki.ca) } }],
    users: [
      { name: 'tap-admin', user: { 'client-certificate-data': b64(pki.clients.admin!.cert), 'client-key-data': b64(pki.clients.admin!.key) } },
      { name: 'tap-dev', user: { 'client-certificate-data': b64(pki.clients.dev!.cert), 'client-key-data': b64(pki.clients.dev!.key) } },
      { name: 'tap-viewer', user: { token: viewerToken } },
    ],
    contexts: [
      { name: 'tap', context: { cluster: 'tap', user: 'tap-admin', namespace: 'default' } },
      { name: 'tap-dev', context: { cluster: 'tap', user: 'tap-dev', namespace: LIMITED_NAMESPACE } },
      { name: 'tap-viewer', context: { cluster: 'tap', user: 'tap-viewer', namespace: 'default' } },
    ],
    'current-context': 'tap',
  };
  writeFileSync(path, yaml.dump(config), { mode: 0o600 });
}
