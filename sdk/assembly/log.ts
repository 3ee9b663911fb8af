// Logging through the host (ABI v1 §6 sy_log). The host drops lines below its level and truncates long
// ones; here a line is cut at MAX_LOG_BYTES on a character boundary so the host never sees half a character.

import { sy_log } from "./abi/imports";
import { MAX_LOG_BYTES } from "./limits";
import { utf8Cut } from "./utf8";

function write(level: i32, msg: string): void {
  const bytes = String.UTF8.encode(msg);
  const ptr = changetype<usize>(bytes);
  sy_log(level, ptr, utf8Cut(ptr, bytes.byteLength, MAX_LOG_BYTES));
}

export namespace log {
  export function trace(msg: string): void {
    write(0, msg);
  }
  export function debug(msg: string): void {
    write(1, msg);
  }
  export function info(msg: string): void {
    write(2, msg);
  }
  export function warn(msg: string): void {
    write(3, msg);
  }
  export function error(msg: string): void {
    write(4, msg);
  }
}
