// A pino destination that keeps every log line, parsed, in an array the test reads.
import { Writable } from "node:stream";

export function memoryLog(logs: Record<string, unknown>[]): Writable {
  return new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const line of chunk.toString("utf8").split("\n")) if (line !== "") logs.push(JSON.parse(line) as Record<string, unknown>);
      cb();
    },
  });
}
