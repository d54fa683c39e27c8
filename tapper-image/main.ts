// The tapper: the daemon the DaemonSet runs on every node (docs/tapper-api.md). It captures
// the traffic of the pods it is told to tap (or plays a capture file), runs the same engine
// as `kubectl tap read`, keeps one copy of each call, and serves the entries over HTTPS to
// the CLI through the API server's pods proxy. Bundled to dist/tapper.js.
import https from 'node:https';
import type { Socket } from 'node:net';
import { hideBin } from 'yargs/helpers';
import { engineOptions } from '../src/engine.js';
import { loadProtos } from '../src/protocols/grpc/protos.js';
import { DEFAULT_REDACTED_HEADERS } from '../src/redact.js';
import { UsageError } from '../src/errors.js';
import { NodePipeline } from '../src/node/pipeline.js';
import { TargetRegistry } from '../src/node/targets.js';
import { TokenCheck, TokenError } from './auth.js';
import { FileSource } from './file-source.js';
import { Hub } from './hub.js';
import { LiveSource } from './live-source.js';
import { MeshSource } from './mesh-source.js';
import { PacketHub } from './packet-hub.js';
import { parseOptions, type TapperOptions } from './options.js';
import { handleRequest } from './routes.js';
import { statsReport } from './stats-report.js';
import { makeSelfSignedCertificate, TlsSetupError } from './tls.js';
import { splitMemoryBudget, type MemorySplit } from './memory-split.js';

/** SIGTERM to exit: within the contract's 5 s, whatever the consumers do. */
const SHUTDOWN_DEADLINE_MS = 4000;

const log = (line: string) => process.stderr.write(`tapper: ${line}\n`);

function fail(err: unknown): never {
  const message = err instanceof Error ? err.message : String(err);
  log(message.split('\n')[0]!);
  process.exit(err instanceof UsageError || err instanceof TokenError ? 2 : 1);
}

async function main(): Promise<void> {
  // The same image runs the session's reaper Job (src/kube/reaper.ts, docs/self-removal.md).
  if (process.argv[2] === 'reap') {
    const { reapMain } = await import('../src/kube/reaper.js');
    process.exit(await reapMain(process.argv.slice(3)));
  }
  let options: TapperOptions;
  let token: TokenCheck;
  let cert;
  let memory: MemorySplit;
  try {
    options = await parseOptions(hideBin(process.argv));
    if (options.protoPaths.length > 0) loadProtos(options.protoPaths); // a bad one fails here, at start
    memory = splitMemoryBudget(options.memoryBudget, options.consumerQueueBytes, options.file === null);
    token = new TokenCheck(options.tokenFile);
    cert = makeSelfSignedCertificate(`kubectl-tap-tapper.${options.nodeName}`);
  } catch (err) {
    if (err instanceof UsageError || err instanceof TokenError || err instanceof TlsSetupError) fail(err);
    throw err;
  }

  const targets = new TargetRegistry(options.nodeName);
  let hub: Hub | null = null;
  let packets: PacketHub | null = null;
  const pipeline = new NodePipeline(
    engineOptions({
      maxBody: options.maxBody, maxMessages: options.maxMessages, redact: options.redact, memoryBudget: memory.engine,
      redactHeaders: new Set([...DEFAULT_REDACTED_HEADERS, ...options.redactHeaders]), protoPaths: options.protoPaths,
    }),
    (entry, dialed) => {
      hub!.publish(entry, dialed);
      packets!.reported(entry);
    },
  );
  hub = new Hub(options.nodeName, targets, pipeline.engine.stats, options.file !== null);
  packets = new PacketHub(options.nodeName, targets, pipeline.engine.memory, options.file !== null);
  // A pod's loopback frames (mesh capture) stay out of /packets: their link type is not the
  // node interface's, and their addresses were given the pod's IP (docs/mesh.md).
  pipeline.engine.packetObserver = (packet, frame) => {
    if (pipeline.mesh.current === null) packets!.observe(packet, frame);
  };
  const caughtUp = async () => {
    await hub!.caughtUp();
    await packets!.caughtUp();
  };

  let live: LiveSource | null = null;
  let file: FileSource | null = null;
  let mesh: MeshSource | null = null;
  try {
    if (options.file !== null) file = new FileSource(options.file, options.pace, pipeline, caughtUp, log);
    else {
      live = new LiveSource(options.device, memory.kernelRing, options.captureWaitMs, pipeline, targets, options.port, log);
      mesh = new MeshSource(options.hostProc, options.captureWaitMs, pipeline, targets, log);
    }
  } catch (err) {
    if (err instanceof UsageError) fail(err);
    fail(new Error(`cannot capture on ${options.device}: ${(err as Error).message}`));
  }

  let shuttingDown = false;
  const server = https.createServer({ key: cert.key, cert: cert.cert }, (req, res) =>
    handleRequest(
      {
        token,
        targets,
        hub: hub!,
        packets: packets!,
        consumerLimits: { queueBytes: memory.consumerQueue, heartbeatMs: options.heartbeatMs, maxPerSecond: options.maxRate },
        maxConsumers: memory.maxConsumers,
        ready: () => true,
        stats: () =>
          statsReport({
            nodeName: options.nodeName,
            source: file ? 'file' : 'live',
            capture: () => (file ? file.stats() : live!.handles.stats()),
            mesh: () => mesh?.stats() ?? null,
            pipeline,
            hub: hub!,
            packets: packets!,
            targets,
            memory,
          }),
        onConsumer: () => file?.start(),
        shuttingDown: () => shuttingDown,
      },
      req,
      res,
    ),
  );
  // A stream never ends by itself: no request or idle timeout may cut it.
  server.requestTimeout = 0;
  server.timeout = 0;
  server.keepAliveTimeout = 65_000;
  const sockets = new Set<Socket>();
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  server.on('tlsClientError', () => {}); // scanners on the node network: not worth a line each
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => resolve());
  }).catch((err: Error) => fail(new Error(`cannot listen on ${options.host}:${options.port}: ${err.message}`)));
  const address = server.address();
  log(`serving on ${typeof address === 'object' && address ? `${address.address}:${address.port}` : options.host} for node ${options.nodeName}, ${file ? `file ${options.file} (${options.pace})` : `capturing on ${options.device}`}`);

  const shutdown = async (signal: string) => {
    if (shuttingDown) return;
    shuttingDown = true;
    const deadline = setTimeout(() => {
      log(`${signal}: consumers did not drain within ${SHUTDOWN_DEADLINE_MS} ms, exiting`);
      process.exit(0);
    }, SHUTDOWN_DEADLINE_MS);
    deadline.unref();
    // Stop capturing, flush the engine (pending calls come out), end every stream.
    live?.stop();
    mesh?.stop();
    await file?.stop();
    pipeline.finish();
    await Promise.all([...hub!.open, ...packets!.open.map((s) => s.consumer)].map((c) => c.end()));
    server.close();
    for (const s of sockets) s.end();
    log(`${signal}: stopped after ${hub!.entries} entries`);
    process.exit(0);
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));
}

main().catch((err) => fail(err));
