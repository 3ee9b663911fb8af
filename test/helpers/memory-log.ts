// A pino destination that keeps every log line, parsed, in an array the test reads.
import { Writable } from "node:stream";
import { fixtureChanges, type Changes } from "./changes.js";

/** `changes`, if given, and fixtureChanges are told after each chunk of lines (so that a test waits for a line without polling). */
export function memoryLog(logs: Record<string, unknown>[], changes?: Changes): Writable {
  return new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const line of chunk.toString("utf8").split("\n")) if (line !== "") logs.push(JSON.parse(line) as Record<string, unknown>);
      changes?.notify();
      fixtureChanges.notify();
      cb();
    },
  });
}
