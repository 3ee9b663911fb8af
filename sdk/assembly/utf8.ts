// UTF-8 helpers over raw memory. Every length here is a byte count, never a string length.

/** Decode `len` UTF-8 bytes at `ptr` into a string. */
export function decodeUtf8(ptr: usize, len: i32): string {
  if (len == 0) return "";
  return String.UTF8.decodeUnsafe(ptr, <usize>len);
}

/** The largest byte length <= `max` that does not cut a UTF-8 sequence of the `len` bytes at `ptr`. */
export function utf8Cut(ptr: usize, len: i32, max: i32): i32 {
  if (len <= max) return len;
  let cut = max;
  // Step back over continuation bytes (10xxxxxx) so that the cut lands on a character boundary.
  while (cut > 0 && (load<u8>(ptr + <usize>cut) & 0xc0) == 0x80) cut--;
  return cut;
}

/**
 * Whether the `len` bytes at `ptr` (a lowercase ASCII header name, as the host writes them) equal `name`
 * lowercased. Compares code unit by byte, so a lookup allocates nothing.
 */
export function asciiNameEquals(ptr: usize, len: i32, name: string): bool {
  if (len != name.length) return false;
  for (let i = 0; i < len; i++) {
    let c = <u32>name.charCodeAt(i);
    if (c >= 0x80) return false; // the host writes ASCII names only
    if (c >= 0x41 && c <= 0x5a) c += 0x20;
    if (<u32>load<u8>(ptr + <usize>i) != c) return false;
  }
  return true;
}

/** Whether the `len` bytes at `ptr` are the UTF-8 encoding of `s`, without allocating for ASCII `s`. */
export function utf8Equals(ptr: usize, len: i32, s: string): bool {
  const n = s.length;
  // One pass while `s` is ASCII: up to a non-ASCII unit the bytes of its UTF-8 are its code units.
  for (let i = 0; i < n; i++) {
    const c = <u32>s.charCodeAt(i);
    if (c >= 0x80) return utf8EqualsEncoded(ptr, len, s);
    if (i >= len || <u32>load<u8>(ptr + <usize>i) != c) return false;
  }
  return len == n;
}

function utf8EqualsEncoded(ptr: usize, len: i32, s: string): bool {
  const bytes = String.UTF8.encode(s);
  if (bytes.byteLength != len) return false;
  return memory.compare(ptr, changetype<usize>(bytes), <usize>len) == 0;
}
