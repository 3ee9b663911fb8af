// The access log's own destination (switchyard.access_log): "stdout", or a file appended to (made with its folder
// if missing, mode 0644 as a log an operator's tools read). Lines are the same pino JSON lines as in the app log,
// at level info whatever log_level says, so that an app log turned down to warn keeps its access log.

import pino, { type Logger } from "pino";

export interface AccessDestination {
  readonly logger: Logger;
  /** Writes out what is buffered and closes a file (at stop). */
  close(): Promise<void>;
}

export function openAccessLog(where: string): AccessDestination {
  const stream = where === "stdout" ? pino.destination({ dest: 1, sync: false }) : pino.destination({ dest: where, mkdir: true, sync: false, mode: 0o644 });
  const logger = pino({ level: "info", base: { pid: process.pid, component: "access" } }, stream);
  return {
    logger,
    close: () =>
      new Promise<void>((resolve) => {
        // stdout is not this host's to close: what is written goes out on its own.
        if (where === "stdout") return stream.flush(() => resolve());
        stream.once("close", () => resolve());
        stream.end();
      }),
  };
}
