// The session token: every request but GET /healthz carries it as X-Tap-Token (the API
// server's proxy removes Authorization). Compared in constant time: both sides are hashed
// to the same length first, so neither the length nor a common prefix shows in the timing.
// The file is a Secret volume, which the kubelet may update in place: it is read again when
// its modification time changes.
import { createHash, timingSafeEqual } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';

export const TOKEN_HEADER = 'x-tap-token';

export class TokenError extends Error {}

export class TokenCheck {
  private digest: Buffer = Buffer.alloc(32);
  private mtimeMs = -1;

  constructor(private readonly path: string) {
    this.reload();
  }

  /** True when the header's token is the session token. */
  accepts(header: string | string[] | undefined): boolean {
    this.reloadIfChanged();
    if (typeof header !== 'string' || header === '') return false;
    return timingSafeEqual(sha256(header), this.digest);
  }

  private reloadIfChanged(): void {
    try {
      if (statSync(this.path).mtimeMs !== this.mtimeMs) this.reload();
    } catch {
      // A Secret volume mid-update: keep the token we have.
    }
  }

  private reload(): void {
    let text: string;
    try {
      text = readFileSync(this.path, 'utf8');
      this.mtimeMs = statSync(this.path).mtimeMs;
    } catch (err) {
      throw new TokenError(`cannot read the token file ${this.path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
    const token = text.trim();
    if (token.length < 16) throw new TokenError(`the token file ${this.path} holds no usable token (at least 16 characters)`);
    this.digest = sha256(token);
  }
}

function sha256(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}
