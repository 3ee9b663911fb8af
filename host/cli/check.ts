// `switchyard check <file> [--strict]`: validate a config without starting anything. Exit 0 with "ok" and
// the warnings, 1 with every problem (each with its JSON path), 2 on a usage error. --strict: any warning
// (a field ignored, a route that can leak traffic past its plugins, see check-leaks.ts) exits 1 too.

import { ConfigError } from "../config/errors.js";
import { loadConfigFile } from "../config/load.js";
import { compileAllRoutes } from "../router/table.js";
import { leakWarnings } from "./check-leaks.js";
import { adminExposure } from "../admin/exposure.js";

export interface CheckIo {
  readonly out: (line: string) => void;
  readonly err: (line: string) => void;
}

const STDIO: CheckIo = {
  out: (line) => process.stdout.write(line + "\n"),
  err: (line) => process.stderr.write(line + "\n"),
};

export async function run(args: string[], io: CheckIo = STDIO): Promise<number> {
  const files = args.filter((a) => !a.startsWith("-"));
  const flags = args.filter((a) => a.startsWith("-"));
  const strict = flags.includes("--strict");
  if (files.length !== 1 || flags.some((f) => f !== "--strict")) {
    io.err("usage: switchyard check <config.json> [--strict]");
    return 2;
  }
  const file = files[0]!;
  try {
    const loaded = await loadConfigFile(file);
    const config = loaded.config;
    const warnings = [...loaded.warnings, ...leakWarnings(config)];
    // The warning `run` logs at start (host/admin/exposure.ts); a token may also come from the environment there.
    const exposed = adminExposure(config.admin.host, config.switchyard.adminTokenFile != null || (process.env.SWITCHYARD_ADMIN_TOKEN ?? "") !== "");
    if (exposed !== null) warnings.push({ path: "admin.address", message: exposed.message });
    // Compiling the route tables is what `run` does next; doing it here means "ok" promises it will work.
    compileAllRoutes(config);
    const routes = config.routerConfigs.reduce((n, rc) => n + rc.virtualHosts.reduce((m, vh) => m + vh.routes.length, 0), 0);
    io.out(
      `ok: ${file}: ${plural(config.listeners.length, "listener")}, ${plural(config.routerConfigs.length, "router config")}, ` +
        `${plural(routes, "route")}, ${plural(config.clusters.length, "cluster")}, ${plural(warnings.length, "warning")}`,
    );
    for (const w of warnings) io.out(`warning: ${w.path || "(document)"}: ${w.message}`);
    if (strict && warnings.length > 0) {
      io.err(`E_CONFIG_WARNINGS: ${file}: ${plural(warnings.length, "warning")} and --strict`);
      return 1;
    }
    return 0;
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    io.err(`${err.code}: ${err.message}`);
    return 1;
  }
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? "" : "s"}`;
}
