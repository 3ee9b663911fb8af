// Signed bundles (host/plugin/signature.ts): `switchyard keygen` and `switchyard sign` make a signature.json a
// host that trusts the key accepts; an unsigned bundle where one is required (E_BUNDLE_UNSIGNED), one signed by
// a key the host does not trust (E_BUNDLE_UNTRUSTED), and one changed after signing (E_BUNDLE_SIGNATURE) are
// refused. In a running host the refused upgrade leaves the signed version serving.

import { execFile } from "node:child_process";
import { cp, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadBundle } from "../host/plugin/bundle.js";
import { loadSignaturePolicy, type SignaturePolicy } from "../host/plugin/signature.js";
import { canaryVariant, get, hostConfig, replaceFile, spawnHost, type HostProcess } from "./helpers/host-process.js";
import { REPO } from "./fixtures/bundles.js";
import { startUpstream, type Upstream } from "./helpers/upstreams.js";

const run = promisify(execFile);
const cli = (...args: string[]) => run(process.execPath, [join(REPO, "bin/switchyard.js"), ...args], { cwd: root });
let root: string;
let policy: SignaturePolicy;
const DENY = join(REPO, "build/plugins/deny");

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "switchyard-sign-"));
  const k = await cli("keygen", "--out", join(root, "team"));
  expect(k.stdout).toMatch(/^key [0-9a-f]{16}: private .*team\.key \(keep it secret\), public .*team\.pub/);
  await cli("keygen", "--out", join(root, "stranger"));
  policy = loadSignaturePolicy({ trustedKeys: [join(root, "team.pub")], required: true })!;
}, 60_000);

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

async function copyOfDeny(name: string): Promise<string> {
  const dir = join(root, name);
  await cp(DENY, dir, { recursive: true });
  return dir;
}

describe("switchyard keygen / sign and the bundle check", () => {
  it("a bundle signed by a trusted key loads; keygen never overwrites a key", async () => {
    const dir = await copyOfDeny("signed");
    const s = await cli("sign", dir, "--key", join(root, "team.key"));
    expect(s.stdout).toMatch(/^signed deny@1\.0\.0 with key [0-9a-f]{16} into .*signature\.json\n$/);
    expect((await loadBundle(dir, { signatures: policy })).metadata.name).toBe("deny");
    await expect(cli("keygen", "--out", join(root, "team"))).rejects.toMatchObject({ code: 1, stderr: expect.stringMatching(/EEXIST/) });
  });

  it("unsigned where a signature is required is E_BUNDLE_UNSIGNED; accepted where it is not", async () => {
    const dir = await copyOfDeny("unsigned");
    await expect(loadBundle(dir, { signatures: policy })).rejects.toMatchObject({ code: "E_BUNDLE_UNSIGNED", message: expect.stringContaining("requires signed bundles") });
    const optional = loadSignaturePolicy({ trustedKeys: [join(root, "team.pub")], required: false })!;
    expect((await loadBundle(dir, { signatures: optional })).metadata.name).toBe("deny");
  });

  it("signed by a key the host does not trust is E_BUNDLE_UNTRUSTED, even where signatures are optional", async () => {
    const dir = await copyOfDeny("stranger");
    await cli("sign", dir, "--key", join(root, "stranger.key"));
    await expect(loadBundle(dir, { signatures: policy })).rejects.toMatchObject({ code: "E_BUNDLE_UNTRUSTED", message: expect.stringMatching(/signed by key [0-9a-f]{16}, which is not among the 1 trusted keys/) });
    const optional = loadSignaturePolicy({ trustedKeys: [join(root, "team.pub")], required: false })!;
    await expect(loadBundle(dir, { signatures: optional })).rejects.toMatchObject({ code: "E_BUNDLE_UNTRUSTED" });
  });

  it("metadata or wasm changed after signing is E_BUNDLE_SIGNATURE", async () => {
    const dir = await copyOfDeny("tampered-meta");
    await cli("sign", dir, "--key", join(root, "team.key"));
    const meta = JSON.parse(await readFile(join(dir, "metadata.json"), "utf8")) as Record<string, unknown>;
    meta.failurePolicy = "closed";
    await writeFile(join(dir, "metadata.json"), JSON.stringify(meta));
    await expect(loadBundle(dir, { signatures: policy })).rejects.toMatchObject({ code: "E_BUNDLE_SIGNATURE", message: expect.stringContaining("changed after it was signed") });

    // Another wasm, with metadata.json's sha256 set to match: it passes the sha256 check, not the signature.
    const wasmDir = await copyOfDeny("tampered-wasm");
    await cli("sign", wasmDir, "--key", join(root, "team.key"));
    const drain = JSON.parse(await readFile(join(REPO, "build/plugins/drain/metadata.json"), "utf8")) as { sha256: string };
    const m = JSON.parse(await readFile(join(wasmDir, "metadata.json"), "utf8")) as Record<string, unknown>;
    m.sha256 = drain.sha256;
    await cp(join(REPO, "build/plugins/drain/plugin.wasm"), join(wasmDir, "plugin.wasm"));
    await writeFile(join(wasmDir, "metadata.json"), JSON.stringify(m));
    await expect(loadBundle(wasmDir, { signatures: policy })).rejects.toMatchObject({ code: "E_BUNDLE_SIGNATURE", message: expect.stringContaining("changed after it was signed") });
  });

  it("a malformed signature.json is E_BUNDLE_SIGNATURE naming the shape", async () => {
    const dir = await copyOfDeny("malformed");
    await writeFile(join(dir, "signature.json"), '{"keyId": 1}');
    await expect(loadBundle(dir, { signatures: policy })).rejects.toMatchObject({ code: "E_BUNDLE_SIGNATURE", message: expect.stringContaining('expected {"keyId": string, "algorithm": "ed25519"') });
  });

  it("a signature.json that is a symbolic link, or not JSON, is refused without a byte of it in the message", async () => {
    const secret = join(root, "secret-token");
    await writeFile(secret, "s3cret-admin-token");
    const linked = await copyOfDeny("linked-signature");
    await symlink(secret, join(linked, "signature.json"));
    const refusal = await loadBundle(linked, { signatures: policy }).catch((e: unknown) => e as Error & { code: string });
    expect(refusal).toMatchObject({ code: "E_BUNDLE_FILE_TYPE", message: expect.stringContaining("signature.json is a symbolic link") });
    expect(refusal.message).not.toContain("s3cret");
    const garbled = await copyOfDeny("garbled-signature");
    await writeFile(join(garbled, "signature.json"), "s3cret-admin-token");
    const bad = await loadBundle(garbled, { signatures: policy }).catch((e: unknown) => e as Error & { code: string });
    expect(bad).toMatchObject({ code: "E_BUNDLE_SIGNATURE", message: expect.stringContaining("signature.json is not JSON (18 bytes)") });
    expect(bad.message).not.toContain("s3cret");
  });

  it("a trusted key file that is not a public key is E_SIGNATURE_KEY naming the file", () => {
    expect(() => loadSignaturePolicy({ trustedKeys: [join(root, "team.key.missing")], required: true })).toThrow(/switchyard\.signatures\.trusted_keys: .*team\.key\.missing: not a readable public key/);
  });
});

describe("a host that requires signatures", () => {
  let upstreams: Upstream[] = [];
  let p: HostProcess | undefined;

  afterAll(async () => {
    if (p) {
      p.kill("SIGTERM");
      await p.exited;
    }
    await Promise.all(upstreams.map((u) => u.close()));
  });

  it("refuses an upgrade changed after signing with E_BUNDLE_SIGNATURE and keeps the signed version serving", async () => {
    upstreams = [await startUpstream("canary0"), await startUpstream("stable0")];
    const plugins = join(root, "host-plugins");
    const canary = join(plugins, "header-canary");
    await mkdir(plugins);
    await canaryVariant(canary, { version: "1.0.0", tagValue: "canary" });
    await cli("sign", canary, "--key", join(root, "team.key"));
    const configFile = join(root, "switchyard.json");
    const cfg = hostConfig({ hosts: upstreams.map((u) => ({ address: u.address, tags: { version: u.name.replace(/\d+$/, "") } })), pluginsDir: plugins }) as { switchyard: Record<string, unknown> };
    cfg.switchyard.signatures = { trusted_keys: [join(root, "team.pub")], required: true };
    await writeFile(configFile, JSON.stringify(cfg));
    p = await spawnHost({ configFile });
    const upstreamFor = async (h: Record<string, string>) => (JSON.parse((await get(`${p!.listenerUrl}/`, h)).body) as { upstream: string }).upstream;
    expect(await upstreamFor({ "x-canary": "1" })).toBe("canary0");

    // Version 2 sends canary traffic to stable hosts; its metadata.json is not what was signed.
    const meta = JSON.parse(await readFile(join(canary, "metadata.json"), "utf8")) as Record<string, unknown>;
    meta.version = "2.0.0";
    meta.defaultConfig = JSON.stringify({ header: "x-canary", values: ["1"], tag: "version", tagValue: "stable" });
    await replaceFile(join(canary, "metadata.json"), JSON.stringify(meta));
    const line = await p.waitForLog("the refusal", (l) => l.event === "refused" && l.code === "E_BUNDLE_SIGNATURE");
    expect(line.serving).toBe("header-canary");
    const listed = JSON.parse((await get(`${p.adminUrl}/plugins`)).body) as { plugins: { name: string; version?: string; state: string; code?: string }[] };
    expect(listed.plugins.map((x) => [x.name, x.state === "refused" ? x.code : x.version])).toEqual([["header-canary", "1.0.0"], ["header-canary", "E_BUNDLE_SIGNATURE"]]);
    for (let i = 0; i < 3; i++) expect(await upstreamFor({ "x-canary": "1" })).toBe("canary0");
  }, 90_000);
});
