// Shared by the HTTP/2 and gRPC capture tests: what tshark sees in a capture (streams with a
// request, gRPC calls, :status and grpc-status counts), for agreement checks.
import { spawnSync } from 'node:child_process';

export const hasTshark = spawnSync('tshark', ['-v'], { stdio: 'ignore' }).status === 0;

export interface TsharkView {
  /** Streams whose request headers tshark decoded (HEADERS with :method, or PUSH_PROMISE). */
  requestStreams: number;
  grpcCalls: number;
  statuses: Record<string, number>;
  grpcStatuses: Record<string, number>;
}

type Json = Record<string, unknown>;
const asList = (v: unknown): Json[] => (v === undefined ? [] : Array.isArray(v) ? (v as Json[]) : [v as Json]);

export function tsharkView(capture: string, port: number): TsharkView {
  const run = spawnSync(
    'tshark',
    ['-r', capture, '-d', `tcp.port==${port},http2`, '-Y', 'http2.type == 1 || http2.type == 5', '-T', 'json', '--no-duplicate-keys'],
    { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 },
  );
  if (run.status !== 0) throw new Error(`tshark failed: ${run.stderr}`);
  const requests = new Set<string>();
  const grpc = new Set<string>();
  const statuses: Record<string, number> = {};
  const grpcStatuses: Record<string, number> = {};
  for (const packet of JSON.parse(run.stdout) as Json[]) {
    const layers = (packet._source as Json).layers as Json;
    const tcpStream = String((layers.tcp as Json)['tcp.stream']);
    for (const layer of asList(layers.http2)) {
      for (const frame of asList(layer['http2.stream'])) {
        const type = frame['http2.type'];
        if (type !== '1' && type !== '5') continue;
        const streamId = String(type === '5' ? frame['http2.push_promise.promised_stream_id'] : frame['http2.streamid']);
        const key = `${tcpStream}/${streamId}`;
        if (type === '5') requests.add(key);
        for (const header of asList(frame['http2.header'])) {
          const name = String(header['http2.header.name']);
          const value = String(header['http2.header.value']);
          if (name === ':method') requests.add(key);
          if (name === 'content-type' && value.startsWith('application/grpc') && requests.has(key)) grpc.add(key);
          if (name === ':status') statuses[value] = (statuses[value] ?? 0) + 1;
          if (name === 'grpc-status') grpcStatuses[value] = (grpcStatuses[value] ?? 0) + 1;
        }
      }
    }
  }
  return { requestStreams: requests.size, grpcCalls: grpc.size, statuses, grpcStatuses };
}

export function countBy<T>(items: readonly T[], key: (item: T) => string | null): Record<string, number> {
  const out: Record<string, number> = {};
  for (const item of items) {
    const k = key(item);
    if (k !== null) out[k] = (out[k] ?? 0) + 1;
  }
  return out;
}
