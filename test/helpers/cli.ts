// Runs the built CLI (dist/kubectl-tap, made by `make build`; built here when missing) the
// way a user does, and through the real kubectl's plugin discovery when asked.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
export const cliPath = `${repoRoot}dist/kubectl-tap`;

export function ensureBuilt(): void {
  if (existsSync(cliPath)) return;
  const r = spawnSync(process.execPath, ['scripts/build.mjs'], { cwd: repoRoot, stdio: 'inherit' });
  if (r.status !== 0) throw new Error('build failed');
}

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `kubectl-tap ARGS` with optional stdin; rejects if it runs longer than timeoutMs. */
export function runCli(args: string[], opts: { stdin?: Buffer | 'keep-open'; timeoutMs?: number; viaKubectl?: boolean } = {}): Promise<CliResult> {
  ensureBuilt();
  const [cmd, argv] = opts.viaKubectl ? ['kubectl', ['tap', ...args]] : [cliPath, args];
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, argv, {
      cwd: repoRoot,
      env: { ...process.env, PATH: `${repoRoot}dist:${process.env.PATH}` },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d) => (stderr += d));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`kubectl-tap ${args.join(' ')} still running after ${opts.timeoutMs ?? 30000} ms`));
    }, opts.timeoutMs ?? 30000);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    if (opts.stdin === 'keep-open') return; // input never ends: the command must not need it
    child.stdin.end(opts.stdin ?? undefined);
  });
}
