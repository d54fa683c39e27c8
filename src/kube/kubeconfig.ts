// The kubectl connection flags, read as kubectl reads them: --kubeconfig, else every file of
// KUBECONFIG merged (the first file that sets a name or the current context wins, as in
// kubectl; client-node's own merge throws on duplicates and lets the last file win), else
// ~/.kube/config. --context, --cluster and --user override the current context's parts, and
// the context's namespace is the default namespace.
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, join } from 'node:path';
import { KubeConfig, type Context } from '@kubernetes/client-node';
import { UsageError } from '../errors.js';

export interface ConnectionFlags {
  kubeconfig?: string;
  context?: string;
  cluster?: string;
  user?: string;
  /** kubectl's --request-timeout: "0" (none), "30", "30s", "1m", "2h". */
  requestTimeout?: string;
}

export interface Connection {
  kc: KubeConfig;
  /** The namespace of the context in use, "default" when it names none. */
  namespace: string;
  contextName: string;
  server: string;
  /** 0 means no timeout. */
  requestTimeoutMs: number;
}

export function loadConnection(flags: ConnectionFlags, env: NodeJS.ProcessEnv = process.env): Connection {
  const files = configFiles(flags.kubeconfig, env);
  const kc = new KubeConfig();
  for (const file of files) {
    const one = new KubeConfig();
    try {
      one.loadFromFile(file);
    } catch (err) {
      throw new UsageError(`cannot read kubeconfig ${file}: ${(err as Error).message.split('\n')[0]}`);
    }
    mergeFirstWins(kc, one);
  }
  if (files.length === 0) throw new UsageError('no kubeconfig: set KUBECONFIG, pass --kubeconfig or create ~/.kube/config');

  const contextName = flags.context ?? kc.currentContext;
  if (!contextName) throw new UsageError('the kubeconfig has no current context; pass --context');
  const base = kc.getContextObject(contextName);
  if (!base) throw new UsageError(`context "${contextName}" not found in the kubeconfig`);
  const context: Context = { ...base, cluster: flags.cluster ?? base.cluster, user: flags.user ?? base.user };
  if (!kc.getCluster(context.cluster)) throw new UsageError(`cluster "${context.cluster}" not found in the kubeconfig`);
  if (!kc.getUser(context.user)) throw new UsageError(`user "${context.user}" not found in the kubeconfig`);
  if (context !== base) {
    // KubeConfig resolves everything through the current context: install the overridden one.
    const name = `${contextName}@kubectl-tap`;
    kc.contexts = [...kc.contexts.filter((c) => c.name !== name), { ...context, name }];
    kc.setCurrentContext(name);
  } else {
    kc.setCurrentContext(contextName);
  }
  return {
    kc,
    namespace: context.namespace || 'default',
    contextName,
    server: kc.getCurrentCluster()!.server,
    requestTimeoutMs: parseRequestTimeout(flags.requestTimeout ?? '0'),
  };
}

function configFiles(explicit: string | undefined, env: NodeJS.ProcessEnv): string[] {
  if (explicit) {
    if (!existsSync(explicit)) throw new UsageError(`--kubeconfig ${explicit}: no such file`);
    return [explicit];
  }
  if (env.KUBECONFIG) return env.KUBECONFIG.split(delimiter).filter((f) => f !== '' && existsSync(f));
  const home = join(env.HOME ?? homedir(), '.kube', 'config');
  return existsSync(home) ? [home] : [];
}

function mergeFirstWins(into: KubeConfig, from: KubeConfig): void {
  if (!into.currentContext && from.currentContext) into.currentContext = from.currentContext;
  for (const c of from.clusters) if (!into.getCluster(c.name)) into.clusters = [...into.clusters, c];
  for (const u of from.users) if (!into.getUser(u.name)) into.users = [...into.users, u];
  for (const c of from.contexts) if (!into.getContextObject(c.name)) into.contexts = [...into.contexts, c];
}

/** kubectl's duration syntax for --request-timeout: a bare number is seconds. */
export function parseRequestTimeout(text: string): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(text.trim());
  if (!match) throw new UsageError(`--request-timeout must be a duration like 0, 30s, 1m or 2h, not "${text}"`);
  const factor = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[match[2] ?? 's']!;
  return Math.round(Number(match[1]) * factor);
}
