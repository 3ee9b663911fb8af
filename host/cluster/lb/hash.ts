// 32-bit hashing for ring hash, maglev and subset fingerprints: MurmurHash3's body and finalizer over
// UTF-16 code units, so hashing a header value reads the string in place and allocates nothing.

/** MurmurHash3 (x86, 32-bit) of the string's UTF-16 code units, two per block. */
export function hashString(s: string, seed = 0): number {
  let h = seed >>> 0;
  const n = s.length;
  let i = 0;
  for (; i + 1 < n; i += 2) {
    let k = (s.charCodeAt(i) | (s.charCodeAt(i + 1) << 16)) >>> 0;
    k = Math.imul(k, 0xcc9e2d51);
    k = (k << 15) | (k >>> 17);
    k = Math.imul(k, 0x1b873593);
    h ^= k;
    h = (h << 13) | (h >>> 19);
    h = (Math.imul(h, 5) + 0xe6546b64) | 0;
  }
  if (i < n) {
    let k = s.charCodeAt(i);
    k = Math.imul(k, 0xcc9e2d51);
    k = (k << 15) | (k >>> 17);
    k = Math.imul(k, 0x1b873593);
    h ^= k;
  }
  h ^= n * 2;
  return fmix32(h);
}

/** MurmurHash3's finalizer: every input bit affects every output bit. */
function fmix32(x: number): number {
  let h = x | 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** A cheap fingerprint of the first `count` indices of a subset (collisions are checked by the caller). */
export function fingerprint(indices: Uint32Array, count: number): number {
  let h = count | 0;
  for (let i = 0; i < count; i++) {
    h = Math.imul(h ^ indices[i]!, 0x01000193);
  }
  return fmix32(h);
}
