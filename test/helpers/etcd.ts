// A real etcd (Debian etcd-server, /usr/bin/etcd) on loopback ports of its own, data in a folder the caller
// owns. `kill` and `start` again on the same ports and data, for tests of a fleet while etcd goes away; with
// `tls`, clients speak TLS to it (test/fleet-secure.test.ts).
//
//   const etcd = await startEtcd(dataDir); … etcd.url("/sy") …; await etcd.kill("SIGKILL"); await etcd.start();

import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { rm } from "node:fs/promises";
import { createServer } from "node:net";
import { readFleet, type FleetView } from "../../host/fleet/fleet-view.js";
import { etcdClient } from "../../host/fleet/etcd-client.js";
import { parseSource } from "../../host/fleet/source-url.js";

export interface EtcdProcess {
  readonly clientPort: number;
  /** etcd://127.0.0.1:<port><prefix>[?query] */
  url(prefix: string, query?: string): string;
  /** Starts (again) on the same ports and data; resolves once etcd serves clients. */
  start(): Promise<void>;
  /** Resolves when the process is gone. */
  kill(signal?: NodeJS.Signals): Promise<void>;
}

/** A loopback port free right now (etcd cannot listen on port 0 and say which port it took). */
export async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((resolve) => s.listen(0, "127.0.0.1", resolve));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

/** Every etcd started here and still running: killed when the test process exits, however the test ended. */
const running = new Set<ChildProcess>();
process.once("exit", () => {
  for (const c of running) c.kill("SIGKILL");
});

/** Client TLS of etcd: its certificate, and with `clientCaFile` client certificates required (--client-cert-auth). */
export interface EtcdTls {
  readonly certFile: string;
  readonly keyFile: string;
  readonly clientCaFile?: string;
}

export async function startEtcd(dataDir: string, opts: { tls?: EtcdTls } = {}): Promise<EtcdProcess> {
  const clientPort = await freePort();
  const peerPort = await freePort();
  const { tls } = opts;
  const scheme = tls === undefined ? "http" : "https";
  const tlsArgs = tls === undefined ? [] : [
    "--cert-file", tls.certFile,
    "--key-file", tls.keyFile,
    ...(tls.clientCaFile === undefined ? [] : ["--client-cert-auth", "--trusted-ca-file", tls.clientCaFile]),
  ];
  let child: ChildProcess | null = null;
  const e: EtcdProcess = {
    clientPort,
    url: (prefix, query) => `etcd://127.0.0.1:${clientPort}${prefix}${query ? `?${query}` : ""}`,
    async start() {
      const c = spawn("/usr/bin/etcd", [
        "--name", "test",
        "--data-dir", dataDir,
        "--listen-client-urls", `${scheme}://127.0.0.1:${clientPort}`,
        "--advertise-client-urls", `${scheme}://127.0.0.1:${clientPort}`,
        ...tlsArgs,
        "--listen-peer-urls", `http://127.0.0.1:${peerPort}`,
        "--initial-advertise-peer-urls", `http://127.0.0.1:${peerPort}`,
        "--initial-cluster", `test=http://127.0.0.1:${peerPort}`,
        "--log-level", "info",
        "--logger", "zap",
      ], { stdio: ["ignore", "ignore", "pipe"] });
      child = c;
      running.add(c);
      c.once("exit", () => running.delete(c));
      let err = "";
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`etcd did not serve within 30 s:\n${err.slice(-2000)}`)), 30_000);
        c.stderr!.setEncoding("utf8").on("data", (chunk: string) => {
          err = (err + chunk).slice(-8000);
          if (err.includes(tls === undefined ? "serving client traffic insecurely" : "serving client traffic securely")) {
            clearTimeout(timer);
            resolve();
          }
        });
        c.once("exit", (code) => {
          clearTimeout(timer);
          reject(new Error(`etcd exited with ${code}:\n${err.slice(-2000)}`));
        });
      });
    },
    async kill(signal = "SIGTERM") {
      const c = child;
      if (c === null || c.exitCode !== null || c.signalCode !== null) return;
      const gone = once(c, "exit");
      c.kill(signal);
      await gone;
      child = null;
    },
  };
  await e.start();
  return e;
}

/**
 * Resolves the fleet's view (host/fleet/fleet-view.ts) once `done` holds of it: read again on each put under
 * `watchPrefix` (members, status or hosts-status keys), never on a timer. `env` holds SWITCHYARD_ETCD_PASSWORD
 * for a source with `user`. With `timeoutMs`, rejects after that long with the last view read.
 */
export async function untilFleet(source: string, watchPrefix: string, done: (view: FleetView) => boolean, env: NodeJS.ProcessEnv = process.env, timeoutMs?: number): Promise<FleetView> {
  const settings = parseSource(source);
  const client = etcdClient(settings, env);
  try {
    const w = await client.watch().prefix(watchPrefix).create();
    let puts = 0;
    let wake = () => undefined as void;
    w.on("put", () => {
      puts++;
      wake();
    });
    let timedOut = false;
    const timer = timeoutMs === undefined ? undefined : setTimeout(() => {
      timedOut = true;
      wake();
    }, timeoutMs);
    try {
      for (;;) {
        const seen = puts;
        const view = await readFleet(client, settings.prefix);
        if (done(view)) return view;
        if (timedOut) throw new Error(`the fleet did not get there within ${timeoutMs} ms; last view: ${JSON.stringify(view)}`);
        if (puts === seen) await new Promise<void>((resolve) => (wake = resolve));
      }
    } finally {
      clearTimeout(timer);
      await w.cancel();
    }
  } finally {
    client.close();
  }
}

/**
 * The end of a fleet test: hosts stopped (SIGTERM, and SIGCONT for one a test left paused; each waited for),
 * then etcd even if stopping a host failed, the upstreams, the temp folder.
 */
export async function stopFleet(hosts: Iterable<{ kill(s?: NodeJS.Signals): void; readonly exited: Promise<unknown> } | undefined>, etcd: EtcdProcess | undefined, upstreams: readonly { close(): Promise<void> }[] | undefined, root: string): Promise<void> {
  try {
    for (const p of hosts) {
      if (p === undefined) continue;
      p.kill("SIGTERM");
      p.kill("SIGCONT");
      await p.exited;
    }
  } finally {
    await etcd?.kill("SIGTERM");
    await Promise.all((upstreams ?? []).map((u) => u.close()));
    await rm(root, { recursive: true, force: true });
  }
}
