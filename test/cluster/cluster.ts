// Programmatic `up` and `down` (cli.ts and the tests call these). `up` builds the small
// bundles the cluster runs (relay, shop), cleans any stale cluster in the same state
// directory, starts daemon.ts detached and waits until it reports ready.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, openSync, readFileSync, rmSync, closeSync } from 'node:fs';
import { join } from 'node:path';
import http from 'node:http';
import { build } from 'esbuild';
import { names, repoRoot, stateDir } from './paths.js';
import { alive, readState, teardown } from './state.js';
import { containerPathNotice } from './controllers/container-runtime.js';

export interface UpOptions {
  dir?: string;
  nodes?: number;
  shop?: boolean;
  timeoutMs?: number;
}

export interface UpResult {
  dir: string;
  kubeconfig: string;
  port: number;
  seconds: number;
  pid: number;
}

async function bundle(dir: string): Promise<void> {
  const bin = join(dir, 'bin');
  mkdirSync(bin, { recursive: true });
  await build({
    entryPoints: { relay: join(repoRoot, 'test/cluster/net/relay.ts'), shop: join(repoRoot, 'test/cluster/shop/main.ts') },
    outdir: bin, outExtension: { '.js': '.mjs' }, bundle: true, platform: 'node', format: 'esm', target: 'node20',
    packages: 'external', logLevel: 'error',
  });
}

export async function up(opts: UpOptions = {}): Promise<UpResult> {
  const started = Date.now();
  const dir = stateDir(opts.dir);
  const n = names(dir);
  if (existsSync(n.statePath)) {
    const old = readState(n.statePath);
    process.stderr.write(`cleaning ${old && alive(old.pid) ? 'a running' : 'a stale'} cluster in ${dir}\n`);
    await down({ dir });
  }
  mkdirSync(dir, { recursive: true });
  process.stderr.write(containerPathNotice() ?? '');
  await bundle(dir);
  const logFd = openSync(join(dir, 'daemon.log'), 'w');
  const args = ['--import', 'tsx', join(repoRoot, 'test/cluster/daemon.ts'), '--dir', dir, '--nodes', String(opts.nodes ?? 2), ...(opts.shop ? ['--shop'] : [])];
  const child = spawn(process.execPath, args, { detached: true, stdio: ['ignore', logFd, logFd], cwd: repoRoot });
  closeSync(logFd);
  child.unref();
  // Generous: a cluster comes up in 5-15 s on an idle machine, but CI machines are shared.
  const deadline = Date.now() + (opts.timeoutMs ?? 180_000);
  for (;;) {
    const state = readState(n.statePath);
    if (state?.ready && state.port) {
      return { dir, kubeconfig: n.kubeconfig, port: state.port, seconds: (Date.now() - started) / 1000, pid: state.pid };
    }
    if (child.exitCode !== null || (child.pid && !alive(child.pid)) || Date.now() > deadline) {
      const log = existsSync(join(dir, 'daemon.log')) ? readFileSync(join(dir, 'daemon.log'), 'utf8').slice(-3000) : '';
      await down({ dir });
      throw new Error(`cluster did not come up (${Date.now() > deadline ? 'timeout' : 'daemon exited'}):\n${log}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

function control(dir: string | undefined, method: string, path: string): Promise<any> {
  const n = names(stateDir(dir));
  return new Promise((resolve, reject) => {
    const req = http.request({ socketPath: n.controlSocket, method, path }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c) => (body += c));
      res.on('end', () => {
        const parsed = body ? JSON.parse(body) : {};
        if (res.statusCode === 200) resolve(parsed);
        else reject(new Error(parsed.error ?? `control request failed (${res.statusCode})`));
      });
    });
    req.on('error', (err) => reject(new Error(`no running cluster in ${n.dir} (${err.message})`)));
    req.end();
  });
}

/** A new node joins the running cluster; resolves with its name once its Node object exists. */
export function addNode(opts: { dir?: string } = {}): Promise<{ name: string; ip: string }> {
  return control(opts.dir, 'POST', '/nodes');
}

/** A node leaves: its pods are deleted and stopped, its Node object and network removed. */
export function removeNode(name: string, opts: { dir?: string } = {}): Promise<void> {
  return control(opts.dir, 'DELETE', `/nodes/${encodeURIComponent(name)}`);
}

/** Stops the daemon (which tears down), then removes whatever is left from state alone. */
export async function down(opts: { dir?: string } = {}): Promise<{ removedNetns: string[] }> {
  const dir = stateDir(opts.dir);
  const n = names(dir);
  const state = readState(n.statePath);
  if (state && alive(state.pid)) {
    try {
      process.kill(state.pid, 'SIGTERM');
    } catch {
      // exited meanwhile
    }
    const deadline = Date.now() + 15_000;
    while (alive(state.pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    if (alive(state.pid)) process.kill(state.pid, 'SIGKILL');
  }
  const removedNetns = await teardown({ netnsPrefix: n.netnsPrefix, pids: state?.pids ?? [] }, n.mountPointsFile);
  for (const f of ['state.json', 'kubeconfig', 'relay.sock', 'apiserver.sock', 'control.sock', 'mountpoints', 'pki', 'pods', 'dns', 'bin', 'logs']) rmSync(join(dir, f), { recursive: true, force: true });
  return { removedNetns };
}
