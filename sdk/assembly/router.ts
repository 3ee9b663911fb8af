// The author API, after MOSN's route SPI (RouteFactory / Handler / Configurator): a factory names the
// plugin, gives its order and turns a config text into a handler; the handler filters hosts per request.

import { Hosts } from "./hosts";
import { Request } from "./request";
import { Result } from "./result";

/** Routes one request: mark the hosts to keep, set metadata, or answer Reject / Wait through `result`. */
export abstract class Handler {
  abstract route(request: Request, hosts: Hosts, result: Result): void;
}

/**
 * The outcome of RouterFactory.configure: a handler to use, or the reason the config is refused; with a
 * handler, the headers it reads when the config names them (else plugin.json's "headers" apply):
 *
 * ```ts
 * return Configured.ok(new Handler(header)).readingHeaders([header]);
 * ```
 */
export class Configured {
  /** Declared by readingHeaders; null: plugin.json's list. */
  headers: string[] | null = null;
  allHeaders: bool = false;

  private constructor(readonly handler: Handler | null, readonly message: string) {}

  /**
   * The host writes exactly these headers (any case) into each request routed with this config, in place
   * of plugin.json's "headers"; asking a Request for another one stops the call with an error naming it.
   */
  readingHeaders(names: string[]): Configured {
    this.headers = names;
    this.allHeaders = false;
    return this;
  }

  /** The host writes every header of each request (costs more per request than a list). */
  readingAllHeaders(): Configured {
    this.headers = null;
    this.allHeaders = true;
    return this;
  }

  static ok(handler: Handler): Configured {
    return new Configured(handler, "");
  }

  /** Refuse the config; `message` reaches whoever pushed it, so name the field and what was expected. */
  static reject(message: string): Configured {
    return new Configured(null, message);
  }
}

/**
 * A router plugin. Subclass it and call `register(new MyFactory())` at the top level of the entry file:
 *
 * ```ts
 * class Factory extends RouterFactory {
 *   name(): string { return "my-plugin"; }
 *   order(): i32 { return 10; }
 *   configure(config: string): Configured { return Configured.ok(new MyHandler()); }
 * }
 * register(new Factory());
 * ```
 */
export abstract class RouterFactory {
  abstract name(): string;

  /** Smaller runs first in a chain; ties are broken by name. */
  order(): i32 {
    return 0;
  }

  /** Called with the bundle's default config at load and with every push; the old handler stays on reject. */
  abstract configure(config: string): Configured;
}

let registered: RouterFactory | null = null;
/** The handler of the last accepted config; null until configure succeeds. */
let current: Handler | null = null;

/** Make `factory` the plugin. Call it once, at the top level of the plugin's entry file. */
export function register(factory: RouterFactory): void {
  if (registered !== null) abort("register: a RouterFactory is already registered; call register once per plugin");
  registered = factory;
}

export function registeredFactory(): RouterFactory | null {
  return registered;
}

export function currentHandler(): Handler | null {
  return current;
}

export function setCurrentHandler(handler: Handler): void {
  current = handler;
}
