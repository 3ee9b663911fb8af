// Everything a forwarder test needs, wired from real parts: upstream servers, hosts with a round-robin
// picker, a pool registry, a Forwarder logging to memory, and a front server that forwards every request.

import pino from "pino";
import type { ForwardOutcome } from "../../host/proxy/access-log.js";
import { Forwarder } from "../../host/proxy/forward.js";
import { compileForwardPolicy, type ForwardPolicy, type ForwardPolicySpec, type HostPicker } from "../../host/proxy/policy.js";
import { PoolRegistry, type PoolRegistryOptions } from "../../host/proxy/pools.js";
import { TEST_UPSTREAM_CLIENT } from "./codec.js";
import { type FrontServer, startFront } from "./front.js";
import { RoundRobinPicker, TestHost } from "./hosts.js";
import { memoryLog } from "./memory-log.js";
import { fixtureChanges } from "./changes.js";

export interface Harness {
  readonly front: FrontServer;
  readonly pools: PoolRegistry;
  readonly hosts: TestHost[];
  readonly picker: RoundRobinPicker;
  /** Changed by tests between requests. */
  policy: ForwardPolicy;
  /** Parsed access-log lines, in order. */
  readonly logs: Record<string, unknown>[];
  /** Outcomes resolved by forward(), in order of completion. */
  readonly outcomes: ForwardOutcome[];
  close(): Promise<void>;
}

export async function startHarness(
  addresses: readonly string[],
  spec: ForwardPolicySpec = { timeoutMs: 5_000 },
  poolOptions: PoolRegistryOptions = {},
  picker?: (hosts: TestHost[]) => HostPicker,
): Promise<Harness> {
  const logs: Record<string, unknown>[] = [];
  const sink = memoryLog(logs);
  const logger = pino({ level: "info" }, sink);
  const pools = new PoolRegistry({ client: TEST_UPSTREAM_CLIENT, ...poolOptions });
  const forwarder = new Forwarder({ pools, logger });
  const hosts = addresses.map((a) => new TestHost(a));
  const rr = new RoundRobinPicker(hosts);
  const chosen = picker?.(hosts) ?? rr;
  const outcomes: ForwardOutcome[] = [];
  const h: Harness = {
    front: undefined as unknown as FrontServer,
    pools,
    hosts,
    picker: rr,
    policy: compileForwardPolicy(spec),
    logs,
    outcomes,
    async close() {
      await h.front.close();
      await pools.close();
    },
  };
  (h as { front: FrontServer }).front = await startFront((req, res) => {
    void forwarder.forward(req, res, h.policy, chosen, { route: "test" }).then((o) => {
      outcomes.push(o);
      fixtureChanges.notify();
    });
  });
  return h;
}
