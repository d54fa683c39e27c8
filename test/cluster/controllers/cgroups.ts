// Memory limits for the process runtime: each container with limits.memory runs in a memory
// cgroup of its own, so the kernel's OOM killer enforces the limit as it does under a real
// container runtime; the kubelet then reads the cgroup's oom_kill counter to report the exit
// as OOMKilled. cgroup v2 (memory.max, memory.events) when the unified hierarchy has the memory
// controller, else cgroup v1 (memory.limit_in_bytes, memory.oom_control). Cgroups are named
// tap-<cluster id>-..., so `down` finds and removes them.
import { existsSync, mkdirSync, readFileSync, readdirSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface MemoryCgroup {
  /** the cgroup.procs file a process writes its pid into to join */
  procsFile: string;
  /** whether the kernel OOM-killed a process in it */
  oomKilled(): boolean;
  remove(): void;
}

type Flavour = { kind: 'v2' | 'v1'; root: string };

function flavour(): Flavour | undefined {
  const v2 = '/sys/fs/cgroup';
  if (existsSync(join(v2, 'cgroup.controllers')) && readFileSync(join(v2, 'cgroup.controllers'), 'utf8').split(/\s+/).includes('memory')) {
    return { kind: 'v2', root: v2 };
  }
  if (existsSync('/sys/fs/cgroup/memory/memory.limit_in_bytes')) return { kind: 'v1', root: '/sys/fs/cgroup/memory' };
  return undefined;
}

const detected = flavour();

/** Which mechanism enforces memory limits here (for the README and the test's message). */
export function memoryLimitSupport(): 'cgroup v2' | 'cgroup v1' | 'none' {
  return detected ? (detected.kind === 'v2' ? 'cgroup v2' : 'cgroup v1') : 'none';
}

export function createMemoryCgroup(name: string, limitBytes: number): MemoryCgroup | undefined {
  if (!detected) return undefined;
  const dir = join(detected.root, name);
  mkdirSync(dir, { recursive: true });
  const limit = String(Math.floor(limitBytes));
  if (detected.kind === 'v2') {
    writeFileSync(join(dir, 'memory.max'), limit);
    try {
      writeFileSync(join(dir, 'memory.swap.max'), '0');
    } catch {
      // no swap accounting: nothing to turn off
    }
  } else {
    writeFileSync(join(dir, 'memory.limit_in_bytes'), limit);
  }
  const counter = () => {
    try {
      const text = readFileSync(join(dir, detected.kind === 'v2' ? 'memory.events' : 'memory.oom_control'), 'utf8');
      return Number(/^oom_kill (\d+)$/m.exec(text)?.[1] ?? 0);
    } catch {
      return 0;
    }
  };
  const start = counter();
  return {
    procsFile: join(dir, 'cgroup.procs'),
    oomKilled: () => counter() > start,
    remove: () => removeCgroup(dir),
  };
}

function removeCgroup(dir: string): void {
  try {
    rmdirSync(dir); // only empty cgroups (no processes left) can go
  } catch {
    // still populated or already gone
  }
}

/** Removes every cgroup of a cluster (teardown). */
export function removeCgroups(prefix: string): void {
  if (!detected) return;
  for (const d of readdirSync(detected.root)) if (d.startsWith(prefix)) removeCgroup(join(detected.root, d));
}
