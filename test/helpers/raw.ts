// Raw TCP on 127.0.0.1 for the hostile-input suite: an upstream that answers with bytes written by hand, and a
// client that sends bytes by hand and reads the reply as text, so that what misbehaves is exactly what is sent.
import { createServer, connect, type Server, type Socket } from "node:net";

export interface RawUpstream {
  readonly address: string;
  /** Every request head the upstream received, as text. */
  readonly heads: string[];
  close(): Promise<void>;
}

/** An upstream that answers each request head (read up to the blank line) with `reply(head)`, written raw. */
export async function startRawUpstream(reply: (head: string) => string): Promise<RawUpstream> {
  const heads: string[] = [];
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    socket.on("error", () => undefined);
    let buffered = "";
    socket.on("data", (chunk) => {
      buffered += chunk.toString("latin1");
      let end: number;
      while ((end = buffered.indexOf("\r\n\r\n")) >= 0) {
        const head = buffered.slice(0, end);
        buffered = buffered.slice(end + 4);
        heads.push(head);
        socket.write(reply(head));
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as { port: number }).port;
  return {
    address: `127.0.0.1:${port}`,
    heads,
    close: () => new Promise((resolve) => {
      for (const s of sockets) s.destroy();
      server.close(() => resolve());
    }),
  };
}

/** Sends `bytes` to host:port and collects the reply until the server closes or `done(text)` says it is complete. */
export function rawExchange(url: string, bytes: string, done: (text: string) => boolean = () => false, timeoutMs = 5_000): Promise<string> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    let text = "";
    const socket = connect(Number(port), hostname);
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no complete reply within ${timeoutMs} ms; got ${JSON.stringify(text)}`));
    }, timeoutMs);
    const finish = (): void => {
      clearTimeout(timer);
      socket.destroy();
      resolve(text);
    };
    socket.on("data", (chunk) => {
      text += chunk.toString("latin1");
      if (done(text)) finish();
    });
    socket.on("close", finish);
    socket.on("error", () => undefined);
    socket.write(bytes);
  });
}

/** A reply is complete once the head of a final (non-1xx) response and `length` body bytes arrived. */
export function finalWithBody(length: number): (text: string) => boolean {
  return (text) => {
    const m = /HTTP\/1\.1 [2-5]\d\d [^\r]*\r\n[\s\S]*?\r\n\r\n/.exec(text);
    return m !== null && text.length - (m.index + m[0].length) >= length;
  };
}
