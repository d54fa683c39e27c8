// The fan-in's brake. Entries arrive as fast as the tappers send them; stdout may be slower
// (a pipe to a slow reader, a terminal), and so may the CLI-side filter (names). Without a
// brake, what they cannot take waits in the CLI's memory without bound. With it, the fan-in
// stops reading its streams while the output holds more than OUTPUT_HIGH_BYTES or more than
// PENDING_HIGH entries wait for the filter; TCP carries the wait back through the API server
// to the tappers, whose per-stream queues are bounded: there entries are dropped and counted
// (the dropped markers the fan-in sums and the end-of-run line reports).

/** About a pipe's worth of batches: enough to keep stdout busy while reading is stopped. */
const OUTPUT_HIGH_BYTES = 1024 * 1024;
const PENDING_HIGH = 2048;

export interface BrakedOutput {
  readonly pendingBytes: number;
  /** Resolves once the output has written what it holds (rejects if writing failed). */
  flush(): Promise<void>;
}

export interface BrakedSource {
  pause(): void;
  resume(): void;
}

export class FanInBrake {
  private pendingOffers = 0;
  private held = false;
  /** Times reading was stopped (for the figures). */
  holds = 0;

  constructor(
    private readonly output: BrakedOutput,
    private readonly source: BrakedSource,
    private readonly onError: (err: unknown) => void,
  ) {}

  /** After each entry is offered to the sink, with what the offer returned (a promise when it waits for the filter). */
  offered(result: void | Promise<void>): void {
    if (result) {
      this.pendingOffers += 1;
      const settled = () => {
        this.pendingOffers -= 1;
        this.release();
      };
      result.then(settled, settled);
    }
    if (this.held || (this.output.pendingBytes <= OUTPUT_HIGH_BYTES && this.pendingOffers <= PENDING_HIGH)) return;
    this.held = true;
    this.holds += 1;
    this.source.pause();
    this.waitForOutput();
  }

  private waitForOutput(): void {
    this.output.flush().then(
      () => this.release(),
      (err) => {
        this.held = false;
        this.source.resume();
        this.onError(err);
      },
    );
  }

  /** Reading resumes once the output has room and the filter has caught up (half the bounds). */
  private release(): void {
    if (!this.held) return;
    if (this.pendingOffers > PENDING_HIGH / 2) return; // the next settled offer calls again
    if (this.output.pendingBytes > OUTPUT_HIGH_BYTES / 2) return this.waitForOutput();
    this.held = false;
    this.source.resume();
  }
}
