// A real etcd (Debian etcd-server, /usr/bin/etcd) on loopback ports of its own, data in a folder the caller
// owns. `kill` and `start` again on the same ports and data, for tests of a fleet while etcd goes away.
//
//   const etcd = await startEtcd(dataDir); … etcd.url("/sy") …; await etcd.kill("SIGKILL"); await etcd.start();

import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { createServer } from "node:net";

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

export async function startEtcd(dataDir: string): Promise<EtcdProcess> {
  const clientPort = await freePort();
  const peerPort = await freePort();
  let child: ChildProcess | null = null;
  const e: EtcdProcess = {
    clientPort,
    url: (prefix, query) => `etcd://127.0.0.1:${clientPort}${prefix}${query ? `?${query}` : ""}`,
    async start() {
      const c = spawn("/usr/bin/etcd", [
        "--name", "test",
        "--data-dir", dataDir,
        "--listen-client-urls", `http://127.0.0.1:${clientPort}`,
        "--advertise-client-urls", `http://127.0.0.1:${clientPort}`,
        "--listen-peer-urls", `http://127.0.0.1:${peerPort}`,
        "--initial-advertise-peer-urls", `http://127.0.0.1:${peerPort}`,
        "--initial-cluster", `test=http://127.0.0.1:${peerPort}`,
        "--log-level", "info",
        "--logger", "zap",
      ], { stdio: ["ignore", "ignore", "pipe"] });
      child = c;
      let err = "";
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`etcd did not serve within 30 s:\n${err.slice(-2000)}`)), 30_000);
        c.stderr!.setEncoding("utf8").on("data", (chunk: string) => {
          err = (err + chunk).slice(-8000);
          if (err.includes("serving client traffic insecurely")) {
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
