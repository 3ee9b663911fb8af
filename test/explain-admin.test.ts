// `switchyard explain --admin URL` asks a running host (issue 16): the real CLI (bin/switchyard.js, dist/) against
// a host in this process with its admin API on a socket. A host list pushed to the host (not in the config file)
// shows in the answer, so it is the host's state that decided; a wrong token is exit 1 with the admin's code;
// `help` documents --state, --plugins, --json, --method and --admin.

import { execFile } from "node:child_process";
import { promisify } from "node:util";
import pino from "pino";
import { request } from "undici";
import { afterAll, beforeAll, expect, it } from "vitest";
import { parseConfig } from "../host/config/index.js";
import { SwitchyardHost } from "../host/server/host.js";
import { REPO } from "./helpers/host-process.js";
import { anyHost, mosnConfig } from "./helpers/switchyard.js";

const TOKEN = "explain-token";
let host: SwitchyardHost;
let admin: string;
const cli = (args: string[]) => promisify(execFile)(process.execPath, [`${REPO}bin/switchyard.js`, ...args], { cwd: REPO }).then((r) => ({ code: 0, ...r }), (e: { code: number; stdout: string; stderr: string }) => e);

beforeAll(async () => {
  const cfg = mosnConfig({ clusters: [{ name: "c", hosts: ["127.0.0.1:1"] }], virtualHosts: [anyHost([{ name: "everything", match: { prefix: "/" }, route: { cluster_name: "c" } }])] }) as Record<string, unknown>;
  cfg.admin = { address: "127.0.0.1:0" };
  const { config } = parseConfig(JSON.stringify(cfg), "explain-admin.json");
  host = new SwitchyardHost({ config, logger: pino({ level: "silent" }), env: { SWITCHYARD_ADMIN_TOKEN: TOKEN } });
  await host.start();
  admin = `http://127.0.0.1:${host.adminAddress!.port}`;
  // Three hosts now, where the file has one.
  const res = await request(`${admin}/clusters/c/hosts`, { method: "PUT", headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" }, body: JSON.stringify([{ address: "127.0.0.1:2" }, { address: "127.0.0.1:3" }, { address: "127.0.0.1:4" }]) });
  expect(res.statusCode).toBe(200);
  await res.body.text();
});

afterAll(async () => host?.stop());

it("asks the running host, whose pushed host list decides", async () => {
  const r = await cli(["explain", "--admin", admin, "--token", TOKEN, "--method", "POST", "--path", "/x", "--json"]);
  expect(r.code).toBe(0);
  expect(JSON.parse(r.stdout)).toMatchObject({ request: { method: "POST", path: "/x" }, route: "everything", cluster: "c", clusterHosts: 3 });
  const text = await cli(["explain", "--admin", admin, "--token", TOKEN]);
  expect(text.stdout).toMatch(/cluster\s+c \(3 hosts\)/);
});

it("says what the admin API refused, with exit 1", async () => {
  const r = await cli(["explain", "--admin", admin, "--token", "wrong"]);
  expect(r.code).toBe(1);
  expect(r.stderr).toMatch(/answered 401: E_ADMIN_UNAUTHORIZED/);
});

it("help documents explain's --state, --plugins, --json, --method and --admin", async () => {
  const r = await cli(["help"]);
  const explainHelp = r.stdout.slice(r.stdout.indexOf("  explain"), r.stdout.indexOf("  schema"));
  for (const flag of ["--state", "--plugins", "--json", "--method", "--admin", "--config", "--header", "--path"]) expect(explainHelp).toContain(flag);
});
