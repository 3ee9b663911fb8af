// `switchyard run --config <file> [--plugins <dir>] [--state <dir>] [--workers N] [--log-level L]`

import pino from "pino";
import { loadConfigFile } from "../config/index.js";
import { SwitchyardHost } from "../server/host.js";
import { parseArgs, str, UsageError } from "./args.js";

export interface RunningHost {
  readonly host: SwitchyardHost;
  stop(): Promise<void>;
}

export async function startFromArgs(args: string[]): Promise<RunningHost> {
  const p = parseArgs(args, { values: ["config", "plugins", "state", "workers", "log-level"] });
  const file = str(p, "config");
  if (file === undefined) throw new UsageError("run needs --config <file>");
  const { config, warnings } = await loadConfigFile(file);
  const level = str(p, "log-level") ?? config.switchyard.logLevel;
  const logger = pino({ level });
  for (const w of warnings) logger.warn({ path: w.path, source: config.source }, `config: ${w.message}`);
  const host = new SwitchyardHost({
    config,
    logger,
    ...(str(p, "plugins") !== undefined ? { pluginsDir: str(p, "plugins")! } : {}),
    ...(str(p, "state") !== undefined ? { stateDir: str(p, "state")! } : {}),
  });
  const { plugins } = await host.start();
  for (const r of plugins?.refused ?? []) logger.error({ dir: r.dir, code: r.code }, `bundle refused at start: ${r.message}`);
  return { host, stop: () => host.stop() };
}

export async function run(args: string[]): Promise<number> {
  const running = await startFromArgs(args);
  await waitForSignal(running);
  return 0;
}

/** Stops gracefully on SIGTERM / SIGINT: listeners stop accepting, requests in flight finish. */
export function waitForSignal(running: { stop(): Promise<void>; host: SwitchyardHost }): Promise<void> {
  return new Promise((resolve) => {
    const stop = (signal: string) => {
      running.host.log.info({ signal }, "stopping");
      void running.stop().then(resolve);
    };
    process.once("SIGTERM", () => stop("SIGTERM"));
    process.once("SIGINT", () => stop("SIGINT"));
  });
}
