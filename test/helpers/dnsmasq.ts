// A real DNS server for tests: Debian's dnsmasq (/usr/sbin/dnsmasq, package dnsmasq-base) on 127.0.0.1 and a
// port of its own, answering only from a hosts file and --srv-host records (no upstream, no /etc/hosts; the
// domain "test" is local, so a missing record is NODATA / NXDOMAIN rather than REFUSED).
//
//   const dns = await startDnsmasq(dir, "127.0.0.2 api.test\n", ["_http._tcp.svc.test,t1.test,8080,0,5"]);
//   await dns.setHosts("127.0.0.3 api.test\n");   // rewritten, then SIGHUP: dnsmasq reads addn-hosts again
//   await dns.kill(); await dns.start();

import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { freePort } from "./etcd.js";

export interface Dnsmasq {
  /** "127.0.0.1:<port>", for dns_resolvers.servers. */
  readonly server: string;
  setHosts(text: string): Promise<void>;
  start(): Promise<void>;
  kill(): Promise<void>;
}

export async function startDnsmasq(dir: string, hosts: string, srv: readonly string[] = []): Promise<Dnsmasq> {
  const port = await freePort();
  const file = join(dir, "dns-hosts");
  await writeFile(file, hosts);
  let child: ChildProcess | null = null;
  let log = "";
  let waiters: (() => void)[] = [];
  /** Resolves once the server logs `text` after `from` characters of its log. */
  const until = (text: string, from: number) =>
    new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`dnsmasq did not log ${JSON.stringify(text)} within 10 s:\n${log.slice(-1000)}`)), 10_000);
      const check = () => {
        if (!log.slice(from).includes(text)) return;
        clearTimeout(timer);
        waiters = waiters.filter((w) => w !== check);
        resolve();
      };
      waiters.push(check);
      check();
    });
  const d: Dnsmasq = {
    server: `127.0.0.1:${port}`,
    async start() {
      const from = log.length;
      const c = spawn("/usr/sbin/dnsmasq", [
        "--no-daemon", `--port=${port}`, "--listen-address=127.0.0.1", "--bind-interfaces", "--no-resolv", "--no-hosts",
        "--local=/test/", `--addn-hosts=${file}`, "--cache-size=0", ...srv.map((s) => `--srv-host=${s}`),
      ], { stdio: ["ignore", "ignore", "pipe"] });
      child = c;
      c.stderr!.setEncoding("utf8").on("data", (chunk: string) => {
        log += chunk;
        for (const w of [...waiters]) w();
      });
      await until(`read ${file}`, from);
    },
    async setHosts(text) {
      await writeFile(file, text);
      const from = log.length;
      child!.kill("SIGHUP");
      await until(`read ${file}`, from);
    },
    async kill() {
      const c = child;
      if (c === null || c.exitCode !== null || c.signalCode !== null) return;
      const gone = once(c, "exit");
      c.kill("SIGTERM");
      await gone;
      child = null;
    },
  };
  await d.start();
  return d;
}
