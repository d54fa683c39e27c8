// The tapper's pod as the stack runs it (hostNetwork; uid 0 with every capability dropped but
// those given; read-only root; the session Secret, the host's /proc and a scratch emptyDir as
// volumes; NODE_NAME from the downward API), for the image tests and the live benchmark.
import { IMAGE } from './podman.js';

export const tapperPodSpec = (port: number, capabilities: string[]) => ({
  hostNetwork: true,
  terminationGracePeriodSeconds: 5,
  containers: [{
    name: 'tapper', image: IMAGE,
    args: ['--listen', `0.0.0.0:${port}`, '--token-file', '/var/run/kubectl-tap/token'],
    env: [{ name: 'NODE_NAME', valueFrom: { fieldRef: { fieldPath: 'spec.nodeName' } } }],
    readinessProbe: { tcpSocket: { port }, periodSeconds: 1 },
    securityContext: { runAsUser: 0, readOnlyRootFilesystem: true, allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'], add: capabilities } },
    volumeMounts: [
      { name: 'session', mountPath: '/var/run/kubectl-tap', readOnly: true },
      { name: 'host-proc', mountPath: '/host/proc', readOnly: true },
      { name: 'scratch', mountPath: '/tmp' },
    ],
  }],
  volumes: [
    { name: 'session', secret: { secretName: 'session', defaultMode: 0o400 } },
    { name: 'host-proc', hostPath: { path: '/proc', type: 'Directory' } },
    { name: 'scratch', emptyDir: { medium: 'Memory' } },
  ],
});
