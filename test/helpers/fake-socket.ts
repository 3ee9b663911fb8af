// An in-process stand-in for a client connection (test/http1-differential.test.ts): bytes fed to it arrive as a
// socket's reads; what the server writes is kept; whether the server ended or destroyed it is recorded. Both
// node:http and the llhttp codec accept any Duplex as a connection, so the fuzz runs without sockets.
import type { RequestListener } from "node:http";
import { Duplex } from "node:stream";

export class FakeSocket extends Duplex {
  readonly remoteAddress = "127.0.0.1";
  private readonly out: Buffer[] = [];
  private bytes = 0;
  private ended = false;

  constructor(readonly onRequest: RequestListener) {
    super({ allowHalfOpen: true });
  }

  /** Bytes from the client. */
  feed(chunk: Buffer): void {
    this.push(chunk);
  }

  override _read(): void {}

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    this.out.push(chunk);
    this.bytes += chunk.length;
    cb();
  }

  override _final(cb: () => void): void {
    this.ended = true;
    cb();
  }

  /** The server destroyed or ended its side. */
  closedByServer(): boolean {
    return this.ended || this.destroyed || this.writableEnded;
  }

  writtenBytes(): number {
    return this.bytes;
  }

  written(): string {
    return Buffer.concat(this.out).toString("latin1");
  }
}
