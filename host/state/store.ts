// The state folder: accepted plugin configs and cluster host lists, each in its own file replaced atomically,
// so that a restart comes back with the last accepted state. Leftover temp files from a crash are ignored.

import { readFile, readdir, rm } from "node:fs/promises";
import { join } from "node:path";
import type { HostSpec } from "../cluster/types.js";
import { writeFileAtomic } from "./atomic-file.js";

export interface SavedConfig {
  readonly name: string;
  readonly version: number;
  readonly config: string;
  readonly savedAt: string;
}

export interface SavedHosts {
  readonly cluster: string;
  readonly version: number;
  readonly hosts: readonly HostSpec[];
  readonly savedAt: string;
  /**
   * The digest of the config file's host list the push replaced (host/server/host-sources.ts): the push lasts
   * while the file's list is that one. Absent in files written before it was recorded.
   */
  readonly configHosts?: string;
}

/** A saved host list as loading returns it. */
export interface LoadedHosts {
  readonly hosts: HostSpec[];
  readonly version: number;
  readonly configHosts?: string;
}

/**
 * The file name of a plugin's or cluster's state: letters, digits, '.', '_' and '-' as they are, every other
 * byte (':' of "svc:80", '|' of "outbound|80||svc") percent-encoded, and a leading '.' too (a hidden or temp
 * file, or "..", is never a state file). A name already safe is its own file name, so state saved before
 * names were encoded still loads; loading reads the name inside the file, never the file name.
 */
export function stateFileName(name: string): string {
  if (name.length === 0 || name.length > 255) throw new Error(`state: a name of ${name.length} characters cannot be stored (1-255)`);
  let out = "";
  for (const byte of Buffer.from(name, "utf8")) {
    const c = String.fromCharCode(byte);
    out += /[A-Za-z0-9_-]/.test(c) || (c === "." && out.length > 0) ? c : `%${byte.toString(16).toUpperCase().padStart(2, "0")}`;
  }
  return out;
}

export class StateStore {
  /**
   * `readOnly`: a reader beside the writer (a worker of `--workers N`): it never writes and leaves temp files
   * alone, since they may be the primary's write in progress.
   */
  constructor(readonly dir: string, private readonly now: () => Date = () => new Date(), readonly readOnly = false) {}

  private file(kind: "plugins" | "clusters", name: string): string {
    if (this.readOnly) throw new Error("state: this store is read-only");
    return join(this.dir, kind, `${stateFileName(name)}.json`);
  }

  async savePluginConfig(name: string, version: number, config: string): Promise<void> {
    const saved: SavedConfig = { name, version, config, savedAt: this.now().toISOString() };
    await writeFileAtomic(this.file("plugins", name), JSON.stringify(saved, null, 2) + "\n");
  }

  async saveClusterHosts(cluster: string, version: number, hosts: readonly HostSpec[], configHosts?: string): Promise<void> {
    const saved: SavedHosts = { cluster, version, hosts, savedAt: this.now().toISOString(), ...(configHosts !== undefined ? { configHosts } : {}) };
    await writeFileAtomic(this.file("clusters", cluster), JSON.stringify(saved, null, 2) + "\n");
  }

  /** Forgets a cluster's pushed host list (the config file's list changed since: it wins). */
  async removeClusterHosts(cluster: string): Promise<void> {
    await rm(this.file("clusters", cluster), { force: true });
  }

  /** Every saved plugin config; a file that does not parse is reported, not fatal. */
  async loadPluginConfigs(onBad: (file: string, why: string) => void = () => undefined): Promise<Map<string, { text: string; version: number }>> {
    const out = new Map<string, { text: string; version: number }>();
    for (const [file, value] of await this.readAll("plugins", onBad)) {
      const v = value as Partial<SavedConfig>;
      if (typeof v.name !== "string" || typeof v.config !== "string" || !Number.isInteger(v.version)) {
        onBad(file, "expected {name, version, config}");
        continue;
      }
      out.set(v.name, { text: v.config, version: v.version! });
    }
    return out;
  }

  async loadClusterHosts(onBad: (file: string, why: string) => void = () => undefined): Promise<Map<string, LoadedHosts>> {
    const out = new Map<string, LoadedHosts>();
    for (const [file, value] of await this.readAll("clusters", onBad)) {
      const v = value as Partial<SavedHosts>;
      if (typeof v.cluster !== "string" || !Array.isArray(v.hosts) || !Number.isInteger(v.version)) {
        onBad(file, "expected {cluster, version, hosts}");
        continue;
      }
      out.set(v.cluster, { hosts: v.hosts as HostSpec[], version: v.version!, ...(typeof v.configHosts === "string" ? { configHosts: v.configHosts } : {}) });
    }
    return out;
  }

  private async readAll(kind: "plugins" | "clusters", onBad: (file: string, why: string) => void): Promise<[string, unknown][]> {
    const dir = join(this.dir, kind);
    let names: string[];
    try {
      names = await readdir(dir);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return [];
      throw err;
    }
    const out: [string, unknown][] = [];
    for (const n of names.sort()) {
      if (n.startsWith(".") && n.endsWith(".tmp") && !this.readOnly) {
        // A temp file of a write that a crash interrupted (the state is read only at start, before any write of
        // this process): never read, and removed so that crashes do not pile them up.
        await rm(join(dir, n), { force: true }).catch(() => undefined);
        continue;
      }
      if (!n.endsWith(".json") || n.startsWith(".")) continue;
      const file = join(dir, n);
      try {
        out.push([file, JSON.parse(await readFile(file, "utf8"))]);
      } catch (err) {
        onBad(file, (err as Error).message);
      }
    }
    return out;
  }
}
