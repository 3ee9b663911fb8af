// One router entry's match, compiled: path / prefix / regex on the path without its query, then every
// header matcher. Regexes are compiled here, once per config.

import { ConfigError } from "../config/errors.js";
import { compileFullMatch } from "../config/regex.js";
import type { RouteMatchConfig } from "../config/types.js";
import type { HeaderLookup } from "./types.js";

const enum PathKind {
  Any = 0,
  Exact = 1,
  Prefix = 2,
  Regex = 3,
}

interface HeaderMatcher {
  readonly name: string;
  readonly value: string;
  readonly re: RegExp | null;
}

export class CompiledMatch {
  private readonly kind: PathKind;
  private readonly text: string;
  private readonly re: RegExp | null;
  private readonly headers: readonly HeaderMatcher[];

  constructor(config: RouteMatchConfig, where: string, source: string) {
    if (config.path !== null) {
      this.kind = PathKind.Exact;
      this.text = config.path;
    } else if (config.prefix !== null && config.prefix !== "") {
      this.kind = PathKind.Prefix;
      this.text = config.prefix;
    } else if (config.regex !== null) {
      this.kind = PathKind.Regex;
      this.text = config.regex;
    } else {
      this.kind = PathKind.Any; // MOSN's header-only routes, or prefix ""
      this.text = "";
    }
    this.re = this.kind === PathKind.Regex ? compile(this.text, `${where}.match.regex`, source) : null;
    this.headers = config.headers.map((h, i) => ({
      name: h.name,
      value: h.value,
      re: h.regex ? compile(h.value, `${where}.match.headers[${i}].value`, source) : null,
    }));
  }

  /** `pathOnly` is the request path with its query already removed. */
  matches(pathOnly: string, headers: HeaderLookup): boolean {
    switch (this.kind) {
      case PathKind.Exact:
        if (pathOnly !== this.text) return false;
        break;
      case PathKind.Prefix:
        if (!pathOnly.startsWith(this.text)) return false;
        break;
      case PathKind.Regex:
        if (!this.re!.test(pathOnly)) return false;
        break;
      case PathKind.Any:
        break;
    }
    for (let i = 0; i < this.headers.length; i++) {
      const h = this.headers[i]!;
      const value = headers(h.name);
      if (value === undefined) return false;
      if (h.re === null ? value !== h.value : !h.re.test(value)) return false;
    }
    return true;
  }
}

function compile(pattern: string, where: string, source: string): RegExp {
  const re = compileFullMatch(pattern);
  if (typeof re === "string") throw new ConfigError("E_CONFIG_INVALID", source, [{ path: where, message: re }]);
  return re;
}
