// Observed paths -> OpenAPI path templates: a segment that is an id becomes a parameter, so
// /items/123 and /items/456 are one operation, /items/{id}. Ids: integers, UUIDs, long hex
// strings (hashes, object ids), and tokens that mix letters and digits (product codes,
// ULIDs, slugs with a serial). Words stay literal (/api/login is not /api/{id}).

export type ParameterKind = 'integer' | 'uuid' | 'string';

export interface PathTemplate {
  template: string;
  parameters: Array<{ name: string; kind: ParameterKind }>;
}

const INTEGER = /^-?\d+$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const HEX = /^[0-9a-f]{16,}$/i;
/**
 * At least 8 characters of letters, digits, - and _, with at least two digits and one letter
 * (product codes like 66VCHSJNUP, ULIDs, slugs with a serial), but not a version (v1beta12).
 */
const TOKEN = /^(?!v\d)(?=(?:.*\d){2})(?=.*[a-z])[a-z0-9_-]{8,}$/i;

export function idKind(segment: string): ParameterKind | null {
  if (INTEGER.test(segment)) return 'integer';
  if (UUID.test(segment)) return 'uuid';
  if (HEX.test(segment) || TOKEN.test(segment)) return 'string';
  return null;
}

export function pathTemplate(path: string): PathTemplate {
  const parameters: PathTemplate['parameters'] = [];
  const segments = path.split('/').map((raw) => {
    let segment: string;
    try {
      segment = decodeURIComponent(raw);
    } catch {
      segment = raw;
    }
    const kind = segment === '' ? null : idKind(segment);
    if (kind === null) return raw.replace(/[{}]/g, encodeURIComponent);
    const name = parameters.length === 0 ? 'id' : `id${parameters.length + 1}`;
    parameters.push({ name, kind });
    return `{${name}}`;
  });
  return { template: segments.join('/') || '/', parameters };
}
