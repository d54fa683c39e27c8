// The names every part of the stack agrees on: labels that find our objects, annotations
// that carry the session, and the tapper's port (docs/tapper-api.md).
export const LABELS = {
  managedBy: 'app.kubernetes.io/managed-by',
  component: 'app.kubernetes.io/component',
  /** On a stack installed by an admin from `kubectl tap manifests`: sessions never remove it. */
  preinstalled: 'kubectl-tap.io/preinstalled',
  /** Annotation: the id of the session that created the object. */
  session: 'kubectl-tap.io/session',
  /** Annotation on the namespace: the CLI's last heartbeat, RFC 3339. */
  heartbeat: 'kubectl-tap.io/heartbeat',
  /** Annotation on the namespace: who runs the session (user@host, pid), for the "in use" message. */
  owner: 'kubectl-tap.io/owner',
} as const;

export const MANAGED_BY = 'kubectl-tap';
export const MANAGED_SELECTOR = `${LABELS.managedBy}=${MANAGED_BY}`;
export const TAPPER_SELECTOR = 'app.kubernetes.io/name=kubectl-tap,app.kubernetes.io/component=tapper';
export const TAPPER_PORT = 8449;
export const DEFAULT_TAP_NAMESPACE = 'kubectl-tap';
