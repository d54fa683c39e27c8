// Volumes for the process runtime: each container is already started in a mount namespace
// of its own (`ip netns exec` unshares one, with / made a slave so nothing propagates back
// to the host); a small shell prologue bind-mounts every volume at its mountPath there
// (remounted read-only when asked) and then execs the container's command.
//
// A mountPath that does not exist on the host needs a mount point. A real node's kubelet
// would create it inside the image's root; here the container shares the host's root, so
// the missing folders (or the empty file, for a file source) are created on the host,
// written down in the cluster's `mountpoints` file, and removed by `down`, unless some
// process (another cluster's container) still has something mounted there: those are handed
// to a list shared by every cluster on the machine (/run/kubectl-tap-cluster/mountpoints),
// which each later `down` tries again, so the last cluster to leave removes them.
import { appendFileSync, existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import type { Mount } from './volumes.js';

const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/** argv that mounts the volumes, then runs `argv` in their place (exec keeps the pid). */
export function withMounts(mounts: Mount[], argv: string[]): string[] {
  if (mounts.length === 0) return argv;
  // Parents before children, as runtimes order them, so /a/b lands inside /a. But a volume
  // whose mountPath holds another volume's source on the host (an emptyDir on /tmp, and a
  // checkout under /tmp whose pods' files are sources) goes after it: mounted first, it would
  // hide that source here, where a real runtime's sources stay outside the container's root.
  const inside = (path: string, dir: string) => path === dir || path.startsWith(dir.endsWith('/') ? dir : `${dir}/`);
  const hidesASource = (m: Mount) =>
    mounts.some((o) => o !== m && inside(o.source, m.target)) && !mounts.some((o) => o !== m && inside(o.target, m.target));
  const depth = (m: Mount) => m.target.split('/').length;
  const ordered = [...mounts].sort((a, b) => Number(hidesASource(a)) - Number(hidesASource(b)) || depth(a) - depth(b));
  const lines = ['set -e'];
  for (const m of ordered) {
    // a target inside an earlier volume is created there (as runc does), not on the host
    const make = statSync(m.source).isDirectory() ? 'mkdir -p --' : 'touch --';
    lines.push(`[ -e ${quote(m.target)} ] || ${make} ${quote(m.target)}`);
    lines.push(`mount --rbind -- ${quote(m.source)} ${quote(m.target)}`);
    if (m.readOnly) lines.push(`mount -o remount,bind,ro -- ${quote(m.target)}`);
  }
  lines.push('exec "$@"');
  return ['sh', '-c', lines.join('\n'), 'sh', ...argv];
}

/** Makes sure every target exists on the host, recording what it had to create. */
export function prepareMountPoints(mounts: Mount[], registry: string): void {
  for (const m of mounts) {
    const target = resolve(m.target);
    if (existsSync(target)) continue;
    const created: string[] = [];
    let dir = dirname(target);
    const missing: string[] = [];
    while (!existsSync(dir)) {
      missing.unshift(dir);
      dir = dirname(dir);
    }
    for (const d of missing) {
      mkdirSync(d);
      created.push(d);
    }
    if (statSync(m.source).isDirectory()) mkdirSync(target);
    else writeFileSync(target, '');
    created.push(target);
    appendFileSync(registry, created.map((p) => `${p}\n`).join(''));
  }
}

function mountedEverywhere(): Set<string> {
  const points = new Set<string>();
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    let text = '';
    try {
      text = readFileSync(`/proc/${pid}/mountinfo`, 'utf8');
    } catch {
      continue; // exited meanwhile
    }
    for (const line of text.split('\n')) {
      const field = line.split(' ')[4];
      if (field) points.add(field.replace(/\\(\d{3})/g, (_, o) => String.fromCharCode(parseInt(o, 8))));
    }
  }
  return points;
}

const SHARED_DIR = '/run/kubectl-tap-cluster';
const SHARED_LIST = join(SHARED_DIR, 'mountpoints');

const readList = (file: string) => (existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter(Boolean) : []);

/**
 * Removes the mount points this cluster created, and those other clusters left in use
 * (deepest first, only empty ones); what is still in use now is handed to the shared list.
 */
export function removeMountPoints(registry: string): void {
  const paths = [...new Set([...readList(registry), ...readList(SHARED_LIST)])].sort((a, b) => b.length - a.length);
  if (paths.length === 0) return;
  const inUse = mountedEverywhere();
  const kept: string[] = [];
  for (const p of paths) {
    if (!existsSync(p)) continue;
    // a parent of a kept mount point is kept too (it is not empty)
    if (inUse.has(p) || kept.some((k) => k.startsWith(`${p}/`))) {
      kept.push(p);
      continue;
    }
    try {
      if (statSync(p).isDirectory()) rmdirSync(p); // only when empty
      else if (statSync(p).size === 0) rmSync(p);
    } catch {
      // not empty (someone else's files): not ours to remove
    }
  }
  mkdirSync(SHARED_DIR, { recursive: true });
  const tmp = `${SHARED_LIST}.${process.pid}`;
  writeFileSync(tmp, kept.map((p) => `${p}\n`).join(''));
  renameSync(tmp, SHARED_LIST);
  rmSync(registry, { force: true });
}
