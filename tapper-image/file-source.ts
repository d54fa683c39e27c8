// --file: a capture file served as if it were live. Playback starts when the first /entries
// stream opens, so a test, demo or benchmark sees the whole file; afterwards the daemon
// keeps serving (heartbeats, /stats) until it is stopped, like a live tapper.
import { openSync, readSync, closeSync } from 'node:fs';
import { playCaptureFile, type Pace } from '../src/capture/paced-file.js';
import { isPcapMagic } from '../src/capture/pcap.js';
import { isPcapngMagic } from '../src/capture/pcapng.js';
import { UsageError } from '../src/errors.js';
import type { NodePipeline } from '../src/node/pipeline.js';
import type { FileSourceStats } from './stats-report.js';

export class FileSource {
  private readonly state: FileSourceStats;
  private stopped = false;
  private playing: Promise<void> | null = null;

  constructor(
    readonly path: string,
    readonly pace: Pace,
    private readonly pipeline: NodePipeline,
    private readonly log: (line: string) => void,
  ) {
    checkCaptureFile(path);
    this.state = { file: path, pace, state: 'waiting for a consumer', packets: 0, bytes: 0, kernelBufferBytes: 0 };
  }

  /** Starts playback once (on the first consumer). */
  start(): void {
    if (this.playing !== null || this.stopped) return;
    this.state.state = 'playing';
    this.playing = playCaptureFile(
      this.path,
      this.pace,
      (frame) => {
        this.state.packets += 1;
        this.state.bytes += frame.originalLength;
        this.pipeline.handleFrame(frame);
      },
      () => this.stopped,
    ).then(
      () => {
        this.pipeline.finish();
        this.state.state = 'done';
        this.log(`${this.path}: played ${this.state.packets} frames`);
      },
      (err: Error) => {
        this.pipeline.finish();
        if (this.stopped) return;
        this.state.state = 'failed';
        this.state.error = err.message;
        this.log(`${this.path}: ${err.message} (entries before it were served)`);
      },
    );
  }

  stats(): FileSourceStats {
    return { ...this.state };
  }

  /** Stops playback; resolves once the player has let go (its last entries flushed). */
  async stop(): Promise<void> {
    this.stopped = true;
    await this.playing;
  }
}

function checkCaptureFile(path: string): void {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (err) {
    throw new UsageError(`${path}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message}`);
  }
  const head = Buffer.alloc(4);
  const n = readSync(fd, head, 0, 4, 0);
  closeSync(fd);
  if (n < 4 || !(isPcapMagic(head) || isPcapngMagic(head))) throw new UsageError(`${path}: not a pcap or pcapng file`);
}
