// stderr for people: notices one a line, and a progress line that a terminal redraws in
// place (`tappers ready 2/3`). Quiet mode keeps only warnings and errors; when stderr is not a
// terminal, progress is written only when it changes, one line each.
export class Progress {
  private lastProgress = '';
  private drawn = false;

  constructor(
    private readonly quiet: boolean,
    private readonly stream: NodeJS.WriteStream = process.stderr,
  ) {}

  /** A redrawn status line (only on a terminal; once per change otherwise). */
  status(text: string): void {
    if (this.quiet || text === this.lastProgress) return;
    this.lastProgress = text;
    if (this.stream.isTTY) {
      this.stream.write(`\r\u001b[2Kkubectl tap: ${text}`);
      this.drawn = true;
    } else {
      this.stream.write(`kubectl tap: ${text}\n`);
    }
  }

  /** Something the user should know even in --quiet mode (warnings, what was left behind). */
  warn(text: string): void {
    this.clearStatus();
    this.stream.write(`kubectl tap: ${text}\n`);
  }

  /** An informational notice, silent in --quiet mode. */
  notice(text: string): void {
    if (this.quiet) return;
    this.clearStatus();
    this.stream.write(`kubectl tap: ${text}\n`);
  }

  clearStatus(): void {
    if (this.drawn) {
      this.stream.write('\r\u001b[2K');
      this.drawn = false;
      this.lastProgress = '';
    }
  }
}
