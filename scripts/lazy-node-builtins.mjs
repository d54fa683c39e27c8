// An esbuild plugin for the ES-module CLI bundle (scripts/build.mjs): an import of a Node
// built-in (node:https, zlib, ...) becomes a require() that runs when the importing module's
// code first runs, as it is in a CommonJS bundle. Why: an ES-module bundle hoists every
// built-in import to its top, so `read` paid at start-up for node:https, node:tls, node:http
// and node:net, which only the cluster client uses (--cpu-prof of `read` of an empty capture:
// node:https alone 31 ms of 344 ms, the profiler's overhead included). The single executable
// (scripts/sea.mjs) is CommonJS already and does not need it.
import { builtinModules } from 'node:module';

const builtins = new Set(builtinModules);

export const lazyNodeBuiltins = {
  name: 'lazy-node-builtins',
  setup(build) {
    build.onResolve({ filter: /^[a-z_/0-9:]+$/ }, (args) => {
      // An `await import('node:crypto')` is lazy already, and wants the module's named exports,
      // which a CommonJS stand-in would only give as `default`: left to Node.
      if (args.kind === 'dynamic-import' || args.namespace === 'lazy-node-builtin') return undefined;
      const name = args.path.startsWith('node:') ? args.path.slice(5) : args.path;
      if (!builtins.has(name)) return undefined;
      return { path: name, namespace: 'lazy-node-builtin' };
    });
    // A CommonJS module of one line: esbuild wraps it to run on first use, and named imports
    // (`import { gunzipSync } from 'node:zlib'`) read its properties.
    build.onLoad({ filter: /.*/, namespace: 'lazy-node-builtin' }, (args) => ({
      contents: `module.exports = require(${JSON.stringify(`node:${args.path}`)});`,
      loader: 'js',
    }));
  },
};
