// deny: answer requests whose header holds a denied value at once, with a fixed status and body.
// Every occurrence of a repeated header is checked, so a second copy cannot smuggle a denied value past.
//
// config: {"header":"x-client","values":["bad-bot"],"status":403,"body":"denied"}

import { ConfigReader, Configured, Handler, Hosts, MAX_BODY_BYTES, register, Request, Result, RouterFactory } from "../../../sdk/assembly";
export * from "../../../sdk/assembly/abi/exports";

class DenyHandler extends Handler {
  constructor(
    private header: string,
    private values: string[],
    private status: i32,
    private body: string,
  ) {
    super();
  }

  route(request: Request, hosts: Hosts, result: Result): void {
    if (!request.hasHeader(this.header)) return;
    const seen = request.headerAll(this.header);
    for (let i = 0; i < seen.length; i++) {
      if (this.values.includes(seen[i])) {
        result.reject(this.status, this.body);
        return;
      }
    }
  }
}

class DenyFactory extends RouterFactory {
  name(): string {
    return "deny";
  }

  order(): i32 {
    return 5;
  }

  configure(config: string): Configured {
    const c = ConfigReader.parse(config);
    c.allowOnly(["header", "values", "status", "body"]);
    const header = c.requireString("header");
    const values = c.requireStringArray("values");
    const status = c.optionalInt("status", 403, 200, 599);
    const body = c.optionalString("body", "denied", true);
    if (c.ok && String.UTF8.byteLength(body) > MAX_BODY_BYTES) {
      c.fail("config field \"body\": expected at most " + MAX_BODY_BYTES.toString() + " bytes, got " + String.UTF8.byteLength(body).toString());
    }
    if (!c.ok) return Configured.reject(c.error);
    // The header is the config's: the host writes the one this config names, not plugin.json's.
    return Configured.ok(new DenyHandler(header.toLowerCase(), values, status, body)).readingHeaders([header]);
  }
}

register(new DenyFactory());
