// Running the real kubectl against a simulated cluster, for the tests and the demo.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';

export interface KubectlResult {
  code: number;
  stdout: string;
  stderr: string;
}

export function hasKubectl(): boolean {
  return existsSync('/usr/bin/kubectl') || (process.env.PATH ?? '').split(':').some((d) => existsSync(`${d}/kubectl`));
}

export function kubectl(kubeconfig: string, args: string[], opts: { context?: string; input?: string; timeoutMs?: number } = {}): Promise<KubectlResult> {
  return new Promise((resolve) => {
    const full = [...(opts.context ? ['--context', opts.context] : []), ...args];
    const child = execFile('kubectl', full, { env: { ...process.env, KUBECONFIG: kubeconfig }, timeout: opts.timeoutMs ?? 30_000, maxBuffer: 8 << 20 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof (err as any).code === 'number' ? (err as any).code : 1) : 0, stdout, stderr });
    });
    if (opts.input !== undefined) child.stdin?.end(opts.input);
  });
}

/** kubectl bound to a cluster the caller brings up later (`kubeconfig()` is read per call), and its `-o json` form. */
export function kubectlFor(kubeconfig: () => string): {
  k: (args: string[], opts?: { context?: string; input?: string }) => Promise<KubectlResult>;
  json: (args: string[]) => Promise<any>;
} {
  const k = (args: string[], opts: { context?: string; input?: string } = {}) => kubectl(kubeconfig(), args, opts);
  const json = async (args: string[]) => {
    const r = await k([...args, '-o', 'json']);
    if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')} -o json failed (${r.code}): ${r.stderr}`);
    return JSON.parse(r.stdout);
  };
  return { k, json };
}

/** Polls until fn returns a value (not undefined) or the timeout passes; then throws with the last observation. */
export async function waitFor<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 30_000, everyMs = 500): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v !== undefined) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
