// The tapper's version: the package's, fixed when the image is built (dist/tapper.js inlines it).
// /stats reports it, and the CLI refuses a tapper whose version is not its own (docs/tapper-api.md).
import pkg from '../package.json' with { type: 'json' };

export const TAPPER_VERSION: string = pkg.version;
