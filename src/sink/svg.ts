// DOT -> SVG with Graphviz compiled to WebAssembly (@viz-js/viz), so `--service-map map.svg`
// works on any machine kubectl runs on, with no Graphviz to install. Measured against the
// system `dot` (2.43) and @hpcc-js/wasm-graphviz on a 30-node, 60-edge map: viz.js loads in
// ~40 ms and renders in ~150 ms; hpcc loads in 150-200 ms; `dot` takes 20-80 ms but is not
// on most machines. Loaded only when an SVG is asked for.

type Viz = { renderString(dot: string, options: { format: 'svg' }): string };

let viz: Promise<Viz> | null = null;

export async function dotToSvg(dot: string): Promise<string> {
  viz ??= import('@viz-js/viz').then((m) => m.instance() as Promise<Viz>);
  return (await viz).renderString(dot, { format: 'svg' });
}
