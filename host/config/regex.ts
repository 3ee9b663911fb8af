// MOSN and Envoy regexes must match the whole path or header value. Compiled once, at config load.
// The syntax is JavaScript's RegExp (no flags); RE2 features such as (?P<name>…) are refused with a message.

/** The anchored RegExp, or a message saying why the pattern is refused. */
export function compileFullMatch(pattern: string): RegExp | string {
  try {
    return new RegExp(`^(?:${pattern})$`);
  } catch (err) {
    return `invalid regular expression ${JSON.stringify(pattern)}: ${(err as Error).message.replace(/^Invalid regular expression: /, "")}`;
  }
}
