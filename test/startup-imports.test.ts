// What a host loads at start-up: the packages only some hosts need are loaded when they are used, not with
// every host. Imported, etcd3 (and the gRPC client under it) costs a node process ~12 MiB of RSS, jco ~15 MiB
// and binaryen ~75 MiB (node 20 on this machine), and none of it is given back. A module resolve hook in the
// child process records every package the host's modules ask for, so the test names what was loaded.

import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";

const dir = mkdtempSync(join(tmpdir(), "sy-imports-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// Runs in the loader's own thread (module.register): it appends each bare specifier asked for to a file.
writeFileSync(
  join(dir, "hook.mjs"),
  `import { appendFileSync } from "node:fs";
   export async function resolve(spec, ctx, next) {
     if (!/^(\\.|\\/|node:|file:|data:)/.test(spec)) appendFileSync(process.env.SY_IMPORTS_LOG, spec + "\\n");
     return next(spec, ctx);
   }`,
);
writeFileSync(join(dir, "register.mjs"), `import { register } from "node:module"; register("./hook.mjs", import.meta.url);`);

/** The packages (bare specifiers, first path part) asked for while `script` ran in a node process. */
function packagesAskedFor(name: string, script: string): Set<string> {
  const log = join(dir, `${name}.log`);
  writeFileSync(log, "");
  execFileSync(process.execPath, ["--import", join(dir, "register.mjs"), "--input-type=module", "-e", script], {
    encoding: "utf8",
    timeout: 60_000,
    env: { ...process.env, SY_IMPORTS_LOG: log },
  });
  const specs = readFileSync(log, "utf8").split("\n").filter(Boolean);
  return new Set(specs.map((s) => (s.startsWith("@") ? s.split("/").slice(0, 2).join("/") : s.split("/")[0]!)));
}

describe("start-up imports", () => {
  it("`switchyard run` with a sandboxed bundle loads neither etcd3, jco, binaryen nor assemblyscript", () => {
    const asked = packagesAskedFor(
      "run",
      `await import("./dist/host/cli/run.js");
       const { loadBundle } = await import("./dist/host/plugin/bundle.js");
       const { sandboxOptions } = await import("./dist/host/sandbox/options.js");
       await loadBundle("build/plugins/header-canary", { transform: sandboxOptions().transform });`,
    );
    // The hook sees the host's packages: without these the test would prove nothing.
    expect(asked).toContain("undici");
    expect(asked).toContain("pino");
    for (const lazy of ["etcd3", "@grpc/grpc-js", "@bytecodealliance/jco", "binaryen", "assemblyscript"]) expect(asked).not.toContain(lazy);
  });

  it("jco is loaded with the first component bundle", () => {
    const asked = packagesAskedFor(
      "component",
      `const { loadBundle } = await import("./dist/host/plugin/bundle.js");
       await loadBundle("build/component-plugins/header-canary");`,
    );
    expect(asked).toContain("@bytecodealliance/jco");
  });

  it("etcd3 is loaded with a --source", () => {
    const asked = packagesAskedFor("source", `await import("./dist/host/fleet/etcd-source.js");`);
    expect(asked).toContain("etcd3");
  });
});
