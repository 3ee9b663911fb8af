// version-split: a sticky percentage split between two versions. A user whose header value hashes
// (FNV-1a 32 of its UTF-8 bytes, mod 100) below `percent` goes to hosts tagged tag=to, every other
// request (including one without the header) to tag=from. The same user always lands on the same side.
// When no offered host carries the chosen version (an earlier plugin of the chain already chose, say the
// canary), the plugin leaves the offer as it is rather than emptying it.
//
// config: {"header":"x-user","percent":20,"tag":"version","from":"v1","to":"v2"}

import { ConfigReader, Configured, Handler, Hosts, register, Request, Result, RouterFactory } from "../../../sdk/assembly";
export * from "../../../sdk/assembly/abi/exports";

class SplitHandler extends Handler {
  constructor(
    private header: string,
    private percent: u32,
    private tag: string,
    private from: string,
    private to: string,
  ) {
    super();
  }

  route(request: Request, hosts: Hosts, result: Result): void {
    // headerHash is fnv1a32 of the header's bytes, without making a string; -1 without the header.
    const hash = request.headerHash(this.header);
    const version = hash >= 0 && <u32>hash % 100 < this.percent ? this.to : this.from;
    if (hosts.countWithTag(this.tag, version) == 0) return; // O(1) on the whole table, cached per offer
    result.keepTagged(this.tag, version);
    result.setMetadata(this.tag, version);
  }
}

class SplitFactory extends RouterFactory {
  name(): string {
    return "version-split";
  }

  order(): i32 {
    return 30;
  }

  configure(config: string): Configured {
    const c = ConfigReader.parse(config);
    c.allowOnly(["header", "percent", "tag", "from", "to"]);
    const header = c.requireString("header");
    const percent = c.requireInt("percent", 0, 100);
    const tag = c.optionalString("tag", "version");
    const from = c.requireString("from");
    const to = c.requireString("to");
    if (c.ok && from == to) c.fail("config fields \"from\" and \"to\": expected two different versions, both are \"" + from + "\"");
    if (!c.ok) return Configured.reject(c.error);
    // The header is the config's: the host writes the one this config names, not plugin.json's.
    return Configured.ok(new SplitHandler(header.toLowerCase(), <u32>percent, tag, from, to)).readingHeaders([header]);
  }
}

register(new SplitFactory());
