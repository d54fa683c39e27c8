// Loads the .proto files given with --proto (files or folders, searched recursively) once per
// process with protobufjs, resolving imports against the importing file's folder, the given
// folders, and protobufjs's bundled google/protobuf types, and maps each method's call path
// (/pkg.Service/Method) to its request and response types.
//
// A path ending in .json is a protobufjs JSON descriptor (`pbjs -t json`, or bundleProtos()):
// that is how a live session hands its --proto to the tappers, imports already resolved.

import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import protobuf from 'protobufjs';
import { UsageError } from '../../errors.js';

export interface MethodTypes {
  request: protobuf.Type;
  response: protobuf.Type;
}

export type ProtoIndex = ReadonlyMap<string, MethodTypes>;

/** Loaded indexes, or the error loading failed with, so a bad --proto is read only once. */
const cache = new Map<string, ProtoIndex | UsageError>();

/** The methods of the given .proto files and folders; cached by the list of paths. Throws UsageError. */
export function loadProtos(paths: readonly string[]): ProtoIndex {
  const key = paths.join('\0');
  let entry = cache.get(key);
  if (entry === undefined) {
    try {
      entry = buildIndex(paths);
    } catch (err) {
      entry = err instanceof UsageError ? err : new UsageError(`--proto: ${(err as Error).message}`);
    }
    cache.set(key, entry);
  }
  if (entry instanceof UsageError) throw entry;
  return entry;
}

/** Every type of the given .proto files and folders as one JSON descriptor, for the tappers. Throws UsageError. */
export function bundleProtos(paths: readonly string[]): string {
  return JSON.stringify(loadRoot(paths).toJSON());
}

function buildIndex(paths: readonly string[]): ProtoIndex {
  const index = new Map<string, MethodTypes>();
  collectMethods(loadRoot(paths), index);
  return index;
}

function loadRoot(paths: readonly string[]): protobuf.Root {
  const descriptors = paths.filter((p) => p.endsWith('.json'));
  const root = loadSources(paths.filter((p) => !p.endsWith('.json')));
  for (const path of descriptors) {
    if (!existsSync(path)) throw new UsageError(`--proto ${path}: no such file or folder`);
    try {
      root.addJSON((JSON.parse(readFileSync(path, 'utf8')) as protobuf.INamespace).nested ?? {});
    } catch (err) {
      throw new UsageError(`--proto ${path}: ${(err as Error).message}`);
    }
  }
  try {
    root.resolveAll();
  } catch (err) {
    throw new UsageError(`--proto: ${(err as Error).message}`);
  }
  return root;
}

function loadSources(paths: readonly string[]): protobuf.Root {
  const files: string[] = [];
  const folders: string[] = [];
  for (const path of paths) {
    const full = resolve(path);
    if (!existsSync(full)) throw new UsageError(`--proto ${path}: no such file or folder`);
    if (statSync(full).isDirectory()) {
      folders.push(full);
      files.push(...protoFilesUnder(full));
    } else {
      folders.push(dirname(full));
      files.push(full);
    }
  }
  const root = new protobuf.Root();
  root.resolvePath = (origin: string, target: string): string | null => {
    if (isAbsolute(target)) return target;
    const candidates = [origin ? join(dirname(origin), target) : target, ...folders.map((f) => join(f, target))];
    for (const candidate of candidates) if (existsSync(candidate)) return candidate;
    // protobufjs knows google/protobuf/*.proto itself (its "common" definitions).
    return target;
  };
  try {
    if (files.length > 0) root.loadSync(files, { keepCase: true });
  } catch (err) {
    throw new UsageError(`--proto: ${(err as Error).message}`);
  }
  return root;
}

function protoFilesUnder(folder: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(folder).sort()) {
    const path = join(folder, name);
    if (statSync(path).isDirectory()) out.push(...protoFilesUnder(path));
    else if (name.endsWith('.proto')) out.push(path);
  }
  return out;
}

function collectMethods(ns: protobuf.NamespaceBase, index: Map<string, MethodTypes>): void {
  for (const nested of ns.nestedArray) {
    if (nested instanceof protobuf.Service) {
      const serviceName = nested.fullName.replace(/^\./, '');
      for (const method of nested.methodsArray) {
        if (method.resolvedRequestType && method.resolvedResponseType) {
          index.set(`/${serviceName}/${method.name}`, {
            request: method.resolvedRequestType,
            response: method.resolvedResponseType,
          });
        }
      }
    }
    if (nested instanceof protobuf.Namespace) collectMethods(nested, index);
  }
}
