// `switchyard --version`: the version of package.json, found by walking up from this file, so that the same
// code answers from host/cli (tests) and from dist/host/cli (the installed command).

import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

export function packageVersion(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, "package.json"), "utf8")) as { version?: unknown };
      if (typeof pkg.version === "string") return pkg.version;
    } catch {
      // not here: one folder up
    }
    dir = dirname(dir);
  }
  return "unknown";
}
