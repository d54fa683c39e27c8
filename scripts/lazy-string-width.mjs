// An esbuild plugin for both CLI builds (scripts/build.mjs, scripts/sea.mjs): each import of
// `string-width` (yargs, cliui and wrap-ansi each bring a copy) gets a stand-in that loads the
// real module on its first call. Why: string-width sets up an Intl.Segmenter and four
// Unicode-property regular expressions when it is imported, 30 ms of the 220 ms that `read` of
// an empty capture takes on one core (measured one by one), only to measure the columns of
// help text, which `read` and a session never render (cmd/main.ts skips yargs' help cache).
// The stand-in keeps string-width's one export, the default function, and its arguments.
import { relative } from 'node:path';

export const lazyStringWidth = {
  name: 'lazy-string-width',
  setup(build) {
    build.onResolve({ filter: /^string-width$/ }, async (args) => {
      if (args.pluginData === 'real') return undefined;
      const real = await build.resolve(args.path, { kind: args.kind, importer: args.importer, resolveDir: args.resolveDir, pluginData: 'real' });
      if (real.errors.length > 0) return { errors: real.errors };
      // A relative name, so the bundle holds no path of the machine that built it.
      return { path: relative(process.cwd(), real.path), namespace: 'lazy-string-width', pluginData: real.path };
    });
    build.onLoad({ filter: /.*/, namespace: 'lazy-string-width' }, (args) => ({
      // require() of a bundled ES module: esbuild runs its top level on that call, not at start.
      contents:
        'let real;\n' +
        `export default function stringWidth(text, options) {\n  real ??= require(${JSON.stringify(args.pluginData)}).default;\n  return real(text, options);\n}\n`,
      loader: 'js',
      resolveDir: '/',
    }));
  },
};
