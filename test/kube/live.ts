// Running the built CLI against a simulated cluster the way a user does: as a kubectl plugin
// (`kubectl tap ...`, found on PATH), in the background, with its stdout read line by line, and
// stopped by a signal. Plus the checks of what exists, always with the real kubectl.
import { spawn, type ChildProcess } from 'node:child_process';
import assert from 'node:assert/strict';
import { ensureBuilt, repoRoot } from '../helpers/cli.js';
import { kubectl, waitFor } from '../cluster/kubectl.js';
import { KubeClient } from '../../src/kube/client.js';
import { loadConnection } from '../../src/kube/kubeconfig.js';

export interface LiveTap {
  child: ChildProcess;
  lines: string[];
  stderr: () => string;
  /** Resolves with the exit code (or the signal's name). */
  exited: Promise<number | string>;
}

export function startTap(kubeconfig: string, args: string[], opts: { viaKubectl?: boolean } = {}): LiveTap {
  ensureBuilt();
  const [cmd, argv] = opts.viaKubectl === false ? [`${repoRoot}dist/kubectl-tap`, args] : ['kubectl', ['tap', ...args]];
  const child = spawn(cmd, argv, { cwd: repoRoot, env: { ...process.env, KUBECONFIG: kubeconfig, PATH: `${repoRoot}dist:${process.env.PATH}` }, stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: string[] = [];
  let rest = '';
  let err = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => {
    rest += d;
    const parts = rest.split('\n');
    rest = parts.pop()!;
    lines.push(...parts.filter((l) => l.length > 0));
  });
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d));
  const exited = new Promise<number | string>((resolve) => child.on('close', (code, signal) => resolve(code ?? signal ?? -1)));
  return { child, lines, stderr: () => err, exited };
}

/** Waits for the tap to print entries (or exit, which fails with its stderr). */
export async function waitForLines(tap: LiveTap, what: string, test: (lines: string[]) => boolean, timeoutMs = 60_000): Promise<void> {
  let exited = false;
  void tap.exited.then(() => (exited = true));
  await waitFor(what, async () => {
    if (test(tap.lines)) return true;
    if (exited) throw new Error(`kubectl tap exited early:\n${tap.stderr()}`);
    return undefined;
  }, timeoutMs, 250).catch((err) => {
    throw new Error(`${(err as Error).message}\n--- stderr:\n${tap.stderr()}`);
  });
}

export async function stopTap(tap: LiveTap, signal: NodeJS.Signals = 'SIGINT', timeoutMs = 90_000): Promise<number | string> {
  tap.child.kill(signal);
  const timer = setTimeout(() => tap.child.kill('SIGKILL'), timeoutMs);
  const code = await tap.exited;
  clearTimeout(timer);
  return code;
}

/** Everything of ours the real kubectl can see: namespaces and cluster RBAC by label. */
export async function ourObjects(kubeconfig: string): Promise<string[]> {
  const r = await kubectl(kubeconfig, ['get', 'namespaces,clusterroles,clusterrolebindings', '-l', 'app.kubernetes.io/managed-by=kubectl-tap', '-o', 'name']);
  assert.equal(r.code, 0, r.stderr);
  return r.stdout.split('\n').filter(Boolean);
}

export async function kubectlJson(kubeconfig: string, args: string[]): Promise<any> {
  const r = await kubectl(kubeconfig, [...args, '-o', 'json']);
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout);
}

/** The tappers' /stats, read through the API server's proxy with the session token from the Secret. */
export async function tapperStats(kubeconfig: string, namespace = 'kubectl-tap'): Promise<any[]> {
  const conn = loadConnection({ kubeconfig });
  const client = new KubeClient(conn.kc, 10_000);
  try {
    const secret = await kubectlJson(kubeconfig, ['get', 'secret', '-n', namespace, 'kubectl-tap-session']);
    const token = Buffer.from(secret.data.token, 'base64').toString('utf8');
    const pods = await kubectlJson(kubeconfig, ['get', 'pods', '-n', namespace, '-l', 'app.kubernetes.io/component=tapper']);
    return await Promise.all(pods.items.map((p: any) => client.json('GET', `/api/v1/namespaces/${namespace}/pods/https:${p.metadata.name}:8449/proxy/stats`, { headers: { 'X-Tap-Token': token } })));
  } finally {
    client.close();
  }
}
