// The modes of the files Switchyard writes (issue 16): state files and bundles 0644, so that a host running as
// another user and an operator's tools can read them (they were 0600); a signing key 0600, its public half 0644.
// Set whatever the umask, so the same on every machine. Real files in a temp folder, the real CLI for keygen.

import { execFile } from "node:child_process";
import { mkdtemp, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, expect, it } from "vitest";
import { writeFileAtomic } from "../host/state/atomic-file.js";
import { StateStore, stateFileName } from "../host/state/store.js";
import { REPO } from "./helpers/host-process.js";

let root: string;
const modeOf = async (f: string) => (await stat(f)).mode & 0o777;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "switchyard-modes-"));
});
afterAll(async () => rm(root, { recursive: true, force: true }));

it("writes state files 0644", async () => {
  const store = new StateStore(join(root, "state"));
  await store.savePluginConfig("deny", 1, "{}");
  await store.saveClusterHosts("svc:80", 1, []);
  expect(await modeOf(join(root, "state", "plugins", "deny.json"))).toBe(0o644);
  expect(await modeOf(join(root, "state", "clusters", `${stateFileName("svc:80")}.json`))).toBe(0o644);
});

it("writes bundle files 0644 (switchyard build's writer), and a private file with the mode asked", async () => {
  await writeFileAtomic(join(root, "bundle", "plugin.wasm"), new Uint8Array([0, 97, 115, 109]));
  expect(await modeOf(join(root, "bundle", "plugin.wasm"))).toBe(0o644);
  await writeFileAtomic(join(root, "private.txt"), "secret", 0o600);
  expect(await modeOf(join(root, "private.txt"))).toBe(0o600);
});

it("keygen writes the private key 0600 and the public key 0644", async () => {
  await promisify(execFile)(process.execPath, [join(REPO, "bin/switchyard.js"), "keygen", "--out", join(root, "signing")], { cwd: root, env: { ...process.env } });
  expect(await modeOf(join(root, "signing.key"))).toBe(0o600);
  expect(await modeOf(join(root, "signing.pub"))).toBe(0o644);
});
