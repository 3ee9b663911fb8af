// The set of loaded plugins and the chains built from it. Changes build a new set aside and swap it in whole;
// a request takes the chain once and runs on it to the end, so it never sees half of a change.

import type { Bundle, LoadOptions } from "./bundle.js";
import { PluginChain } from "./chain.js";
import { TableRegistry } from "./table-registry.js";
import { RouterPlugin, type PluginOptions } from "./plugin.js";
import { PluginCounterSet } from "./counters.js";

export class PluginRegistry {
  readonly tables = new TableRegistry();
  private plugins: ReadonlyMap<string, RouterPlugin> = new Map();
  private chains = new Map<string, PluginChain>();
  private bySelection = new WeakMap<readonly string[], PluginChain>();
  private listeners: (() => void)[] = [];
  /** Increases on every swap; chains and admin answers carry it. */
  generation = 0;

  private readonly missingTold = new Set<string>();

  readonly options: PluginOptions & LoadOptions & { onMissingPlugin?: (name: string) => void };
  /** Every plugin's counters, by name, across swaps. */
  readonly counters: PluginCounterSet;

  constructor(options: PluginOptions & LoadOptions & { onMissingPlugin?: (name: string) => void } = {}) {
    this.counters = options.counters ?? new PluginCounterSet();
    this.options = { ...options, counters: this.counters };
  }

  get(name: string): RouterPlugin | undefined {
    return this.plugins.get(name);
  }

  list(): RouterPlugin[] {
    return [...this.plugins.values()];
  }

  /** The chain for a route's plugin selection (null: every loaded plugin). Cached until the next swap. */
  chainFor(selection: readonly string[] | null): PluginChain {
    // Per request: the route's selection array is the same frozen object every time, so look it up by
    // identity first; the joined-name key (a new string to hash) is paid once per selection and swap.
    const bySel = selection === null ? undefined : this.bySelection.get(selection);
    if (bySel !== undefined) return bySel;
    const key = selection === null ? "*" : selection.join("\u0000");
    let chain = this.chains.get(key);
    if (chain === undefined) {
      const chosen = selection === null ? this.list() : selection.flatMap((n) => this.plugins.get(n) ?? this.missing(n));
      chain = new PluginChain(chosen, this.tables, this.options.timingEvery);
      this.chains.set(key, chain);
    }
    if (selection !== null) this.bySelection.set(selection, chain);
    return chain;
  }

  /** A route names a plugin that is not loaded: it is skipped, and said once per name until it loads. */
  private missing(name: string): [] {
    if (!this.missingTold.has(name)) {
      this.missingTold.add(name);
      this.options.onMissingPlugin?.(name);
    }
    return [];
  }

  onChange(listener: () => void): void {
    this.listeners.push(listener);
  }

  /** Swaps in a new plugin set built by `edit` over a copy of the current one. */
  private swap(edit: (next: Map<string, RouterPlugin>) => void): void {
    const next = new Map(this.plugins);
    edit(next);
    this.plugins = next;
    this.chains = new Map();
    this.bySelection = new WeakMap();
    this.generation++;
    for (const l of this.listeners) l();
  }

  install(plugin: RouterPlugin): void {
    this.missingTold.delete(plugin.name);
    this.swap((m) => m.set(plugin.name, plugin));
  }

  remove(name: string): boolean {
    if (!this.plugins.has(name)) return false;
    this.swap((m) => m.delete(name));
    return true;
  }

  /** Builds a plugin from a verified bundle with `config` (default config when undefined), aside. */
  build(bundle: Bundle, config: string | undefined, configVersion: number): RouterPlugin {
    return RouterPlugin.create(bundle, config, configVersion, this.options);
  }
}
