// Which folder of the plugins folder provides a plugin name when several say the same name in their
// metadata.json (docs/operations.md, "One name, one folder"). The rule depends only on the folder names, so the
// same folder wins at start and at every later change, whatever order the folders appeared in:
//
//   1. the folder named exactly after the plugin (plugins/deny for plugin "deny");
//   2. else the first folder name in byte order (as `LC_ALL=C ls` lists them).
//
// The others are refused as E_BUNDLE_DUPLICATE naming the winner. The watcher applies it on every pass, so when
// the winner goes away the next folder takes over without a restart.

export interface Candidate {
  /** The folder's path, as the watcher names it. */
  readonly dir: string;
  /** The folder's own name inside the plugins folder. */
  readonly entry: string;
  /** The plugin name its metadata.json gives. */
  readonly name: string;
}

export interface Resolution {
  readonly winner: Candidate;
  /** The other folders that give the same name, in the rule's order. */
  readonly losers: readonly Candidate[];
  /** Why the winner won, for the losers' refusal. */
  readonly why: string;
}

/** Each plugin name that `candidates` give, with the folder that provides it. */
export function resolveNames(candidates: readonly Candidate[]): Map<string, Resolution> {
  const byName = new Map<string, Candidate[]>();
  for (const c of candidates) {
    const list = byName.get(c.name);
    if (list) list.push(c);
    else byName.set(c.name, [c]);
  }
  const out = new Map<string, Resolution>();
  for (const [name, list] of byName) {
    const ordered = [...list].sort((a, b) => rank(a, name) - rank(b, name) || Buffer.compare(Buffer.from(a.entry), Buffer.from(b.entry)));
    const [winner, ...losers] = ordered as [Candidate, ...Candidate[]];
    out.set(name, { winner, losers, why: winner.entry === name ? "the folder named after the plugin" : "the first folder in name order; none is named after the plugin" });
  }
  return out;
}

function rank(c: Candidate, name: string): number {
  return c.entry === name ? 0 : 1;
}
