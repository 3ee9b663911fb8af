// Errors of reading and checking a config. Each carries a stable `code`; a ConfigError lists every problem
// found, each with its JSON path, so that a user fixes a config in one pass instead of one error per run.

import type { ConfigProblem } from "./types.js";
import { SwitchyardError } from "../util/coded-error.js";

export class ConfigError extends SwitchyardError {
  declare readonly code: "E_CONFIG_INVALID" | "E_CONFIG_READ";
  readonly source: string;
  readonly problems: readonly ConfigProblem[];

  constructor(code: "E_CONFIG_INVALID" | "E_CONFIG_READ", source: string, problems: readonly ConfigProblem[], options?: { cause?: unknown }) {
    super(code, formatProblems(source, problems), options);
    this.source = source;
    this.problems = Object.freeze(problems.slice());
  }
}

export const CONFIG_ERROR_CODES = ["E_CONFIG_INVALID", "E_CONFIG_READ"] as const;

function formatProblems(source: string, problems: readonly ConfigProblem[]): string {
  const head = `${source}: ${problems.length} problem${problems.length === 1 ? "" : "s"} in config`;
  return [head, ...problems.map((p) => `  ${p.path || "(document)"}: ${p.message}`)].join("\n");
}
