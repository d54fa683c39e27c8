// `npm run cluster -- up [--nodes N] [--no-shop] [--dir DIR]` and `npm run cluster -- down [--dir DIR]`.
import { up, down } from './cluster.js';

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
  console.error('usage: npm run cluster -- up [--nodes N] [--no-shop] [--dir DIR] | down [--dir DIR]');
  return 2;
}

main().then((code) => process.exit(code), (err) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
