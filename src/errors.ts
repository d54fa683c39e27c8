// Typed errors raised by src/. cmd/ maps them to one stderr line and an exit code:
// UsageError -> 2, everything else -> 1.

export class UsageError extends Error {
  override name = 'UsageError';
}

/** A capture file that is not pcap/pcapng, or is truncated or corrupt at `offset`. */
export class CaptureFormatError extends Error {
  override name = 'CaptureFormatError';
  constructor(
    message: string,
    readonly offset: number,
  ) {
    super(`${message} at byte offset ${offset}`);
  }
}

/**
 * Writing the output failed (a full disk, an I/O error; not a reader that left, which ends
 * output quietly). Says so in its message, so that it is never taken for a capture error.
 */
export class OutputError extends Error {
  override name = 'OutputError';
  constructor(override readonly cause: NodeJS.ErrnoException) {
    super(`writing the output failed: ${cause.message}`);
  }
}
