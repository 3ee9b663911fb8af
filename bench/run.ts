// `make bench`: every benchmark of the project in one run, each printing a table with its ratios side by side.
// A benchmark reports; it never fails because this machine is slow or busy.

import { benchChain, formatChain } from "./chain.js";
import { benchLoop, formatLoop } from "./loop.js";
import { benchE2E, benchE2EScale, formatE2E, formatE2EScale } from "./e2e/e2e.js";
import { benchH2, formatH2 } from "./h2/h2.js";
import { benchRss, formatRss } from "./rss.js";
import { benchExamplePlugins, benchSandbox, formatRows } from "./sandbox.js";
import { tuneEngine } from "../host/server/engine.js";
import { benchFleet, formatFleet } from "./fleet.js";
import { benchComponents, formatComponents } from "./components.js";

const root = new URL("../../", import.meta.url).pathname;

async function main(): Promise<void> {
  // The engine settings of a host (wasm tiered up in the background), so that the in-process sections
  // measure plugin code as `switchyard run` runs it.
  tuneEngine();
  const only = process.argv[2];
  const started = new Date().toISOString();
  console.log(`# Switchyard benchmarks — ${started}, node ${process.version}, ${process.arch}`);
  if (!only || only === "chain") {
    console.log("\n## Plugin chain (ns per request, median of 7 interleaved rounds)\n");
    console.log(formatChain(await benchChain(`${root}build/plugins`)));
  }
  if (!only || only === "components") {
    console.log("\n## Component plugins vs raw, sandboxed, 10 headers (ns per request, median of 5 interleaved rounds; issue 12, bench/components.ts)\n");
    await benchComponents(root).then(
      (r) => console.log(formatComponents(r)),
      (err: Error) => console.log(`components bench not run: ${err.message}`),
    );
  }
  if (!only || only === "sandbox") {
    console.log("\n## CPU budget (fuel metering): instrumented vs not, median of rounds (issue 5)\n");
    console.log(formatRows([...(await benchSandbox()), ...(await benchExamplePlugins(`${root}build/plugins`))]));
  }
  if (!only || only === "loop") {
    console.log("\n## An infinite-loop plugin under concurrent load: event loop delay and latency (settings: bench/loop.ts)\n");
    await benchLoop(root).then(
      (r) => console.log(formatLoop(r)),
      (err: Error) => console.log(`loop bench not run: ${err.message}`),
    );
  }
  if (!only || only === "fleet") {
    console.log("\n## Fleet: one etcd write to every `switchyard run --source` process, write answered → status applied (issue 14; settings: bench/fleet.ts)\n");
    await benchFleet().then(
      (r) => console.log(formatFleet(r)),
      (err: Error) => console.log(`fleet bench not run: ${err.message}`),
    );
  }
  if (!only || only === "e2e") {
    console.log("\n## End to end on loopback (issue 6; settings: bench/e2e/e2e.ts, results: docs/performance.md)\n");
    // A section that cannot run (no build, ports taken) says why and leaves the other sections be.
    await benchE2E(root).then(
      (r) => console.log(formatE2E(r)),
      (err: Error) => console.log(`end-to-end bench not run: ${err.message}`),
    );
  }
  if (!only || only === "h2") {
    console.log("\n## HTTP/2 on loopback: each protocol path against node:http2 floors, nginx and HAProxy (issue 15; settings: bench/h2/h2.ts)\n");
    await benchH2(root).then(
      (r) => console.log(formatH2(r)),
      (err: Error) => console.log(`HTTP/2 bench not run: ${err.message}`),
    );
  }
  if (!only || only === "rss") {
    console.log("\n## RSS over many requests, ten plugins loaded, a large cluster (issue 6; settings: bench/rss.ts)\n");
    await benchRss(root).then(
      (r) => console.log(formatRss(r)),
      (err: Error) => console.log(`rss bench not run: ${err.message}`),
    );
  }
  // Only when asked by name: its grid of cells takes several times the e2e section's time.
  if (only === "e2e-scale") {
    console.log("\n## End to end, growth with host and header count (issue 6; settings: bench/e2e/e2e.ts)\n");
    await benchE2EScale(root).then(
      (r) => console.log(formatE2EScale(r)),
      (err: Error) => console.log(`end-to-end scale bench not run: ${err.message}`),
    );
  }
}

main().catch((err) => {
  process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
  process.exitCode = 1;
});
