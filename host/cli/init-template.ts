// The files of a new plugin project (`switchyard init`): a tenant-pinning rule in AssemblyScript, its test
// through the harness, and the package.json, the tsconfig.json files (assembly/'s makes an editor resolve the AssemblyScript
// types; no asconfig.json, which asc would read into `switchyard build`), README and .gitignore around them. The SDK is
// imported by package name: asc resolves `<package>/sdk/assembly` from node_modules.

import { PACKAGE_NAME } from "./package-name.js";

export interface TemplateInput {
  /** The plugin's name (also the npm name of the project). */
  readonly name: string;
  /** The dependency spec of our package, e.g. "^0.1.0" or "file:../switchyard-proxy-0.1.0.tgz". */
  readonly sdk: string;
}

/** The vitest this repository tests with: the scaffold's test runs on the same major version. */
const VITEST_RANGE = "^3.2.7";

export function templateFiles({ name, sdk }: TemplateInput): Record<string, string> {
  const json = (v: unknown) => JSON.stringify(v, null, 2) + "\n";
  return {
    "package.json": json({
      name,
      version: "1.0.0",
      private: true,
      type: "module",
      scripts: {
        build: "switchyard build . --out bundle",
        test: "switchyard build . --out bundle && vitest run",
        push: `switchyard push ${name} config.json`,
      },
      devDependencies: { [PACKAGE_NAME]: sdk, vitest: VITEST_RANGE },
    }),
    "plugin.json": json({
      version: "1.0.0",
      headers: ["x-tenant"],
      defaultConfig: { header: "x-tenant", tag: "shard", shards: { acme: "s1" } },
      failurePolicy: "open",
    }),
    "config.json": json({ header: "x-tenant", tag: "shard", shards: { acme: "s1", globex: "s2" } }),
    "assembly/index.ts": `// ${name}: pins a tenant to its shard. A request whose tenant header names a tenant of the config's
// "shards" map keeps only the hosts tagged <tag>=<shard>; any other request keeps every host.

import { ConfigReader, Configured, Handler, Hosts, register, Request, Result, RouterFactory } from "${PACKAGE_NAME}/sdk/assembly";
// The ABI exports (sy_*) the host calls. Every plugin entry file has this line.
export * from "${PACKAGE_NAME}/sdk/assembly/abi/exports";

class PinHandler extends Handler {
  constructor(private header: string, private tag: string, private shards: Map<string, string>) {
    super();
  }

  route(request: Request, hosts: Hosts, result: Result): void {
    const tenant = request.header(this.header); // case-insensitive; null when absent
    if (tenant === null || !this.shards.has(tenant)) return; // no decision: every offered host is kept
    const shard = this.shards.get(tenant);
    result.keepTagged(this.tag, shard); // O(1): the answer names the table's group of those hosts
    result.setMetadata("shard", shard);
  }
}

class PinFactory extends RouterFactory {
  // lowercase [a-z0-9._-], unique among plugins
  name(): string {
    return ${JSON.stringify(name)};
  }
  // order(): i32 { return 15; } // smaller runs first (default 0); ties broken by name

  configure(config: string): Configured {
    const c = ConfigReader.parse(config);
    c.allowOnly(["header", "tag", "shards"]);
    const header = c.requireString("header").toLowerCase();
    const tag = c.optionalString("tag", "shard");
    const shards = c.requireStringMap("shards"); // {"acme": "s1", …} as a Map
    // e.g. config field "shards": required, expected an object of strings
    if (!c.ok) return Configured.reject(c.error);
    // The host writes into each request the headers this config reads, not only plugin.json's.
    return Configured.ok(new PinHandler(header, tag, shards)).readingHeaders([header]);
  }
}

register(new PinFactory());
`,
    "test/plugin.test.ts": `import { describe, expect, it } from "vitest";
import { loadBundle } from "${PACKAGE_NAME}/harness";

const hosts = [
  { address: "127.0.0.1:8081", weight: 1, tags: { shard: "s1" } },
  { address: "127.0.0.1:8082", weight: 1, tags: { shard: "s2" } },
];

describe(${JSON.stringify(name)}, () => {
  it("pins a known tenant to its shard and leaves others alone", async () => {
    // Runs in the host's sandbox, configured with plugin.json's defaultConfig (npm test builds bundle/ first).
    const p = await loadBundle("bundle");
    expect(p.route({ headers: { "x-tenant": "acme" } }, hosts)).toMatchObject({ verdict: "accept", keptAddresses: ["127.0.0.1:8081"], metadata: { shard: "s1" } });
    expect(p.route({ headers: { "x-tenant": "initech" } }, hosts).kept).toEqual([0, 1]);
    expect(p.route({}, hosts).kept).toEqual([0, 1]);
  });

  it("reads the header its config names", async () => {
    const p = await loadBundle("bundle");
    expect(p.configure('{"header":"x-org","shards":{"globex":"s2"}}')).toEqual({ ok: true });
    expect(p.headers).toEqual(["x-org"]);
    expect(p.route({ headers: { "x-org": "globex" } }, hosts).keptAddresses).toEqual(["127.0.0.1:8082"]);
  });

  it("rejects a config without shards, naming the field", async () => {
    const p = await loadBundle("bundle");
    expect(p.configure('{"header":"x-tenant"}')).toEqual({ ok: false, message: 'config field "shards": required, expected an object of strings' });
  });
});
`,
    // The harness loads each bundle into the host's sandbox (its fuel metering is added then): a second or two
    // on a busy machine, which vitest's 5 s default per test does not always leave room for on a slow runner.
    "vitest.config.ts": `// Loading a bundle into the host's sandbox takes a second or two on a busy machine: more room than vitest's 5 s.
import { defineConfig } from "vitest/config";

export default defineConfig({ test: { testTimeout: 30_000 } });
`,
    "assembly/tsconfig.json": json({ extends: "assemblyscript/std/assembly.json", include: ["./**/*.ts"] }),
    "tsconfig.json": json({ compilerOptions: { target: "ES2022", module: "NodeNext", moduleResolution: "NodeNext", strict: true, skipLibCheck: true, noEmit: true }, include: ["test/**/*.ts"] }),
    ".gitignore": "node_modules\nbundle\n",
    "README.md": `# ${name}

A router plugin for [Switchyard](https://www.npmjs.com/package/${PACKAGE_NAME}): pins a tenant (the
\`x-tenant\` header) to the hosts tagged with its shard.

\`\`\`sh
npm install
npm test            # builds bundle/ and runs test/plugin.test.ts through the harness, in the host's sandbox
npm run build       # switchyard build . --out bundle
npm run push        # sends config.json to a running host (--admin URL --token T after --)
\`\`\`

\`assembly/index.ts\` is the rule, \`plugin.json\` its version, headers and default config. To load the bundle,
copy \`bundle/\` into the host's plugins folder as \`${name}/\`.
`,
  };
}
