// The etcd source over TLS with etcd's authentication (issue 14): a real etcd (test/helpers/etcd.ts) serving
// clients TLS with a certificate of a CA made here (test/helpers/certs.ts), authentication enabled with a user
// whose role may read and write the fleet's prefix only, and a real `switchyard run --source
// etcd://…?user=sy&ca=…`. A push over TLS with the password reaches the host and is applied; a wrong password,
// a CA that did not sign etcd's certificate and a user without permission on the prefix each fail with an
// error naming what, and change nothing; the password shows in no log line and no output. A second etcd
// requires client certificates (--client-cert-auth): cert= and key= are its way in.

import { mkdir, mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readFleet } from "../host/fleet/fleet-view.js";
import { membersPrefix, pluginKey } from "../host/fleet/keys.js";
import { etcdClient } from "../host/fleet/etcd-client.js";
import { parseSource } from "../host/fleet/source-url.js";
import { makeCa, makeLeaf, type Ca, type Pem } from "./helpers/certs.js";
import { freePort, startEtcd, stopFleet, untilFleet, type EtcdProcess } from "./helpers/etcd.js";
import { canaryHostFiles, cli, get, spawnHost, type HostProcess } from "./helpers/host-process.js";
import { startUpstream, type Upstream } from "./helpers/upstreams.js";

const PREFIX = "/secure";
const PASSWORD = "s3cret-Pa55word";
const WRONG = "wr0ng-Pa55word";
const ROOT_PASSWORD = "r00t-Pa55word";
const asSy = { SWITCHYARD_ETCD_PASSWORD: PASSWORD };

let root: string;
let ca: Ca;
let stranger: Ca;
let client: Pem;
let etcd: EtcdProcess;
let certEtcd: EtcdProcess;
let upstreams: Upstream[];
const hosts = new Map<string, HostProcess>();
/** Everything the CLI printed in this file, checked for the passwords at the end. */
const printed: string[] = [];

/** The source URL for `user` with the CA `caFile` (the test CA unless told), and `extra` options. */
const source = (user: string | null, caFile = ca.certFile, extra = "") => etcd.url(PREFIX, [user === null ? "" : `user=${user}`, `ca=${caFile}`, extra].filter((x) => x !== "").join("&"));

async function run(args: readonly string[], env: Record<string, string>, stdin = ""): Promise<{ code: number; stdout: string; stderr: string }> {
  const r = await cli(args, stdin, env);
  printed.push(r.stdout, r.stderr);
  return r;
}

/**
 * stderr without Node's DEP0123 warning: @grpc/grpc-js sets the TLS server name to the endpoint even when it is
 * an IP address (127.0.0.1 here), and Node warns about that once per process.
 */
const errorLines = (stderr: string) => stderr.split("\n").filter((l) => l !== "" && !/DEP0123|node --trace-deprecation/.test(l));

const config = (tagValue: string) => JSON.stringify({ header: "x-canary", values: ["1"], tag: "version", tagValue });

async function answer(id: string): Promise<string> {
  const r = await get(`${hosts.get(id)!.listenerUrl}/x`, { "x-canary": "1" });
  return r.status === 200 ? (JSON.parse(r.body) as { upstream: string }).upstream : `${r.status}`;
}

/** The plugin key's mod revision and value as root sees them (0 and "" when it does not exist). */
async function pluginKeyNow(): Promise<{ revision: number; value: string }> {
  const c = etcdClient(parseSource(etcd.url(PREFIX, `user=root&ca=${ca.certFile}`)), { SWITCHYARD_ETCD_PASSWORD: ROOT_PASSWORD });
  try {
    const r = await c.get(pluginKey(PREFIX, "header-canary")).exec();
    const kv = r.kvs[0];
    return kv === undefined ? { revision: 0, value: "" } : { revision: Number(kv.mod_revision), value: kv.value.toString() };
  } finally {
    c.close();
  }
}

async function startHost(id: string, src: string, env: Record<string, string>): Promise<HostProcess> {
  const p = await spawnHost({ configFile: await canaryHostFiles(root, id, upstreams), args: ["--source", src, "--host-id", id], env });
  hosts.set(id, p);
  return p;
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "switchyard-fleet-secure-"));
  await mkdir(join(root, "stranger"));
  ca = await makeCa(root, "etcd-ca");
  stranger = await makeCa(join(root, "stranger"), "stranger-ca");
  const server = await makeLeaf(ca, "etcd-server", ["127.0.0.1"]);
  client = await makeLeaf(ca, "etcd-client", ["switchyard-client"], { clientAuth: true });
  etcd = await startEtcd(join(root, "etcd"), { tls: { certFile: server.certFile, keyFile: server.keyFile } });

  // etcd's authentication as an operator sets it up (etcdctl user add / role grant-permission --prefix / auth
  // enable), through etcd3's auth API: root, a user "sy" whose role may read and write <prefix>/ only, and a
  // user "outsider" whose role may read and write another prefix.
  const admin = etcdClient(parseSource(etcd.url(PREFIX, `ca=${ca.certFile}`)));
  try {
    await admin.user("root").create(ROOT_PASSWORD);
    await admin.role("root").create();
    await admin.user("root").addRole("root");
    for (const [user, prefix] of [["sy", `${PREFIX}/`], ["outsider", "/elsewhere/"]] as const) {
      await admin.role(user).create();
      await admin.role(user).grant({ permission: "Readwrite", range: admin.range({ prefix }) });
      await admin.user(user).create(PASSWORD);
      await admin.user(user).addRole(user);
    }
    await admin.auth.authEnable();
  } finally {
    admin.close();
  }

  upstreams = [await startUpstream("canary0"), await startUpstream("stable0")];
  await startHost("a", source("sy", ca.certFile, "ttl=2"), asSy);
  await untilFleet(source("sy"), membersPrefix(PREFIX), (v) => v.members.length === 1, asSy);
}, 120_000);

afterAll(async () => {
  await certEtcd?.kill("SIGTERM");
  await stopFleet(hosts.values(), etcd, upstreams, root);
});

describe("the etcd source over TLS with user and password", () => {
  it("push --source over TLS with the user's password reaches the running host, which applies it; status lists it", async () => {
    expect(await answer("a")).toBe("canary0");
    const r = await run(["push", "header-canary", "-", "--source", source("sy"), "--wait"], asSy, config("stable"));
    expect(errorLines(r.stderr)).toEqual([]);
    const rev = Number(/at revision (\d+)/.exec(r.stdout)?.[1]);
    expect(r.stdout).toBe(`written: ${PREFIX}/plugins/header-canary at revision ${rev}\na: applied revision ${rev}\n1 of 1 live host(s) applied revision ${rev}\n`);
    expect(r.code).toBe(0);
    expect(await answer("a")).toBe("stable0");

    const s = await run(["status", "--source", source("sy")], asSy);
    expect(s.code).toBe(0);
    expect(s.stdout.split("\n").slice(0, 2).map((l) => l.split(/\s+/))).toEqual([
      ["HOST", "PLUGIN", "REVISION", "STATE", "CONFIG", "MESSAGE"],
      ["a", "header-canary", String(rev), "applied", "1"],
    ]);
    const j = await run(["status", "--source", source("sy"), "--json"], asSy);
    expect((JSON.parse(j.stdout) as { statuses: { host: string; state: string; revision: number }[] }).statuses.map((x) => [x.host, x.state, x.revision])).toEqual([["a", "applied", rev]]);
  });

  it("several endpoints over TLS with the password, the first one with nothing listening: push --wait and status get through", async () => {
    const dead = await freePort();
    const both = `etcd://127.0.0.1:${dead},127.0.0.1:${etcd.clientPort}${PREFIX}?user=sy&ca=${ca.certFile}`;
    const r = await run(["push", "header-canary", "-", "--source", both, "--wait"], asSy, config("canary"));
    const rev = Number(/at revision (\d+)/.exec(r.stdout)?.[1]);
    expect([r.code, r.stdout.split("\n").slice(1), errorLines(r.stderr)]).toEqual([0, [`a: applied revision ${rev}`, `1 of 1 live host(s) applied revision ${rev}`, ""], []]);
    expect(await answer("a")).toBe("canary0");
    const s = await run(["status", "--source", both, "--json"], asSy);
    expect((JSON.parse(s.stdout) as { statuses: { host: string; revision: number }[] }).statuses.map((x) => [x.host, x.revision])).toEqual([["a", rev]]);
    await run(["push", "header-canary", "-", "--source", both, "--wait"], asSy, config("stable"));
    expect(await answer("a")).toBe("stable0");
  });

  it("a wrong or missing password: push and status fail naming the user and where the password comes from; nothing is written", async () => {
    const before = await pluginKeyNow();
    const refused = `etcd at 127.0.0.1:${etcd.clientPort} refused user "sy": wrong user name or password (the password is read from SWITCHYARD_ETCD_PASSWORD`;
    const push = await run(["push", "header-canary", "-", "--source", source("sy")], { SWITCHYARD_ETCD_PASSWORD: WRONG }, config("canary"));
    expect([push.code, push.stdout, errorLines(push.stderr)]).toEqual([1, "", [`switchyard push: E_SOURCE: ${refused})`]]);
    const status = await run(["status", "--source", source("sy")], { SWITCHYARD_ETCD_PASSWORD: WRONG });
    expect([status.code, status.stdout, errorLines(status.stderr)]).toEqual([1, "", [`switchyard status: E_SOURCE: ${refused})`]]);
    const unset = await run(["push", "header-canary", "-", "--source", source("sy")], {}, config("canary"));
    expect(errorLines(unset.stderr)).toEqual([`switchyard push: E_SOURCE: ${refused}, which is not set)`]);
    const anonymous = await run(["push", "header-canary", "-", "--source", source(null)], {}, config("canary"));
    expect(errorLines(anonymous.stderr)).toEqual([
      `switchyard push: E_SOURCE: etcd at 127.0.0.1:${etcd.clientPort} has authentication enabled: give user=<name> in the source URL and the password in SWITCHYARD_ETCD_PASSWORD`,
    ]);
    expect(await pluginKeyNow()).toEqual(before);
    expect(await answer("a")).toBe("stable0");
  });

  it("a CA that did not sign etcd's certificate, or no TLS at all: push fails naming TLS and the CA file; nothing is written", async () => {
    const before = await pluginKeyNow();
    const push = await run(["push", "header-canary", "-", "--source", source("sy", stranger.certFile)], asSy, config("canary"));
    expect([push.code, push.stdout, errorLines(push.stderr)]).toEqual([1, "", [
      `switchyard push: E_SOURCE: etcd at 127.0.0.1:${etcd.clientPort} unavailable: TLS to 127.0.0.1:${etcd.clientPort}: unable to verify the first certificate (is ${stranger.certFile} the CA that signed etcd's certificate?)`,
    ]]);
    const plain = await run(["status", "--source", etcd.url(PREFIX, "user=sy")], asSy);
    expect([plain.code, errorLines(plain.stderr)]).toEqual([1, [
      `switchyard status: E_SOURCE: etcd at 127.0.0.1:${etcd.clientPort} unavailable: 127.0.0.1:${etcd.clientPort} speaks TLS: give ca=<file> (the CA of its certificate) in the source URL`,
    ]]);
    expect(await pluginKeyNow()).toEqual(before);
  });

  it("a user whose role has no permission on the prefix is refused, naming the user and the prefix; nothing is written", async () => {
    const before = await pluginKeyNow();
    const denied = `etcd at 127.0.0.1:${etcd.clientPort}: user "outsider" has no permission on ${PREFIX}/ (etcd: permission denied); its role needs readwrite on the key prefix ${PREFIX}/`;
    const push = await run(["push", "header-canary", "-", "--source", source("outsider")], asSy, config("canary"));
    expect([push.code, push.stdout, errorLines(push.stderr)]).toEqual([1, "", [`switchyard push: E_SOURCE: ${denied}`]]);
    const status = await run(["status", "--source", source("outsider")], asSy);
    expect([status.code, errorLines(status.stderr)]).toEqual([1, [`switchyard status: E_SOURCE: ${denied}`]]);
    expect(await pluginKeyNow()).toEqual(before);
  });

  it("a host started with a wrong password serves its own state, logs why etcd refused it, and joins no list", async () => {
    const b = await startHost("b", source("sy", ca.certFile, "ttl=2"), { SWITCHYARD_ETCD_PASSWORD: WRONG });
    const line = await b.waitForLog("etcd refusing the password", (l) => l.event === "source-unavailable");
    expect(line.err).toBe(`etcd at 127.0.0.1:${etcd.clientPort} refused user "sy": wrong user name or password (the password is read from SWITCHYARD_ETCD_PASSWORD)`);
    expect(await answer("b")).toBe("canary0");
    const c = etcdClient(parseSource(source("sy")), asSy);
    try {
      expect((await readFleet(c, PREFIX)).members.map((m) => m.host)).toEqual(["a"]);
    } finally {
      c.close();
    }
  });

  it("etcd restarted (its auth tokens are gone with it): the host's watch gets back in and applies the next push", async () => {
    const a = hosts.get("a")!;
    const seen = a.logs.length;
    await etcd.kill("SIGKILL");
    await a.waitForLog("watch disconnected", (l) => l.event === "source-disconnected" || l.event === "source-unavailable");
    await etcd.start();
    const r = await run(["push", "header-canary", "-", "--source", source("sy"), "--wait", "--timeout", "60"], asSy, config("canary"));
    const rev = Number(/at revision (\d+)/.exec(r.stdout)?.[1]);
    expect([r.code, r.stdout.split("\n").slice(1)]).toEqual([0, [`a: applied revision ${rev}`, `1 of 1 live host(s) applied revision ${rev}`, ""]]);
    expect(await answer("a")).toBe("canary0");
    // Back in once: not a loop of watches etcd refuses and lists that follow them.
    expect(a.logs.slice(seen).filter((l) => l.event === "source-relist").length).toBeLessThanOrEqual(2);
  }, 90_000);

  it("the password is in no log line of any host and in nothing the CLI printed; a password in the URL is refused unrepeated", async () => {
    const inUrl = await run(["status", "--source", `etcd://sy:${PASSWORD}@127.0.0.1:${etcd.clientPort}${PREFIX}?ca=${ca.certFile}`], {});
    expect([inUrl.code, errorLines(inUrl.stderr)]).toEqual([1, [
      "switchyard status: E_SOURCE: --source: no user or password in the URL's host part: give ?user=<name> and the password in SWITCHYARD_ETCD_PASSWORD",
    ]]);
    const logs = [...hosts.values()].flatMap((h) => h.logs.map((l) => JSON.stringify(l)));
    expect(logs.some((l) => l.includes('"event":"source-listed"'))).toBe(true);
    for (const secret of [PASSWORD, WRONG, ROOT_PASSWORD]) {
      expect(logs.filter((l) => l.includes(secret))).toEqual([]);
      expect(printed.filter((p) => p.includes(secret))).toEqual([]);
    }
  });
});

describe("an etcd that requires client certificates (--client-cert-auth)", () => {
  it("cert= and key= of a certificate its CA signed get in; without them, or with another CA's, the error says which", async () => {
    const server = await makeLeaf(ca, "cert-etcd-server", ["127.0.0.1"]);
    certEtcd = await startEtcd(join(root, "cert-etcd"), { tls: { certFile: server.certFile, keyFile: server.keyFile, clientCaFile: ca.certFile } });
    const withCert = certEtcd.url(PREFIX, `ca=${ca.certFile}&cert=${client.certFile}&key=${client.keyFile}`);
    const push = await run(["push", "header-canary", "-", "--source", withCert], {}, config("stable"));
    expect([push.code, errorLines(push.stderr)]).toEqual([0, []]);
    expect(push.stdout).toMatch(new RegExp(`^written: ${PREFIX}/plugins/header-canary at revision \\d+\\n$`));
    const status = await run(["status", "--source", withCert], {});
    expect([status.code, status.stdout]).toEqual([0, "HOST  PLUGIN  REVISION  STATE  CONFIG  MESSAGE\n0 live host(s) at etcd revision 2\n"]);

    const without = await run(["push", "header-canary", "-", "--source", certEtcd.url(PREFIX, `ca=${ca.certFile}`)], {}, config("canary"));
    expect([without.code, errorLines(without.stderr)]).toEqual([1, [
      // Go's TLS (etcd 3.4.23 is built with Go 1.19) answers a missing client certificate with alert 42.
      `switchyard push: E_SOURCE: etcd at 127.0.0.1:${certEtcd.clientPort} unavailable: TLS to 127.0.0.1:${certEtcd.clientPort}: sslv3 alert bad certificate (etcd requires a client certificate: give cert=<file>&key=<file>)`,
    ]]);
    const intruder = await makeLeaf(stranger, "intruder-client", ["intruder"], { clientAuth: true });
    const wrongCert = await run(["status", "--source", certEtcd.url(PREFIX, `ca=${ca.certFile}&cert=${intruder.certFile}&key=${intruder.keyFile}`)], {});
    expect([wrongCert.code, errorLines(wrongCert.stderr)]).toEqual([1, [
      `switchyard status: E_SOURCE: etcd at 127.0.0.1:${certEtcd.clientPort} unavailable: TLS to 127.0.0.1:${certEtcd.clientPort}: sslv3 alert bad certificate (etcd refused the client certificate ${intruder.certFile}: is it signed by etcd's --trusted-ca-file?)`,
    ]]);
  });
});
