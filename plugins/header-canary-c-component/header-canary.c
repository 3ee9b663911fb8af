/* header-canary in C as a WebAssembly component of switchyard:router/plugin@1.0.0 (sdk/wit/router.wit):
 * the raw C plugin's rule (plugins/header-canary-c, included below with its raw exports made internal) under
 * the world's functions, written by hand in the canonical ABI (sdk/wit/README.md "Canonical ABI layouts"):
 * each export takes its flat parameters, turns them into the raw call's ABI v1 bytes, and answers through a
 * return area. No bindings generator: clang -nostdlib, then `jco embed` and `jco new` make the component.
 *
 * Memory the host lowers arguments into (cabi_realloc) is a call arena, emptied by every cabi_post_* (the
 * host calls it after it read the answer), so a request leaves nothing behind.
 */
#include "../../sdk/c/switchyard.h"
#undef SY_EXPORT
#define SY_EXPORT(name) /* the raw ABI's functions stay inside the module */
#include "../header-canary-c/header-canary.c"

#define WORLD_EXPORT(name) __attribute__((export_name(name)))

/* ---- the call arena: bump allocation, emptied after each call; it only grows (doubling, old ones left). ---- */
static u8 *arena;
static u32 arena_cap, arena_used;

WORLD_EXPORT("cabi_realloc") void *cabi_realloc(void *old, u32 old_size, u32 align, u32 size) {
  u32 at = (arena_used + align - 1) & ~(align - 1);
  if (at + size > arena_cap || at + size < at) {
    u32 cap = arena_cap ? arena_cap : 65536;
    while (cap < size + align) cap *= 2;
    u8 *p = alloc(cap);
    if (p == 0) __builtin_trap();
    arena = p;
    arena_cap = cap;
    at = 0;
  }
  arena_used = at + size;
  if (old != 0) copy(arena + at, old, old_size < size ? old_size : size);
  return arena + at;
}

static void arena_reset(void) { arena_used = 0; }
WORLD_EXPORT("cabi_post_name") void post_name(u32 r) { (void)r; arena_reset(); }
WORLD_EXPORT("cabi_post_configure") void post_configure(u32 r) { (void)r; arena_reset(); }
WORLD_EXPORT("cabi_post_headers") void post_headers(u32 r) { (void)r; arena_reset(); }
WORLD_EXPORT("cabi_post_set-hosts") void post_set_hosts(u32 r) { (void)r; arena_reset(); }
WORLD_EXPORT("cabi_post_route") void post_route(u32 r) { (void)r; arena_reset(); }
WORLD_EXPORT("cabi_post_group") void post_group(u32 r) { (void)r; arena_reset(); }

/* The return area of every function (28 bytes: result<answer, string>, the largest). */
static u32 ret[8];

static const char NAME[] = "header-canary-c-component";
WORLD_EXPORT("name") u32 *name(void) {
  ret[0] = (u32)NAME;
  ret[1] = sizeof NAME - 1;
  return ret;
}
WORLD_EXPORT("order") int32_t order(void) { return sy_order(); }

/* result<_, string> from a raw status: err carries the message the raw call wrote (§5.1). */
static u32 *status_result(int32_t status) {
  ret[0] = status == SY_OK ? 0 : 1;
  ret[1] = (u32)(output + 4);
  ret[2] = status == SY_OK ? 0 : rd32(output);
  return ret;
}

/* The input area (§2) with room for `bytes`, or 0. */
static u8 *input(u32 bytes) { return (u8 *)sy_reserve(SY_AREA_INPUT, (int32_t)bytes); }

static u8 *put(u8 *p, const u8 *s, u32 len) {
  *(u32 *)p = len;
  copy(p + 4, s, len);
  return p + 4 + len;
}

WORLD_EXPORT("configure") u32 *configure(const u8 *text, u32 len) {
  u8 *in = input(len);
  if (in == 0) return status_result(message(SY_REJECTED, "configure: out of memory"));
  copy(in, text, len);
  return status_result(sy_configure((int32_t)len));
}

/* The raw plugin reads the headers metadata.json names: the defaults are its answer. */
WORLD_EXPORT("headers") u32 *headers(u32 some, u32 list, u32 count) {
  ret[0] = 0;
  ret[1] = some;
  ret[2] = list;
  ret[3] = count;
  return ret;
}

/* host: address (ptr, len) @0, weight @8, healthy u8 @12, tags (ptr, count) @16 of (k ptr, k len, v ptr, v len). */
WORLD_EXPORT("set-hosts") u32 *set_hosts(u32 table, const u32 *hosts, u32 count) {
  u32 bytes = 4;
  for (u32 i = 0; i < count; i++) {
    const u32 *h = hosts + i * 6;
    bytes += 4 + h[1] + 12;
    const u32 *tags = (const u32 *)h[4];
    for (u32 k = 0; k < h[5]; k++) bytes += 8 + tags[k * 4 + 1] + tags[k * 4 + 3];
  }
  u8 *in = input(bytes);
  if (in == 0) return status_result(message(SY_BAD_INPUT, "set-hosts: out of memory"));
  u8 *p = in;
  *(u32 *)p = count;
  p += 4;
  for (u32 i = 0; i < count; i++) {
    const u32 *h = hosts + i * 6;
    p = put(p, (const u8 *)h[0], h[1]);
    *(u32 *)p = h[2];
    *(u32 *)(p + 4) = *(const u8 *)(h + 3);
    *(u32 *)(p + 8) = h[5];
    p += 12;
    const u32 *tags = (const u32 *)h[4];
    for (u32 k = 0; k < h[5]; k++) {
      p = put(p, (const u8 *)tags[k * 4], tags[k * 4 + 1]);
      p = put(p, (const u8 *)tags[k * 4 + 2], tags[k * 4 + 3]);
    }
  }
  return status_result(sy_set_hosts((int32_t)table, (int32_t)bytes));
}

WORLD_EXPORT("drop-hosts") void drop_hosts(u32 table) { sy_drop_hosts((int32_t)table); }

static u32 *err(const char *text) {
  message(SY_BAD_INPUT, text);
  return status_result(SY_BAD_INPUT);
}

/* metadata pairs (key ptr, key len, value ptr, value len) over the raw answer's (§5.2) strings. */
static u32 meta[4 * SY_MAX_META_PAIRS];

WORLD_EXPORT("route") u32 *route(u32 table, const u8 *m, u32 mlen, const u8 *path, u32 plen, const u8 *auth, u32 alen,
                                const u32 *hdrs, u32 hcount, u32 some, const u32 *offered, u32 ocount) {
  (void)offered;
  u32 bytes = 12 + mlen + plen + alen + 4;
  for (u32 i = 0; i < hcount; i++) bytes += 8 + hdrs[i * 4 + 1] + hdrs[i * 4 + 3];
  u8 *in = input(bytes);
  if (in == 0) return err("route: out of memory");
  u8 *p = put(put(put(in, m, mlen), path, plen), auth, alen);
  *(u32 *)p = hcount;
  p += 4;
  for (u32 i = 0; i < hcount; i++) p = put(put(p, (const u8 *)hdrs[i * 4], hdrs[i * 4 + 1]), (const u8 *)hdrs[i * 4 + 2], hdrs[i * 4 + 3]);
  int32_t status = sy_route((int32_t)table, (int32_t)bytes, some ? (int32_t)ocount : -1);
  if (status == SY_NOT_CONFIGURED) return err("route: not configured");
  if (status == SY_NO_TABLE) return err("route: no such table");
  if (status != SY_OK) return status_result(status);
  const sy_answer *a = (const sy_answer *)output;
  u8 *r = (u8 *)ret;
  ret[0] = 0; /* ok */
  r[4] = 0;   /* accept: the raw rule answers nothing else */
  if (a->kept == SY_KEEP_ALL) r[8] = 0;
  else { r[8] = 2; ret[3] = (u32)(-2 - a->kept); }
  const u8 *q = output + SY_ANSWER_HEADER_BYTES + a->body_len;
  for (u32 i = 0; i < a->meta_count * 2; i++) {
    meta[i * 2 + 1] = rd32(q);
    meta[i * 2] = (u32)(q + 4);
    q += 4 + rd32(q);
  }
  ret[5] = (u32)meta;
  ret[6] = a->meta_count;
  return ret;
}

/* option<list<u32>>: the group's indices from the raw sy_group, in the subset area. */
WORLD_EXPORT("group") u32 *group(u32 table, u32 g) {
  ret[0] = 0;
  if (table >= SY_MAX_TABLES || !tables[table].present) return ret;
  if (sy_reserve(SY_AREA_SUBSET, (int32_t)(tables[table].count * 4)) == 0 && tables[table].count > 0) return ret;
  if (sy_group((int32_t)table, (int32_t)g) != SY_OK) return ret;
  ret[0] = 1;
  ret[1] = (u32)area_ptr[SY_AREA_SUBSET];
  ret[2] = rd32(output);
  return ret;
}
