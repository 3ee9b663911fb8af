// Virtual host by Host header, as Envoy and MOSN choose: an exact domain first, then the longest
// "*suffix" wildcard, then "*". Built once per config; a lookup costs one Map get per distinct wildcard
// suffix length, most specific first, and allocates only when the Host has a port or capital letters.

export class DomainIndex<V> {
  private readonly exact = new Map<string, V>();
  private readonly suffixes = new Map<number, Map<string, V>>();
  private suffixLengths: number[] = []; // longest first
  private any: V | null = null;

  /** `domain` is lowercase without port: "example.com", "*.example.com", "*-api.example.com" or "*". */
  add(domain: string, value: V): void {
    if (domain === "*") {
      this.any = value;
    } else if (domain.startsWith("*")) {
      const suffix = domain.slice(1);
      let byLength = this.suffixes.get(suffix.length);
      if (byLength === undefined) {
        byLength = new Map();
        this.suffixes.set(suffix.length, byLength);
        this.suffixLengths = [...this.suffixes.keys()].sort((a, b) => b - a);
      }
      byLength.set(suffix, value);
    } else {
      this.exact.set(domain, value);
    }
  }

  find(authority: string): V | null {
    if (this.exact.size === 0 && this.suffixLengths.length === 0) return this.any;
    const host = hostOf(authority);
    const hit = this.exact.get(host);
    if (hit !== undefined) return hit;
    for (let i = 0; i < this.suffixLengths.length; i++) {
      const len = this.suffixLengths[i]!;
      // A wildcard stands for at least one character: "*.example.com" does not match ".example.com".
      if (len >= host.length) continue;
      const v = this.suffixes.get(len)!.get(host.slice(host.length - len));
      if (v !== undefined) return v;
    }
    return this.any;
  }
}

/** The Host header without port, lowercase. "[::1]:80" → "[::1]". */
export function hostOf(authority: string): string {
  let end = authority.length;
  if (authority.charCodeAt(0) === 91 /* [ */) {
    const close = authority.indexOf("]");
    if (close > 0) end = close + 1;
  } else {
    const colon = authority.lastIndexOf(":");
    if (colon >= 0) end = colon;
  }
  const host = end === authority.length ? authority : authority.slice(0, end);
  for (let i = 0; i < host.length; i++) {
    const c = host.charCodeAt(i);
    if (c >= 65 && c <= 90) return host.toLowerCase();
  }
  return host;
}
