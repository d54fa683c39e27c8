// krew's rules for a plugin manifest (after its internal/index/validation: apiVersion, kind,
// a safe name, a one-line short description, a semver version, and per platform a uri, a
// lower-case sha256, a bin, well-formed files and a selector on os/arch only), the index's
// own review rules (short description <= 50 characters, no command listings in the
// description, caveats, homepage), and what its installer does with an archive.
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync, statSync, symlinkSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { basename, join, relative, resolve } from 'node:path';

export interface Selector {
  matchLabels?: Record<string, string>;
  matchExpressions?: Array<{ key: string; operator: string; values?: string[] }>;
}
export interface Platform {
  selector?: Selector;
  uri?: string;
  sha256?: string;
  bin?: string;
  files?: Array<{ from?: string; to?: string }>;
}
export interface PluginManifest {
  apiVersion?: string;
  kind?: string;
  metadata?: { name?: string };
  spec?: { version?: string; homepage?: string; shortDescription?: string; description?: string; caveats?: string; platforms?: Platform[] };
}

/** The os/arch pairs krew runs on (its GOOS/GOARCH), to find overlapping selectors. */
export const KREW_TARGETS = ['linux', 'darwin', 'windows'].flatMap((os) => ['amd64', 'arm64', '386', 'arm'].map((arch) => ({ os, arch })));

const SEMVER_WITH_V = /^v(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$/;

/** Every rule the manifest breaks, one line each; empty when it passes. */
export function krewProblems(m: PluginManifest, name: string): string[] {
  const problems: string[] = [];
  const spec = m.spec ?? {};
  if (m.apiVersion !== 'krew.googlecontainertools.github.com/v1alpha2') problems.push(`apiVersion ${m.apiVersion}`);
  if (m.kind !== 'Plugin') problems.push(`kind ${m.kind}`);
  if (!/^[\w-]+$/.test(name)) problems.push(`unsafe plugin name ${name}`);
  if (m.metadata?.name !== name) problems.push(`metadata.name ${m.metadata?.name} is not ${name}`);
  if (!spec.version || !SEMVER_WITH_V.test(spec.version)) problems.push(`spec.version ${spec.version} is not semver with a v`);
  const short = spec.shortDescription ?? '';
  if (short === '') problems.push('no shortDescription');
  if (/[\r\n]/.test(short)) problems.push('shortDescription has a line break');
  if (short.length > 50) problems.push(`shortDescription is ${short.length} characters (at most 50)`);
  if (!spec.description?.trim()) problems.push('no description');
  else if (/^\s*(\$ |kubectl |--?\w)/m.test(spec.description)) problems.push('description lists commands or flags');
  if (!spec.caveats?.trim()) problems.push('no caveats');
  if (!spec.homepage || !/^https:\/\/\S+$/.test(spec.homepage)) problems.push(`homepage ${spec.homepage}`);
  const platforms = spec.platforms ?? [];
  if (platforms.length === 0) problems.push('no platforms');
  platforms.forEach((p, i) => problems.push(...platformProblems(p).map((s) => `platform ${i}: ${s}`)));
  for (const target of KREW_TARGETS) {
    const matching = platforms.filter((p) => p.selector && selectorMatches(p.selector, target));
    if (matching.length > 1) problems.push(`${target.os}/${target.arch} matches ${matching.length} platforms`);
  }
  return problems;
}

function platformProblems(p: Platform): string[] {
  const problems: string[] = [];
  if (!p.uri) problems.push('no uri');
  if (!p.sha256) problems.push('no sha256');
  else if (!/^[a-f0-9]{64}$/.test(p.sha256)) problems.push(`sha256 ${p.sha256} is not 64 lower-case hex digits`);
  if (!p.bin) problems.push('no bin');
  if (p.files !== undefined) {
    if (p.files.length === 0) problems.push('files is empty');
    for (const op of p.files) if (!op.from || !op.to) problems.push('a files entry without from or to');
  }
  const sel = p.selector;
  if (!sel) problems.push('no selector');
  else {
    if (sel.matchLabels === undefined && !sel.matchExpressions?.length) problems.push('empty selector');
    if (sel.matchLabels !== undefined && Object.keys(sel.matchLabels).length === 0) problems.push('matchLabels empty');
    if (sel.matchExpressions !== undefined && sel.matchExpressions.length === 0) problems.push('matchExpressions empty');
    const keys = [...Object.keys(sel.matchLabels ?? {}), ...(sel.matchExpressions ?? []).map((e) => e.key)];
    for (const k of keys) if (k !== 'os' && k !== 'arch') problems.push(`selector key ${k}`);
  }
  return problems;
}

/** A label selector's meaning (Kubernetes' matchLabels and matchExpressions) on os/arch labels. */
export function selectorMatches(sel: Selector, labels: Record<string, string>): boolean {
  for (const [k, v] of Object.entries(sel.matchLabels ?? {})) if (labels[k] !== v) return false;
  for (const e of sel.matchExpressions ?? []) {
    const has = e.key in labels;
    const value = labels[e.key];
    const ok =
      e.operator === 'In' ? has && (e.values ?? []).includes(value) :
      e.operator === 'NotIn' ? !has || !(e.values ?? []).includes(value) :
      e.operator === 'Exists' ? has :
      e.operator === 'DoesNotExist' ? !has : false;
    if (!ok) return false;
  }
  return true;
}

/**
 * Installs `archive` for `platform` as krew's installer does: unpack into a scratch directory,
 * move what each `files` entry's `from` glob matches to its `to` under the install directory
 * (nothing else is kept), check `bin` is inside it, and link it as kubectl-NAME in binDir.
 */
export function krewInstall(archive: string, platform: Platform, name: string, root: string): { installDir: string; binDir: string } {
  const scratch = mkdtempSync(join(tmpdir(), 'krew-download-'));
  const installDir = join(root, 'store', name);
  const binDir = join(root, 'bin');
  mkdirSync(installDir, { recursive: true });
  mkdirSync(binDir, { recursive: true });
  try {
    const r = spawnSync('tar', ['-xzf', archive, '-C', scratch], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`unpacking ${archive}: ${r.stderr}`);
    for (const op of platform.files ?? [{ from: '*', to: '.' }]) {
      const matches = glob(scratch, op.from!);
      if (matches.length === 0) throw new Error(`files: ${op.from} matches nothing in ${basename(archive)}`);
      const to = resolve(installDir, op.to!);
      if (relative(installDir, to).startsWith('..')) throw new Error(`files: ${op.to} leaves the install directory`);
      mkdirSync(to, { recursive: true });
      for (const m of matches) renameSync(m, join(to, basename(m)));
    }
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
  const bin = resolve(installDir, platform.bin!);
  if (relative(installDir, bin).startsWith('..') || !existsSync(bin)) throw new Error(`bin ${platform.bin} is not in the install directory`);
  if ((statSync(bin).mode & 0o111) === 0) chmodSync(bin, 0o755); // krew makes bin executable too
  symlinkSync(bin, join(binDir, `kubectl-${name}`));
  return { installDir, binDir };
}

/** krew's `from` is a glob relative to the unpacked archive: names and `*` are enough here. */
function glob(dir: string, pattern: string): string[] {
  const parts = pattern.split('/');
  let found = [dir];
  for (const part of parts) {
    const re = new RegExp(`^${part.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]*').replace(/\?/g, '[^/]')}$`);
    found = found.flatMap((d) => (statSync(d).isDirectory() ? readdirSync(d).filter((n) => re.test(n)).map((n) => join(d, n)) : []));
  }
  return found;
}
