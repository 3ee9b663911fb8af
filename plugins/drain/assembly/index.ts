// drain: while "draining" is true, every request is told to wait waitMs and ask again; an operator flips
// it with a push, e.g. during a cluster migration, and flips it back to let traffic through.
//
// config: {"draining":false,"waitMs":50}

import { ConfigReader, Configured, Handler, Hosts, MAX_WAIT_MS, register, Request, Result, RouterFactory } from "../../../sdk/assembly";
export * from "../../../sdk/assembly/abi/exports";

class DrainHandler extends Handler {
  constructor(
    private draining: bool,
    private waitMs: i32,
  ) {
    super();
  }

  route(request: Request, hosts: Hosts, result: Result): void {
    if (this.draining) result.wait(this.waitMs);
  }
}

class DrainFactory extends RouterFactory {
  name(): string {
    return "drain";
  }

  order(): i32 {
    return 1;
  }

  configure(config: string): Configured {
    const c = ConfigReader.parse(config);
    c.allowOnly(["draining", "waitMs"]);
    const draining = c.requireBool("draining");
    const waitMs = c.optionalInt("waitMs", 50, 1, MAX_WAIT_MS);
    if (!c.ok) return Configured.reject(c.error);
    return Configured.ok(new DrainHandler(draining, waitMs));
  }
}

register(new DrainFactory());
