// zone-affinity: keep the hosts whose zone tag equals the request's zone header, as long as at least
// minHealthy of them are healthy; otherwise (or without the header) keep every host offered.
//
// config: {"header":"x-zone","minHealthy":2,"tag":"zone"}

import { ConfigReader, Configured, Handler, Hosts, register, Request, Result, RouterFactory } from "../../../sdk/assembly";
export * from "../../../sdk/assembly/abi/exports";

class ZoneHandler extends Handler {
  constructor(
    private header: string,
    private minHealthy: i32,
    private tag: string,
  ) {
    super();
  }

  route(request: Request, hosts: Hosts, result: Result): void {
    const zone = request.header(this.header);
    if (zone === null || zone.length == 0) return;
    // Too few healthy hosts in the zone would overload them: spill over to every zone instead.
    if (hosts.countWithTag(this.tag, zone, true) < this.minHealthy) return;
    result.keepTagged(this.tag, zone);
  }
}

class ZoneFactory extends RouterFactory {
  name(): string {
    return "zone-affinity";
  }

  order(): i32 {
    return 20;
  }

  configure(config: string): Configured {
    const c = ConfigReader.parse(config);
    c.allowOnly(["header", "minHealthy", "tag"]);
    const header = c.requireString("header");
    const minHealthy = c.optionalInt("minHealthy", 1, 1, 65536);
    const tag = c.optionalString("tag", "zone");
    if (!c.ok) return Configured.reject(c.error);
    // The header is the config's: the host writes the one this config names, not plugin.json's.
    return Configured.ok(new ZoneHandler(header.toLowerCase(), minHealthy, tag)).readingHeaders([header]);
  }
}

register(new ZoneFactory());
