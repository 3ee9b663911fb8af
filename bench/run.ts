// `make bench`: every benchmark of the project in one run, each printing a table with its ratios side by side.
// A benchmark reports; it never fails because this machine is slow or busy.

import { benchChain, formatChain } from "./chain.js";

const root = new URL("../../", import.meta.url).pathname;

async function main(): Promise<void> {
  const only = process.argv[2];
  const started = new Date().toISOString();
  console.log(`# Switchyard benchmarks — ${started}, node ${process.version}, ${process.arch}`);
  if (!only || only === "chain") {
    console.log("\n## Plugin chain (ns per request, median of 7 interleaved rounds)\n");
    console.log(formatChain(await benchChain(`${root}build/plugins`)));
  }
}

main().catch((err) => {
  process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
  process.exitCode = 1;
});
