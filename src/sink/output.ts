// Where printed entries go: lines batched into few large writes (one write per entry costs
// a syscall each; see pino), flushed whenever the producer reaches a pause so a live stream
// still shows entries as they complete. Backpressure: flush() waits for 'drain'. A closed
// pipe (`| head`) ends output quietly: the reader has all it wanted.

import type { Writable } from 'node:stream';

/**
 * Measured on the HTTP/1 bench capture: 16 KiB batches (well under a Linux pipe's 64 KiB)
 * are written whole at once, while 64 KiB ones often fill the pipe and queue in memory:
 * through `| wc -l`, 4.8 s and 115 MB against 5.2 s and 140 MB.
 */
const BATCH_BYTES = 16 * 1024;

export class LineOutput {
  private batch: string[] = [];
  private batchBytes = 0;
  private closed = false;

  constructor(private readonly stream: Writable) {
    stream.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EPIPE') this.closed = true;
      else throw err;
    });
  }

  /** True once the reader went away; producers may stop early. */
  get isClosed(): boolean {
    return this.closed;
  }

  writeLine(line: string): void {
    if (this.closed) return;
    this.batch.push(line);
    this.batchBytes += line.length + 1;
    if (this.batchBytes >= BATCH_BYTES) this.writeBatch();
  }

  async flush(): Promise<void> {
    const ok = this.writeBatch();
    if (!ok && !this.closed) await new Promise<void>((resolve) => this.stream.once('drain', resolve));
  }

  private writeBatch(): boolean {
    if (this.batch.length === 0 || this.closed) return true;
    const text = this.batch.join('\n') + '\n';
    this.batch = [];
    this.batchBytes = 0;
    return this.stream.write(text);
  }
}
