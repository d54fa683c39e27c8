// Small wrappers over child_process for the cluster's plumbing commands (ip, iptables, openssl).
import { execFile, execFileSync } from 'node:child_process';

export function run(cmd: string, args: string[], input?: string): Promise<string> {
  return new Promise((resolvePromise, reject) => {
    const child = execFile(cmd, args, { maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${cmd} ${args.join(' ')}: ${stderr.trim() || err.message}`));
      else resolvePromise(stdout);
    });
    if (input !== undefined) child.stdin?.end(input);
  });
}

/** Runs and ignores failure: for cleanup steps where the object may already be gone. */
export async function runQuiet(cmd: string, args: string[], input?: string): Promise<void> {
  try {
    await run(cmd, args, input);
  } catch {
    // already removed or never created: nothing to clean
  }
}

export function runSync(cmd: string, args: string[]): string {
  return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}
