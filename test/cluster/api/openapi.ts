// A minimal OpenAPI v3 document per group-version: only the paths and PATCH operations
// with the `fieldValidation` parameter, which is what kubectl reads to learn that the
// server validates fields itself (so `kubectl apply` needs no client-side schema).
// Schemas are not served; kubectl then builds strategic merge patches from its built-in types.
import { createHash } from 'node:crypto';
import { RESOURCES, groupVersion, type ResourceType } from './resources.js';

function gvPath(gv: string): string {
  return gv.includes('/') ? `apis/${gv}` : `api/${gv}`;
}

const param = (name: string) => ({ name, in: 'query', description: name, schema: { type: 'string', uniqueItems: true } });

function resourcePaths(r: ResourceType): Record<string, unknown> {
  const base = `/${gvPath(groupVersion(r))}${r.namespaced ? '/namespaces/{namespace}' : ''}/${r.plural}`;
  const gvk = { group: r.group, version: r.version, kind: r.kind };
  const op = (action: string, params: string[]) => ({
    operationId: `${action}${r.kind}`, parameters: params.map(param), responses: { '200': { description: 'OK' } },
    'x-kubernetes-action': action, 'x-kubernetes-group-version-kind': gvk,
  });
  if (r.createOnly) return { [base]: { post: op('post', ['dryRun', 'fieldManager', 'fieldValidation']) } };
  return {
    [base]: { get: op('list', ['labelSelector', 'fieldSelector', 'watch']), post: op('post', ['dryRun', 'fieldManager', 'fieldValidation']) },
    [`${base}/{name}`]: {
      get: op('get', []), put: op('put', ['dryRun', 'fieldManager', 'fieldValidation']),
      patch: op('patch', ['dryRun', 'fieldManager', 'fieldValidation', 'force']), delete: op('delete', ['dryRun', 'gracePeriodSeconds', 'propagationPolicy']),
    },
  };
}

export function openapiDocument(gv: string): unknown | undefined {
  const list = RESOURCES.filter((r) => groupVersion(r) === gv);
  if (list.length === 0) return undefined;
  return {
    openapi: '3.0.0', info: { title: 'Kubernetes', version: 'v1.30.0' },
    paths: Object.assign({}, ...list.map(resourcePaths)),
    components: { schemas: {} },
  };
}

export function openapiRoot(): unknown {
  const gvs = [...new Set(RESOURCES.map(groupVersion))];
  return {
    paths: Object.fromEntries(gvs.map((gv) => {
      const hash = createHash('sha256').update(JSON.stringify(openapiDocument(gv))).digest('hex').slice(0, 32).toUpperCase();
      return [gvPath(gv), { serverRelativeURL: `/openapi/v3/${gvPath(gv)}?hash=${hash}` }];
    })),
  };
}
