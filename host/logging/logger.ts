// The host's root logger: pino JSON by default; pretty lines for a terminal only when asked, through
// pino-pretty, a development dependency that is not installed by default (`npm i -D pino-pretty`). It is
// loaded only when asked, so production never needs it.

import pino, { type DestinationStream, type Level, type Logger } from "pino";

export interface LoggerOptions {
  readonly level?: Level | "silent";
  /** Human-readable lines instead of JSON (needs pino-pretty). */
  readonly pretty?: boolean;
  /** Where JSON lines go; stdout by default. Ignored when pretty. */
  readonly destination?: DestinationStream;
}

class LoggerSetupError extends Error {
  readonly code = "E_LOG_PRETTY_MISSING";
}

/** Kept in a variable so that TypeScript does not require pino-pretty's types to compile. */
const PRETTY_MODULE = "pino-pretty";

export async function createLogger(opts: LoggerOptions = {}): Promise<Logger> {
  const level = opts.level ?? "info";
  if (!opts.pretty) return opts.destination ? pino({ level }, opts.destination) : pino({ level });
  let pretty: (o: object) => DestinationStream;
  try {
    const mod = (await import(PRETTY_MODULE)) as { default: (o: object) => DestinationStream };
    pretty = mod.default;
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code !== "ERR_MODULE_NOT_FOUND" && code !== "MODULE_NOT_FOUND") throw err;
    throw new LoggerSetupError("pretty log output needs pino-pretty, a development dependency that is not installed: run `npm i -D pino-pretty`, or drop --log-pretty for JSON lines");
  }
  return pino({ level }, pretty({ colorize: true, translateTime: "SYS:HH:MM:ss.l", ignore: "pid,hostname" }));
}
