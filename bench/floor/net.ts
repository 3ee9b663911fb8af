// The raw node:net floor (issue 19): a proxy on plain sockets with no HTTP library, minimal framing only — a
// request head is the bytes up to the blank line (requests without a body, as the bench sends them), passed
// upstream as they came, with no header rewriting; the answer is read by its Content-Length and passed back
// as it came. Upstream connections are kept per upstream and reused, chosen round robin. Not a proxy anyone
// should run: the distance from it to the other rows is what Node's HTTP machinery costs.
//
// node dist/bench/floor/net.js <listen port> <upstream port>...

import { connect, createServer, type Socket } from "node:net";
import { parseFloorArgs } from "./common.js";

const { port, upstreams } = parseFloorArgs(process.argv.slice(2));
const ports = upstreams.map((u) => Number(new URL(u).port));
const idle: Socket[][] = ports.map(() => []);
let next = 0;
const END = Buffer.from("\r\n\r\n");
const LENGTH = /\r\ncontent-length:[ \t]*(\d+)/i;

/** One upstream exchange: `head` out, the whole answer back to `client`, then `done`. */
function exchange(head: Buffer, client: Socket, done: () => void): void {
  const u = next++ % ports.length;
  const up = idle[u]!.pop() ?? connect(ports[u]!, "127.0.0.1").setNoDelay(true);
  let seen: Buffer | null = Buffer.alloc(0) as Buffer;
  let left = -1;
  const onData = (chunk: Buffer): void => {
    if (left < 0) {
      seen = seen!.length === 0 ? chunk : Buffer.concat([seen!, chunk]);
      const end = seen.indexOf(END);
      if (end < 0) return;
      const m = LENGTH.exec(seen.subarray(0, end).toString("latin1"));
      left = end + 4 + (m === null ? 0 : Number(m[1])) - seen.length;
      client.write(seen);
      seen = null;
    } else {
      left -= chunk.length;
      client.write(chunk);
    }
    if (left === 0) {
      up.off("data", onData);
      idle[u]!.push(up);
      done();
    }
  };
  up.on("data", onData);
  up.write(head);
}

createServer({ noDelay: true }, (client) => {
  let buffered: Buffer = Buffer.alloc(0);
  let busy = false;
  const pump = (): void => {
    if (busy) return;
    const end = buffered.indexOf(END);
    if (end < 0) return;
    const head = buffered.subarray(0, end + 4);
    buffered = buffered.subarray(end + 4);
    busy = true;
    exchange(head, client, () => {
      busy = false;
      pump();
    });
  };
  client.on("data", (chunk: Buffer) => {
    buffered = buffered.length === 0 ? chunk : Buffer.concat([buffered, chunk]);
    pump();
  });
  client.on("error", () => client.destroy());
}).listen(port, "127.0.0.1");

process.on("SIGTERM", () => process.exit(0));
