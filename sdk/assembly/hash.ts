// A stable string hash for sticky decisions: 32-bit FNV-1a over the UTF-8 bytes of the string.
//
//   h = 0x811c9dc5 (2166136261)
//   for each byte b of the UTF-8 encoding: h = (h XOR b) * 0x01000193 (16777619) mod 2^32
//
// Host side (TypeScript) the same value is:
//   let h = 0x811c9dc5; for (const b of Buffer.from(s, "utf8")) h = Math.imul(h ^ b, 0x01000193) >>> 0;
// For example fnv1a32("") = 0x811c9dc5, fnv1a32("a") = 0xe40c292c, fnv1a32("foobar") = 0xbf9cf968.

export const FNV_OFFSET_BASIS: u32 = 0x811c9dc5;
export const FNV_PRIME: u32 = 0x01000193;

/** FNV-1a 32 of `len` bytes at `ptr`, continuing from `h`. */
export function fnv1a32Bytes(ptr: usize, len: i32, h: u32 = FNV_OFFSET_BASIS): u32 {
  for (let i = 0; i < len; i++) h = (h ^ <u32>load<u8>(ptr + <usize>i)) * FNV_PRIME;
  return h;
}

/** FNV-1a 32 of the UTF-8 encoding of `s`. */
export function fnv1a32(s: string): u32 {
  const bytes = String.UTF8.encode(s);
  return fnv1a32Bytes(changetype<usize>(bytes), bytes.byteLength);
}
