// Errors of the cluster side, typed so that cmd/ maps them to one line and an exit code.

/** An API server answer that is not a success, with the Status's reason and message. */
export class ApiError extends Error {
  override name = 'ApiError';
  constructor(
    readonly method: string,
    readonly path: string,
    /** HTTP status; 0 when the server could not be reached at all. */
    readonly code: number,
    readonly reason: string,
    message: string,
  ) {
    super(message);
  }

  static from(method: string, path: string, code: number, body: string): ApiError {
    let reason = '';
    let message = body.trim().split('\n')[0]?.slice(0, 300) || `HTTP ${code}`;
    try {
      const status = JSON.parse(body) as { reason?: string; message?: string; error?: string };
      reason = status.reason ?? '';
      message = status.message ?? status.error ?? message;
    } catch {
      // not a Status: keep the first line of the body
    }
    return new ApiError(method, path, code, reason, message);
  }
}

/** Preflight found rights the user lacks: nothing was created. */
export class PermissionError extends Error {
  override name = 'PermissionError';
}

/** The stack could not start (image pull, scheduling, admission, crash loop); it was rolled back. */
export class StackError extends Error {
  override name = 'StackError';
}
