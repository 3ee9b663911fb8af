// A config push: the plugin's own configure decides. Accepted → the new config is persisted (atomically) and
// then swapped in, so the answer "accepted" is only given for a config that a restart will keep. Rejected →
// the pusher gets the plugin's message and nothing changes.
//
// Everything that replaces one plugin — a push, a config applied from the primary, a bundle swap by the
// watcher — runs under that plugin's lock (`exclusive`), so that the If-Match check, the persist and the swap
// are one step, and a bundle swapped in meanwhile can neither lose an accepted config nor bring back an older
// one.

import { MAX_CONFIG_BYTES } from "../abi/limits.js";
import type { StateStore } from "../state/store.js";
import { SwitchyardError } from "./errors.js";
import type { RouterPlugin } from "./plugin.js";
import type { PluginRegistry } from "./registry.js";
import { KeyedQueue } from "../util/keyed-queue.js";

export class PushError extends SwitchyardError {
  constructor(code: "E_PUSH_UNKNOWN_PLUGIN" | "E_PUSH_VERSION_MISMATCH" | "E_PUSH_TOO_LARGE" | "E_PUSH_NOT_TEXT", message: string) {
    super(code, message);
  }
}

export interface PushResult {
  readonly plugin: string;
  readonly version: number;
}

export class ConfigPusher {
  private readonly queues = new KeyedQueue();

  constructor(
    private readonly registry: PluginRegistry,
    private readonly store: StateStore | null,
    private readonly onAccepted: (name: string, version: number, config: string) => void = () => undefined,
  ) {}

  /** Runs `fn` when every earlier change to plugin `name` has finished; changes to one plugin never overlap. */
  exclusive<T>(name: string, fn: () => T | Promise<T>): Promise<T> {
    return this.queues.run(name, fn);
  }

  /**
   * Pushes `config` to plugin `name`. `ifMatch` is the config version the pusher last saw. Throws PushError,
   * ConfigRejected (the plugin's message) or PluginFailure (configure trapped or ran over budget).
   */
  push(name: string, config: string, ifMatch?: number): Promise<PushResult> {
    return this.exclusive(name, () => this.pushNow(name, config, ifMatch));
  }

  /**
   * Applies a config that was already accepted and persisted elsewhere (by the primary process) at exactly
   * `version`. An older or equal version than the one serving is ignored (messages may cross a restart).
   * Resolves "applied", "stale" or "not-loaded" (kept for when the bundle appears); throws what configure
   * throws.
   */
  apply(name: string, version: number, config: string): Promise<"applied" | "stale" | "not-loaded"> {
    return this.exclusive(name, () => {
      const current = this.registry.get(name);
      if (current !== undefined && current.configVersion >= version) return "stale" as const;
      this.onAccepted(name, version, config);
      if (current === undefined) return "not-loaded" as const;
      this.registry.install(current.reconfigure(config, version));
      return "applied" as const;
    });
  }

  private async pushNow(name: string, config: string, ifMatch: number | undefined): Promise<PushResult> {
    const current: RouterPlugin | undefined = this.registry.get(name);
    if (current === undefined) throw new PushError("E_PUSH_UNKNOWN_PLUGIN", `no plugin named "${name}" is loaded`);
    if (ifMatch !== undefined && ifMatch !== current.configVersion) {
      throw new PushError("E_PUSH_VERSION_MISMATCH", `plugin ${name} is at config version ${current.configVersion}, If-Match says ${ifMatch}`);
    }
    if (Buffer.byteLength(config) > MAX_CONFIG_BYTES) throw new PushError("E_PUSH_TOO_LARGE", `config is larger than ${MAX_CONFIG_BYTES} bytes`);
    if (config.includes("\u0000")) throw new PushError("E_PUSH_NOT_TEXT", "config contains a NUL byte; it must be text");
    const version = current.configVersion + 1;
    // Throws ConfigRejected with the plugin's message, or PluginFailure; the serving plugin is untouched.
    const next = current.reconfigure(config, version);
    // Under the plugin's lock no bundle swap can land between the persist and the install.
    await this.store?.savePluginConfig(name, version, config);
    this.registry.install(next);
    this.onAccepted(name, version, config);
    return { plugin: name, version };
  }
}
