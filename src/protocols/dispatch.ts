// Which dissector owns a TCP connection. Until one claims it, the first bytes of both
// directions are kept (bounded) and offered to every dissector in registry order; the
// winner gets them replayed in their original order, then the live stream. When the
// capture joined mid-connection the client/server guess of the reassembler can be wrong,
// so the probe is also tried the other way round and the directions flipped if that wins.
// The bytes kept while undecided are charged to the memory budget ('tcp.probe'); when the
// budget wants them back, the connection is given up on (counted unclaimed and shed).

import type { Call } from '../entry.js';
import { MemoryBudget, type MemoryAccount } from '../memory/budget.js';
import type { Stats } from '../stats.js';
import { tcpDissectorByName, tcpDissectors } from './registry.js';
import type { Dir, EngineOptions, Probe, StreamContext, StreamParser, TcpDissector } from './types.js';

export interface ConnectionEnds {
  client: { ip: string; port: number };
  server: { ip: string; port: number };
  midstream: boolean;
}

/** Bytes kept per direction while no dissector has decided. */
const PROBE_LIMIT = 16 * 1024;
/**
 * Bytes held for replay while undecided. A detector may need the other side's first bytes
 * (Kafka checks that the response echoes the request's correlation id), and the first
 * message may be far larger than the probe (a 200 KB Produce): a full direction alone does
 * not end detection, the other one may still speak. Past this, it does.
 */
const PENDING_LIMIT = 1024 * 1024;

/** Memory a kept piece costs beyond its bytes (the Pending record, the Buffer, array slots). */
const PIECE_OVERHEAD = 200;

type Pending = { kind: 'data'; dir: Dir; data: Buffer; ts: number } | { kind: 'gap'; dir: Dir; missing: number; ts: number };

export function openConnection(
  ends: ConnectionEnds,
  options: EngineOptions,
  stats: Stats,
  emit: (call: Call, client: ConnectionEnds['client'], server: ConnectionEnds['server']) => void,
  memory: MemoryBudget = new MemoryBudget(options.memoryBudget, stats),
): StreamParser {
  return new DetectingParser(ends, options, stats, emit, memory);
}

class DetectingParser implements StreamParser {
  private readonly pending: Pending[] = [];
  private readonly probe: [Buffer[], Buffer[]] = [[], []];
  private readonly probeBytes: [number, number] = [0, 0];
  private pendingBytes = 0;
  private parser: StreamParser | null = null;
  private flipped = false;
  private gaveUp = false;
  private readonly account: MemoryAccount;

  constructor(
    private readonly ends: ConnectionEnds,
    private readonly options: EngineOptions,
    private readonly stats: Stats,
    private readonly emit: (call: Call, client: ConnectionEnds['client'], server: ConnectionEnds['server']) => void,
    private readonly memory: MemoryBudget,
  ) {
    this.account = memory.account('tcp.probe', () => this.shed());
  }

  onData(dir: Dir, data: Buffer, ts: number): void {
    if (this.parser) return this.parser.onData(this.flipped ? flip(dir) : dir, data, ts);
    if (this.gaveUp) return void this.stats.add('engine.unclaimedBytes', data.length);
    if (!this.account.charge(data.length + PIECE_OVERHEAD)) {
      // The budget wants the largest probe back, and that is this one.
      this.stats.add('engine.probesShed');
      this.stats.add('engine.unclaimedBytes', data.length);
      return this.giveUp();
    }
    const copy = Buffer.from(data);
    this.pending.push({ kind: 'data', dir, data: copy, ts });
    this.pendingBytes += copy.length;
    if (this.probeBytes[dir] < PROBE_LIMIT) {
      this.probe[dir].push(copy);
      this.probeBytes[dir] += copy.length;
    }
    this.tryDetect();
  }

  onGap(dir: Dir, missing: number, ts: number): void {
    if (this.parser) return this.parser.onGap(this.flipped ? flip(dir) : dir, missing, ts);
    if (this.gaveUp) return;
    if (!this.account.charge(PIECE_OVERHEAD)) {
      this.stats.add('engine.probesShed');
      return this.giveUp();
    }
    this.pending.push({ kind: 'gap', dir, missing, ts });
  }

  onEnd(ts: number): void {
    this.account.close();
    if (this.parser) return this.parser.onEnd(ts);
    if (!this.gaveUp && this.pending.length > 0) {
      // Last chance: a dissector that wanted more bytes may accept what there is.
      this.tryDetect(true); // claims the connection or gives up on it (and counts that)
      if (this.parser) return (this.parser as StreamParser).onEnd(ts);
    }
  }

  private tryDetect(final = false): void {
    const probe = this.makeProbe(false);
    let choice = pick(probe, final, this.stats);
    if (choice.dissector === null && this.ends.midstream) {
      const swapped = pick(this.makeProbe(true), final, this.stats);
      if (swapped.dissector) {
        choice = swapped;
        this.flipped = true;
      } else if (swapped.undecided) choice.undecided = true;
    }
    if (choice.dissector) return this.start(choice.dissector);
    const full = (this.probeBytes[0] >= PROBE_LIMIT && this.probeBytes[1] >= PROBE_LIMIT) || this.pendingBytes >= PENDING_LIMIT;
    if (!choice.undecided || full || final) this.giveUp();
  }

  private makeProbe(swap: boolean): Probe {
    const c = swap ? 1 : 0;
    return {
      client: concat(this.probe[c]),
      server: concat(this.probe[1 - c]),
      clientPort: swap ? this.ends.server.port : this.ends.client.port,
      serverPort: swap ? this.ends.client.port : this.ends.server.port,
      midstream: this.ends.midstream,
    };
  }

  private start(dissector: TcpDissector): void {
    const ctx = this.context();
    this.stats.add(`engine.connections.${dissector.name}`);
    this.parser = dissector.create(ctx);
    const replay = this.pending.splice(0);
    this.pendingBytes = 0;
    this.probe[0].length = this.probe[1].length = 0;
    this.account.close(); // the dissector owns (and charges) what it keeps from here
    for (const p of replay) {
      const dir = this.flipped ? flip(p.dir) : p.dir;
      if (p.kind === 'data') this.parser.onData(dir, p.data, p.ts);
      else this.parser.onGap(dir, p.missing, p.ts);
    }
  }

  private giveUp(): void {
    this.gaveUp = true;
    this.stats.add('engine.unclaimedConnections');
    for (const p of this.pending) if (p.kind === 'data') this.stats.add('engine.unclaimedBytes', p.data.length);
    this.pending.length = 0;
    this.pendingBytes = 0;
    this.probe[0].length = this.probe[1].length = 0;
    this.account.close();
  }

  /** The budget wants this probe's bytes back: give up on detecting the connection. */
  private shed(): void {
    if (this.parser || this.gaveUp) return;
    this.stats.add('engine.probesShed');
    this.giveUp();
  }

  private context(): StreamContext {
    const client = this.flipped ? this.ends.server : this.ends.client;
    const server = this.flipped ? this.ends.client : this.ends.server;
    const ctx: StreamContext = {
      client,
      server,
      midstream: this.ends.midstream,
      options: this.options,
      stats: this.stats,
      memory: this.memory,
      // Every entry of a connection joined mid-stream says so: what came before the capture
      // (a handshake, a preface, negotiated tables) is unknown to its dissector.
      emit: this.ends.midstream
        ? (call) => {
          call.midstream = true;
          this.emit(call, client, server);
        }
        : (call) => this.emit(call, client, server),
      switchTo: (protocol, init) => {
        const next = tcpDissectorByName(protocol);
        if (!next) return null;
        this.stats.add(`engine.upgrades.${protocol}`);
        this.parser = next.create(ctx, init);
        return this.parser;
      },
    };
    return ctx;
  }
}

function pick(probe: Probe, final: boolean, stats: Stats): { dissector: TcpDissector | null; undecided: boolean } {
  let undecided = false;
  for (const d of tcpDissectors) {
    let verdict;
    try {
      verdict = d.detect(probe);
    } catch {
      // A detector must not throw: that is a bug, counted (the robustness test fails on it),
      // and the engine goes on as if the detector had refused.
      stats.add(`engine.detectorErrors.${d.name}`);
      verdict = 'no';
    }
    if (verdict === 'yes') return { dissector: d, undecided: false };
    // Registry order is priority: on a connection seen from its start, an earlier dissector
    // still undecided wins over a later 'yes' once it decides, so stop here and wait for more
    // bytes (unless input ended). Joined mid-stream there is no opening message to wait for:
    // a detector scanning for a message boundary may stay undecided for kilobytes (Kafka does
    // for 4 KiB of any binary stream), which on a quiet long-lived connection (a publisher's
    // AMQP channel, a gRPC channel) is minutes or forever in a live session. There the first
    // detector to confirm a chain of well-formed messages wins, as in Zeek's dynamic protocol
    // detection; every midstream detector validates consecutive frames before saying 'yes'.
    if (verdict === 'more') {
      undecided = true;
      if (!final && !probe.midstream) return { dissector: null, undecided };
    }
  }
  return { dissector: null, undecided };
}

function concat(parts: Buffer[]): Buffer {
  return parts.length === 1 ? parts[0] : Buffer.concat(parts);
}

function flip(dir: Dir): Dir {
  return dir === 0 ? 1 : 0;
}
