// Strings decoded from bytes that repeat: handed out again instead of made anew. A header value that comes
// back on every request, or a tag value that most hosts of a table share, then costs no allocation (so no
// garbage: the minimal runtime collects only at the end of a call, see gc.ts), and lookups by the identity
// of a string (HostTable.tagList) find it.

import { decodeUtf8 } from "./utf8";

/** Whether the `len` bytes at `ptr` are ASCII and equal `s` code unit for code unit. */
function sameAscii(ptr: usize, len: i32, s: string): bool {
  if (s.length != len) return false;
  const chars = changetype<usize>(s);
  for (let i = 0; i < len; i++) {
    const b = <u32>load<u8>(ptr + <usize>i);
    if (b >= 0x80 || b != <u32>load<u16>(chars + (<usize>i << 1))) return false;
  }
  return true;
}

/** The last `size` ASCII strings decoded, replaced round robin. */
export class Interner {
  private readonly kept: StaticArray<string | null>;
  private next: i32 = 0;

  constructor(private readonly size: i32) {
    this.kept = new StaticArray<string | null>(size);
  }

  /** The string of the `len` UTF-8 bytes at `ptr`: a kept one when ASCII bytes repeat, else a new one. */
  get(ptr: usize, len: i32): string {
    const kept = this.kept;
    for (let i = 0; i < this.size; i++) {
      const s = unchecked(kept[i]);
      if (changetype<usize>(s) != 0 && sameAscii(ptr, len, s!)) return s!;
    }
    const s = decodeUtf8(ptr, len);
    // Kept when as long as its bytes (ASCII): sameAscii matches ASCII bytes only, so a kept string is only
    // ever handed out for the bytes it was decoded from.
    if (s.length == len && len <= 256) {
      unchecked((kept[this.next] = s));
      this.next = (this.next + 1) % this.size;
    }
    return s;
  }
}
