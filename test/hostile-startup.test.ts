// A careless operator's start-up (issue 18 item 7): every fatal start-up error makes `switchyard run` exit
// non-zero with one clear line naming what is wrong, and leaves nothing listening. The real CLI
// (bin/switchyard.js run, compiled dist/) is spawned on real config files in a temp folder; a missing token file
// once left it proxying with no admin API, never exiting. Then the same in process: SwitchyardHost.start()
// rejects and has closed the listener it had opened.

import { spawn } from "node:child_process";
import { mkdtemp, mkdir, rm, writeFile } from "node:fs/promises";
import { createServer, connect, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseConfig } from "../host/config/index.js";
import { SwitchyardHost } from "../host/server/host.js";
import { memoryLog } from "./helpers/memory-log.js";
import { anyHost, mosnConfig, REPO } from "./helpers/switchyard.js";
import { refusingAddress } from "./helpers/upstreams.js";

let root: string;
let held: Server;
let heldPort: number;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "switchyard-startup-"));
  // A port in use, for the cases that need one.
  held = createServer();
  await new Promise<void>((r) => held.listen(0, "127.0.0.1", () => r()));
  heldPort = (held.address() as { port: number }).port;
});

afterAll(async () => {
  await new Promise<void>((r) => held.close(() => r()));
  await rm(root, { recursive: true, force: true });
});

const portOf = (address: string) => Number(address.split(":")[1]);

/** A config with one listener and the admin API on the given ports (a direct response, no upstream). */
function config(opts: { listen: number; admin: number; switchyard?: object }): object {
  const c = mosnConfig({ clusters: [{ name: "c", hosts: ["127.0.0.1:1"] }], virtualHosts: [anyHost([{ match: { prefix: "/" }, direct_response: { status: 200, body: "ok\n" } }])] }) as Record<string, unknown> & { servers: [{ listeners: [{ address: string }] }] };
  c.servers[0].listeners[0].address = `127.0.0.1:${opts.listen}`;
  c.admin = { address: `127.0.0.1:${opts.admin}` };
  if (opts.switchyard) c.switchyard = opts.switchyard;
  return c;
}

/** Spawns `switchyard run --config <file>` and waits (at most 30 s, then kills it) for it to exit. */
function run(file: string): Promise<{ exit: number | string; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [join(REPO, "bin/switchyard.js"), "run", "--config", file], { cwd: root, env: { ...process.env, SWITCHYARD_ADMIN_TOKEN: "" }, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (c: string) => (stdout += c));
    child.stderr.setEncoding("utf8").on("data", (c: string) => (stderr += c));
    const timer = setTimeout(() => child.kill("SIGKILL"), 30_000);
    child.on("exit", (code, signal) => {
      clearTimeout(timer);
      resolve({ exit: code ?? `killed by ${signal} after 30 s: still running`, stdout, stderr });
    });
  });
}

/** Whether something accepts connections on 127.0.0.1:port. */
function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(port, "127.0.0.1");
    s.once("connect", () => {
      s.destroy();
      resolve(true);
    });
    s.once("error", () => resolve(false));
  });
}

describe("switchyard run: a fatal start-up error exits 1 with one clear line", () => {
  const cases: { what: string; setup: (dir: string, listen: number, admin: number) => Promise<object | string>; stderr: RegExp; listened?: boolean; lines?: number }[] = [
    {
      what: "admin_token_file names a file that does not exist",
      setup: async (dir, listen, admin) => config({ listen, admin, switchyard: { admin_token_file: join(dir, "no-such-token") } }),
      stderr: /^switchyard run: E_ADMIN_TOKEN_FILE: switchyard\.admin_token_file ".*no-such-token" cannot be read: it does not exist$/,
    },
    {
      what: "admin_token_file names an empty file",
      setup: async (dir, listen, admin) => {
        await writeFile(join(dir, "token"), "\n  \n");
        return config({ listen, admin, switchyard: { admin_token_file: join(dir, "token") } });
      },
      stderr: /^switchyard run: E_ADMIN_TOKEN_FILE: .*token" cannot be read: it is empty$/,
    },
    {
      what: "admin_token_file names a folder",
      setup: async (dir, listen, admin) => config({ listen, admin, switchyard: { admin_token_file: dir } }),
      stderr: /^switchyard run: E_ADMIN_TOKEN_FILE: .* cannot be read: it is a folder$/,
    },
    {
      what: "the admin address's port is in use (the listener had already started)",
      setup: async (_dir, listen) => config({ listen, admin: heldPort }),
      stderr: /^switchyard run: E_LISTEN: admin API \(admin\.address\): cannot listen on 127\.0\.0\.1:\d+: the port is in use$/,
      listened: true,
    },
    {
      what: "the listener's port is in use",
      setup: async (_dir, _listen, admin) => config({ listen: heldPort, admin }),
      stderr: /^switchyard run: E_LISTEN: listener main: cannot listen on 127\.0\.0\.1:\d+: the port is in use$/,
    },
    {
      what: "plugins_dir names a file",
      setup: async (dir, listen, admin) => {
        await writeFile(join(dir, "plugins"), "not a folder");
        return config({ listen, admin, switchyard: { plugins_dir: join(dir, "plugins") } });
      },
      stderr: /^switchyard run: E_PLUGINS_DIR: plugins folder ".*plugins" cannot be read: it is not a folder$/,
    },
    {
      what: "the config is not valid",
      setup: async (_dir, listen, admin) => JSON.stringify(config({ listen, admin })).replace('"LB_ROUNDROBIN"', '"LB_NOPE"'),
      stderr: /^switchyard run: E_CONFIG_INVALID: .*config\.json: 1 problem in config$/,
      lines: 2, // then the problem, with its JSON path
    },
  ];

  it.each(cases)("$what", async ({ what, setup, stderr, listened, lines: count }) => {
    const dir = await mkdtemp(join(root, "case-"));
    const listen = portOf(await refusingAddress());
    const admin = portOf(await refusingAddress());
    const c = await setup(dir, listen, admin);
    await writeFile(join(dir, "config.json"), typeof c === "string" ? c : JSON.stringify(c));
    const r = await run(join(dir, "config.json"));
    expect({ what, exit: r.exit }).toEqual({ what, exit: 1 });
    const lines = r.stderr.trim().split("\n");
    expect(lines).toHaveLength(count ?? 1);
    expect(lines[0]).toMatch(stderr);
    // The listener is up in the case where it starts before the failure; never after the exit.
    expect(r.stdout.includes('"msg":"listener started"')).toBe(listened === true);
    expect(r.stdout).not.toContain('"msg":"admin API started"');
    expect(await listening(listen)).toBe(false);
  }, 60_000);
});

describe("SwitchyardHost.start() that fails", () => {
  it("rejects and has closed the listener it opened: the admin port in use", async () => {
    const listen = portOf(await refusingAddress());
    const logs: Record<string, unknown>[] = [];
    const { config: cfg } = parseConfig(JSON.stringify(config({ listen, admin: heldPort })), "startup.json");
    const host = new SwitchyardHost({ config: cfg, logger: pino({ level: "info" }, memoryLog(logs)), stateDir: join(root, "state"), env: {}, watch: false });
    const err = await host.start().then(() => null, (e: unknown) => e);
    expect(err).toMatchObject({ code: "E_LISTEN", message: expect.stringContaining(`admin API (admin.address): cannot listen on 127.0.0.1:${heldPort}: the port is in use`) });
    // It had listened: the failure came after the listener, which is closed again.
    expect(logs.some((l) => l.msg === "listener started")).toBe(true);
    expect(await listening(listen)).toBe(false);
  });

  it("a token file that cannot be read stops it before anything listens", async () => {
    const listen = portOf(await refusingAddress());
    const admin = portOf(await refusingAddress());
    const dir = await mkdtemp(join(root, "token-"));
    await mkdir(join(dir, "sub"));
    const logs: Record<string, unknown>[] = [];
    const { config: cfg } = parseConfig(JSON.stringify(config({ listen, admin, switchyard: { admin_token_file: join(dir, "missing") } })), "startup.json");
    const host = new SwitchyardHost({ config: cfg, logger: pino({ level: "info" }, memoryLog(logs)), env: {}, watch: false });
    await expect(host.start()).rejects.toMatchObject({ code: "E_ADMIN_TOKEN_FILE" });
    expect(logs.some((l) => l.msg === "listener started")).toBe(false);
    expect(await listening(listen)).toBe(false);
    expect(await listening(admin)).toBe(false);
  });
});

describe("an admin address beyond loopback", () => {
  it("switchyard check warns about 0.0.0.0 and ::, louder without a token; loopback is quiet", async () => {
    const { run: check } = await import("../host/cli/check.js");
    const said = async (address: string, switchyard?: object) => {
      const c = config({ listen: 0, admin: 0, ...(switchyard ? { switchyard } : {}) }) as Record<string, unknown>;
      c.admin = { address };
      const file = join(await mkdtemp(join(root, "check-")), "c.json");
      await writeFile(file, JSON.stringify(c));
      const out: string[] = [];
      const saved = process.env.SWITCHYARD_ADMIN_TOKEN;
      delete process.env.SWITCHYARD_ADMIN_TOKEN;
      try {
        await check([file], { out: (l) => out.push(l), err: (l) => out.push(l) });
      } finally {
        if (saved !== undefined) process.env.SWITCHYARD_ADMIN_TOKEN = saved;
      }
      return out.filter((l) => l.startsWith("warning: admin.address"));
    };
    expect(await said("0.0.0.0:9901")).toEqual([expect.stringMatching(/every interface \(0\.0\.0\.0\), beyond loopback, and NO ADMIN TOKEN is set/)]);
    expect(await said("[::]:9901", { admin_token_file: "/t" })).toEqual([expect.stringMatching(/every interface \(::\), beyond loopback: .* changes need the token/)]);
    expect(await said("127.0.0.1:9901")).toEqual([]);
  });

  it("run logs it at start, at error level without a token", async () => {
    const logs: Record<string, unknown>[] = [];
    const c = config({ listen: 0, admin: 0 }) as Record<string, unknown>;
    c.admin = { address: "0.0.0.0:0" };
    const { config: cfg } = parseConfig(JSON.stringify(c), "exposed.json");
    const host = new SwitchyardHost({ config: cfg, logger: pino({ level: "info" }, memoryLog(logs)), env: {}, watch: false });
    await host.start();
    await host.stop();
    expect(logs.filter((l) => l.event === "admin-exposed").map((l) => [l.level, l.tokenConfigured])).toEqual([[50, false]]);
  });
});

describe("cluster names: one rule for check and run", () => {
  const withCluster = (name: string) => {
    const c = config({ listen: 0, admin: 0 }) as { cluster_manager: { clusters: { name: string }[] }; servers: [{ routers: [{ virtual_hosts: [{ routers: object[] }] }] }] };
    c.cluster_manager.clusters[0]!.name = name;
    c.servers[0].routers[0].virtual_hosts[0].routers = [{ match: { prefix: "/" }, route: { cluster_name: name } }];
    return c;
  };
  const checkOf = async (c: object) => {
    const { run: check } = await import("../host/cli/check.js");
    const file = join(await mkdtemp(join(root, "name-")), "c.json");
    await writeFile(file, JSON.stringify(c));
    const out: string[] = [];
    const code = await check([file], { out: (l) => out.push(l), err: (l) => out.push(l) });
    return { code, out: out.join("\n") };
  };

  it("outbound|80||svc.default: check says ok and the host starts with it", async () => {
    const c = withCluster("outbound|80||svc.default");
    expect((await checkOf(c)).code).toBe(0);
    const { config: cfg } = parseConfig(JSON.stringify(c), "istio.json");
    const host = new SwitchyardHost({ config: cfg, logger: pino({ level: "silent" }), admin: false, watch: false });
    await host.start();
    try {
      expect(host.clusterAdmin().list().map((x) => x.name)).toEqual(["outbound|80||svc.default"]);
    } finally {
      await host.stop();
    }
  });

  it("a name with a space: check refuses it with its JSON path, as run does", async () => {
    const r = await checkOf(withCluster("svc default"));
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/cluster_manager\.clusters\[0\]\.name: expected 1\.\.255 letters/);
    expect(() => parseConfig(JSON.stringify(withCluster("svc default")), "bad.json")).toThrow(/clusters\[0\]\.name/);
  });
});
