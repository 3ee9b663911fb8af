// What parseConfig refuses in a config, as "path: message" lines, or [] when it takes it: for tests that check
// the exact problems a bad config reports.
import { parseConfig } from "../../host/config/index.js";
import { ConfigError } from "../../host/config/errors.js";

export function configProblems(cfg: unknown, file = "config.json"): string[] {
  try {
    parseConfig(JSON.stringify(cfg), file);
    return [];
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    return err.problems.map((p) => `${p.path}: ${p.message}`);
  }
}
