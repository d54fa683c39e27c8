// `npm run cluster -- up [--nodes N] [--no-shop] [--dir DIR]`, `down [--dir DIR]`,
// `add-node [--dir DIR]` and `remove-node NAME [--dir DIR]`.
import { up, down, addNode, removeNode } from './cluster.js';

function flag(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

async function main(): Promise<number> {
  const cmd = process.argv[2];
  const dir = flag('dir');
  if (process.getuid?.() !== 0) {
    console.error('the simulated cluster needs root (network namespaces, veths, iptables)');
    return 1;
  }
  if (cmd === 'up') {
    const nodes = Number(flag('nodes') ?? 2);
    const r = await up({ dir, nodes, shop: !process.argv.includes('--no-shop') });
    console.error(`cluster up in ${r.seconds.toFixed(1)} s (${nodes} nodes), API server https://127.0.0.1:${r.port}`);
    console.error(`kubeconfig written to ${r.kubeconfig}`);
    console.error(`  export KUBECONFIG=${r.kubeconfig}   # contexts: tap (admin), tap-dev (namespace dev), tap-viewer (read-only)`);
    return 0;
  }
  if (cmd === 'down') {
    const r = await down({ dir });
    console.error(`cluster down (${r.removedNetns.length} network namespaces removed)`);
    return 0;
  }
  if (cmd === 'add-node') {
    const node = await addNode({ dir });
    console.log(node.name);
    console.error(`node ${node.name} (${node.ip}) joined`);
    return 0;
  }
  if (cmd === 'remove-node') {
    const name = process.argv[3];
    if (!name || name.startsWith('--')) {
      console.error('usage: npm run cluster -- remove-node NAME [--dir DIR]');
      return 2;
    }
    await removeNode(name, { dir });
    console.error(`node ${name} removed`);
    return 0;
  }
  console.error('usage: npm run cluster -- up [--nodes N] [--no-shop] [--dir DIR] | down [--dir DIR] | add-node [--dir DIR] | remove-node NAME [--dir DIR]');
  return 2;
}

main().then((code) => process.exit(code), (err) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
