// `switchyard demo`: what `make run` starts. Four demo upstreams (versions v1, v1, v2, canary; zones a, b,
// a, b), the host on 127.0.0.1:8080 with the example plugins, the admin API on 127.0.0.1:9901.

import { fileURLToPath } from "node:url";
import { startDemoUpstreams } from "../demo/upstreams.js";
import { startFromArgs, waitForSignal } from "./run.js";

const root = fileURLToPath(new URL("../../../", import.meta.url));

export const DEMO_UPSTREAMS = [
  { address: "127.0.0.1:18081", version: "v1", zone: "a" },
  { address: "127.0.0.1:18082", version: "v1", zone: "b" },
  { address: "127.0.0.1:18083", version: "v2", zone: "a" },
  { address: "127.0.0.1:18084", version: "canary", zone: "b" },
] as const;

export async function run(args: string[]): Promise<number> {
  process.env.SWITCHYARD_ADMIN_TOKEN ??= "demo-token";
  const upstreams = await startDemoUpstreams(DEMO_UPSTREAMS);
  const running = await startFromArgs([
    "--config", `${root}examples/configs/demo.json`,
    "--plugins", `${root}build/plugins`,
    "--state", `${root}build/state/demo`,
    ...args,
  ]);
  process.stdout.write(`
Switchyard demo is up.
  proxy  http://127.0.0.1:8080   admin http://127.0.0.1:9901   admin token: ${process.env.SWITCHYARD_ADMIN_TOKEN}

  curl -s localhost:8080/                       # a v1 host (version-split: no x-user → v1)
  curl -s -H 'x-canary: 1' localhost:8080/      # header-canary sends you to the canary host
  curl -s -H 'x-user: victor' localhost:8080/   # version-split: a sticky 20% of users go to v2
  curl -s -H 'x-zone: a' localhost:8080/        # zone-affinity keeps zone a
  curl -s -H 'x-client: bad-bot' localhost:8080/   # deny rejects with 403
  curl -s localhost:9901/plugins                # what is loaded, versions, failures
  curl -s -X PUT -H 'Authorization: Bearer ${process.env.SWITCHYARD_ADMIN_TOKEN}' \\
       --data '{"header":"x-canary","values":["yes"]}' localhost:9901/plugins/header-canary/config

Ctrl-C stops it.
`);
  await waitForSignal({ host: running.host, stop: async () => { await running.stop(); await upstreams.close(); } });
  return 0;
}
