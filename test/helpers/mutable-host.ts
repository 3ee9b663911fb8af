// The MutableHost behind a Host of a cluster snapshot, for tests that set a host's status or count its requests
// as the forwarder does (onStart / onFinish / setStatus).

import { MutableHost } from "../../host/cluster/host.js";
import type { Host } from "../../host/cluster/types.js";

export function mutableHost(host: Host): MutableHost {
  if (!(host instanceof MutableHost)) throw new TypeError(`host ${host.address} does not belong to a cluster`);
  return host;
}
