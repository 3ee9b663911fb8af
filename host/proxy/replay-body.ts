// A request body that a retry can send again (a gRPC call's request messages, host/proxy/exchange.ts). The
// client's body is a stream read once; each attempt gets a stream of its own that first replays what was read
// so far, then goes on with the client's next bytes. What is kept is bounded: past `limit` bytes nothing more
// is kept and the body is no longer replayable (the request is then not retried, as any request whose body
// was read).

import { Readable } from "node:stream";

/** Request bytes kept for a retry, at most (docs/config.md, retry_on_grpc_statuses). */
export const REPLAY_LIMIT_BYTES = 65_536;

export class ReplayBody {
  private readonly kept: Buffer[] = [];
  private bytes = 0;
  private overflowed = false;
  private ended = false;
  private failed: Error | null = null;
  private current: Readable | null = null;

  constructor(private readonly source: Readable, private readonly limit = REPLAY_LIMIT_BYTES) {
    source.on("data", (chunk: Buffer) => this.onData(chunk));
    source.on("end", () => {
      this.ended = true;
      this.current?.push(null);
    });
    source.on("error", (err: Error) => {
      this.failed = err;
      this.current?.destroy(err);
    });
    // Read only as fast as the attempt's upstream takes the bytes.
    source.pause();
  }

  /** Whether every byte read from the client so far is kept, so that a new attempt can send the whole body. */
  get replayable(): boolean {
    return !this.overflowed && this.failed === null;
  }

  /** The body of the next attempt: the bytes kept, then the rest of the client's body. Requires replayable. */
  attempt(): Readable {
    const source = this.source;
    const body = new Readable({ read: () => source.resume() });
    for (const chunk of this.kept) body.push(chunk);
    if (this.ended) body.push(null);
    // The attempt before it has ended (a retry follows its end): its stream is no longer fed.
    this.current = body;
    return body;
  }

  /** The request is over: the client's bytes still coming are read and dropped, nothing more is kept. */
  release(): void {
    this.overflowed = true;
    this.kept.length = 0;
    this.current = null;
    this.source.resume();
  }

  private onData(chunk: Buffer): void {
    if (!this.overflowed) {
      if (this.bytes + chunk.length > this.limit) {
        this.overflowed = true;
        this.kept.length = 0;
      } else {
        this.kept.push(chunk);
        this.bytes += chunk.length;
      }
    }
    if (this.current !== null && !this.current.push(chunk)) this.source.pause();
  }
}
