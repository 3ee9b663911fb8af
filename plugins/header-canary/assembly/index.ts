// header-canary: requests whose header holds one of the canary values go to the hosts tagged as canary;
// the others go to the hosts not tagged as canary (or to every host, with "others": "all").
//
// config: {"header":"x-canary","values":["1","true"],"tag":"version","tagValue":"canary","others":"non-canary"}

import { ConfigReader, Configured, Handler, Hosts, register, Request, Result, RouterFactory } from "../../../sdk/assembly";
export * from "../../../sdk/assembly/abi/exports";

class CanaryHandler extends Handler {
  constructor(
    private header: string,
    private values: string[],
    private tag: string,
    private tagValue: string,
    private othersToAll: bool,
  ) {
    super();
  }

  route(request: Request, hosts: Hosts, result: Result): void {
    if (request.headerIn(this.header, this.values)) {
      // O(1): the answer names the table's group of canary hosts; none leaves the route's fallback to decide.
      result.keepTagged(this.tag, this.tagValue);
      result.setMetadata(this.tag, this.tagValue);
      return;
    }
    if (this.othersToAll) return;
    // O(1) as well: the group of the other hosts is built once per host table.
    result.dropTagged(this.tag, this.tagValue);
  }
}

class CanaryFactory extends RouterFactory {
  name(): string {
    return "header-canary";
  }

  order(): i32 {
    return 10;
  }

  configure(config: string): Configured {
    const c = ConfigReader.parse(config);
    c.allowOnly(["header", "values", "tag", "tagValue", "others"]);
    const header = c.requireString("header");
    const values = c.requireStringArray("values");
    const tag = c.optionalString("tag", "version");
    const tagValue = c.optionalString("tagValue", "canary");
    const others = c.optionalString("others", "non-canary");
    if (others != "non-canary" && others != "all") {
      c.fail("config field \"others\": expected \"non-canary\" or \"all\", got \"" + others + "\"");
    }
    if (!c.ok) return Configured.reject(c.error);
    // The header is the config's: the host writes the one this config names, not plugin.json's.
    return Configured.ok(new CanaryHandler(header.toLowerCase(), values, tag, tagValue, others == "all")).readingHeaders([header]);
  }
}

register(new CanaryFactory());
