// deny: answer requests whose header holds a denied value at once, with a fixed status and body.
// Every occurrence of a repeated header is checked, so a second copy cannot smuggle a denied value past.
//
// config: {"header":"x-client","values":["bad-bot"],"status":403,"body":"denied"}
// and optionally "grpc_status" (0..16): the gRPC status a gRPC call is answered with (Result.rejectGrpc), with
// "body" as its grpc-message; without it a gRPC call gets the code of "status" (sdk/ABI.md §5.2).

import { ConfigReader, Configured, Handler, Hosts, MAX_BODY_BYTES, register, Request, Result, RouterFactory } from "../../../sdk/assembly";
export * from "../../../sdk/assembly/abi/exports";

class DenyHandler extends Handler {
  constructor(
    private header: string,
    private values: string[],
    private status: i32,
    private body: string,
    /** -1: none given. */
    private grpcStatus: i32,
  ) {
    super();
  }

  route(request: Request, hosts: Hosts, result: Result): void {
    if (!request.hasHeader(this.header)) return;
    const seen = request.headerAll(this.header);
    for (let i = 0; i < seen.length; i++) {
      if (this.values.includes(seen[i])) {
        if (this.grpcStatus < 0) result.reject(this.status, this.body);
        else result.rejectGrpc(this.grpcStatus, this.body, this.status);
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
    c.allowOnly(["header", "values", "status", "body", "grpc_status"]);
    const header = c.requireString("header");
    const values = c.requireStringArray("values");
    const status = c.optionalInt("status", 403, 200, 599);
    const body = c.optionalString("body", "denied", true);
    const grpcStatus = c.optionalInt("grpc_status", -1, 0, 16);
    if (c.ok && String.UTF8.byteLength(body) > MAX_BODY_BYTES) {
      c.fail("config field \"body\": expected at most " + MAX_BODY_BYTES.toString() + " bytes, got " + String.UTF8.byteLength(body).toString());
    }
    if (!c.ok) return Configured.reject(c.error);
    // The header is the config's: the host writes the one this config names, not plugin.json's.
    return Configured.ok(new DenyHandler(header.toLowerCase(), values, status, body, grpcStatus)).readingHeaders([header]);
  }
}

register(new DenyFactory());
