// The one base of the host's own errors: a stable `code` callers match on (the admin API maps codes to
// statuses in host/admin/errors.ts, the CLI prints them), a message for people, and the class's name.
// Each layer's errors.ts extends it; errors that stand for Node's own (a socket's ECONNRESET in
// host/server/http1/) keep Node's shape instead.

export class SwitchyardError extends Error {
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}
