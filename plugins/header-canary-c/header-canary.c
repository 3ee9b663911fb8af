/* header-canary in C, on the raw ABI (sdk/ABI.md) with sdk/c/switchyard.h: the rule of
 * plugins/header-canary. Requests whose header holds one of the canary values keep the hosts tagged
 * tag=tagValue (group 0) with that pair as metadata; the others keep the hosts not so tagged (group 1), or
 * every host with "others": "all". A route answer never touches the hosts: groups are listed by sy_group,
 * once per table, from the copy of the table kept at sy_set_hosts.
 *
 * config: {"header":"x-canary","values":["1","true"],"tag":"version","tagValue":"canary","others":"non-canary"}
 */
#include "../../sdk/c/switchyard.h"

typedef uint8_t u8;
typedef uint32_t u32;

/* ---- memory: a bump allocator over memory.grow; areas and tables are reused and only grow. ---- */
extern u8 __heap_base;
static u32 heap_top;

static u8 *alloc(u32 bytes) {
  if (heap_top == 0) heap_top = (u32)&__heap_base;
  u32 start = (heap_top + 7) & ~7u;
  u32 end = start + bytes;
  if (end < start) return 0;
  u32 have = (u32)__builtin_wasm_memory_size(0) * 65536u;
  if (end > have) {
    u32 pages = (end - have + 65535u) / 65536u;
    if (__builtin_wasm_memory_grow(0, pages) == (__SIZE_TYPE__)-1) return 0;
  }
  heap_top = end;
  return (u8 *)start;
}

static void copy(u8 *dst, const u8 *src, u32 n) { while (n--) *dst++ = *src++; }
static int same(const u8 *a, u32 alen, const u8 *b, u32 blen) {
  if (alen != blen) return 0;
  for (u32 i = 0; i < alen; i++) if (a[i] != b[i]) return 0;
  return 1;
}
static u32 rd32(const u8 *p) { return (u32)p[0] | (u32)p[1] << 8 | (u32)p[2] << 16 | (u32)p[3] << 24; }

static u8 *area_ptr[3];
static u32 area_cap[3];
static u8 output[SY_OUTPUT_BYTES] __attribute__((aligned(4)));

SY_EXPORT(sy_reserve) int32_t sy_reserve(int32_t area, int32_t bytes) {
  if (area == SY_AREA_OUTPUT) return bytes <= SY_OUTPUT_BYTES ? (int32_t)output : 0;
  if (area != SY_AREA_INPUT && area != SY_AREA_SUBSET) return 0;
  if (bytes < 0) return 0;
  if ((u32)bytes > area_cap[area]) {
    u8 *p = alloc((u32)bytes);
    if (p == 0) return 0;
    area_ptr[area] = p;
    area_cap[area] = (u32)bytes;
  }
  return (int32_t)area_ptr[area];
}

SY_EXPORT(sy_abi_version) int32_t sy_abi_version(void) { return SY_ABI_VERSION; }
SY_EXPORT(sy_order) int32_t sy_order(void) { return 10; }

/* A message (§5.1) in the output area; returns `status`. */
static int32_t message(int32_t status, const char *text) {
  u32 n = 0;
  while (text[n] && n < SY_MAX_MESSAGE_BYTES) { output[4 + n] = (u8)text[n]; n++; }
  *(u32 *)output = n;
  return status;
}
static int32_t message2(int32_t status, const char *a, const u8 *b, u32 blen, const char *c) {
  u32 n = 0;
  while (*a && n < SY_MAX_MESSAGE_BYTES) output[4 + n++] = (u8)*a++;
  while (blen-- && n < SY_MAX_MESSAGE_BYTES) output[4 + n++] = *b++;
  while (*c && n < SY_MAX_MESSAGE_BYTES) output[4 + n++] = (u8)*c++;
  *(u32 *)output = n;
  return status;
}

SY_EXPORT(sy_name) int32_t sy_name(void) { return message(SY_OK, "header-canary-c"); }

/* ---- config: a small JSON reader for an object of strings and arrays of strings. ---- */
#define MAX_VALUES 64
typedef struct { u8 *ptr; u32 len; } str;
static struct {
  int ok;
  str header, tag, tag_value;
  str values[MAX_VALUES];
  u32 value_count;
  int others_all;
  u8 *text; /* decoded strings live here, a copy owned by the config */
  u32 text_cap;
} cfg;

typedef struct { const u8 *p, *end; u8 *out; const char *err; } reader;

static void ws(reader *r) { while (r->p < r->end && (*r->p == ' ' || *r->p == '\t' || *r->p == '\n' || *r->p == '\r')) r->p++; }
static int eat(reader *r, u8 c) { ws(r); if (r->p < r->end && *r->p == c) { r->p++; return 1; } return 0; }
static int hex(u8 c) { return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1; }

/* Reads a JSON string into r->out (UTF-8); s points at its bytes. */
static int read_string(reader *r, str *s) {
  if (!eat(r, '"')) { r->err = "expected a string"; return 0; }
  s->ptr = r->out;
  while (r->p < r->end && *r->p != '"') {
    u8 c = *r->p++;
    if (c < 0x20) { r->err = "control character in a string"; return 0; }
    if (c != '\\') { *r->out++ = c; continue; }
    if (r->p >= r->end) break;
    c = *r->p++;
    switch (c) {
      case '"': case '\\': case '/': *r->out++ = c; break;
      case 'b': *r->out++ = 8; break;
      case 'f': *r->out++ = 12; break;
      case 'n': *r->out++ = 10; break;
      case 'r': *r->out++ = 13; break;
      case 't': *r->out++ = 9; break;
      case 'u': {
        if (r->end - r->p < 4) { r->err = "bad \\u escape"; return 0; }
        int cp = 0;
        for (int i = 0; i < 4; i++) { int h = hex(*r->p++); if (h < 0) { r->err = "bad \\u escape"; return 0; } cp = cp * 16 + h; }
        if (cp < 0x80) *r->out++ = (u8)cp;
        else if (cp < 0x800) { *r->out++ = (u8)(0xc0 | cp >> 6); *r->out++ = (u8)(0x80 | (cp & 63)); }
        else { *r->out++ = (u8)(0xe0 | cp >> 12); *r->out++ = (u8)(0x80 | (cp >> 6 & 63)); *r->out++ = (u8)(0x80 | (cp & 63)); }
        break;
      }
      default: r->err = "bad escape in a string"; return 0;
    }
  }
  if (r->p >= r->end) { r->err = "unterminated string"; return 0; }
  r->p++;
  s->len = (u32)(r->out - s->ptr);
  return 1;
}

static int key_is(str k, const char *name) {
  u32 n = 0;
  while (name[n]) n++;
  return same(k.ptr, k.len, (const u8 *)name, n);
}

SY_EXPORT(sy_configure) int32_t sy_configure(int32_t len) {
  if (len < 0 || (u32)len > area_cap[SY_AREA_INPUT]) return message(SY_BAD_INPUT, "sy_configure: length outside the input area");
  /* Every decoded string is at most as long as its JSON text. */
  if ((u32)len > cfg.text_cap) {
    cfg.text = alloc((u32)len);
    if (cfg.text == 0) return message(SY_BAD_INPUT, "sy_configure: out of memory");
    cfg.text_cap = (u32)len;
  }
  reader r = { area_ptr[SY_AREA_INPUT], area_ptr[SY_AREA_INPUT] + len, cfg.text, 0 };
  str header = { 0, 0 }, tag = { (u8 *)"version", 7 }, tag_value = { (u8 *)"canary", 6 }, others = { (u8 *)"non-canary", 10 };
  int have_header = 0, have_values = 0;
  u32 count = 0;
  cfg.ok = 0;
  if (!eat(&r, '{')) return message(SY_REJECTED, "config: expected a JSON object");
  if (!eat(&r, '}')) {
    do {
      str key;
      if (!read_string(&r, &key)) return message(SY_REJECTED, "config: expected a field name in double quotes");
      if (!eat(&r, ':')) return message(SY_REJECTED, "config: expected ':'");
      if (key_is(key, "values")) {
        if (!eat(&r, '[')) return message(SY_REJECTED, "config field \"values\": expected an array of strings");
        if (!eat(&r, ']')) {
          do {
            if (count == MAX_VALUES) return message(SY_REJECTED, "config field \"values\": at most 64 values");
            if (!read_string(&r, &cfg.values[count])) return message(SY_REJECTED, "config field \"values\": expected a non-empty array of strings");
            count++;
          } while (eat(&r, ','));
          if (!eat(&r, ']')) return message(SY_REJECTED, "config field \"values\": expected ',' or ']'");
        }
        if (count == 0) return message(SY_REJECTED, "config field \"values\": expected a non-empty array of strings");
        have_values = 1;
        continue;
      }
      str *dst = key_is(key, "header") ? &header : key_is(key, "tag") ? &tag : key_is(key, "tagValue") ? &tag_value : key_is(key, "others") ? &others : 0;
      if (dst == 0) return message2(SY_REJECTED, "config field \"", key.ptr, key.len, "\": unknown (known: header, values, tag, tagValue, others)");
      if (!read_string(&r, dst) || dst->len == 0) return message2(SY_REJECTED, "config field \"", key.ptr, key.len, "\": expected a non-empty string");
      if (dst == &header) have_header = 1;
    } while (eat(&r, ','));
    if (!eat(&r, '}')) return message(SY_REJECTED, "config: expected ',' or '}'");
  }
  ws(&r);
  if (r.p != r.end) return message(SY_REJECTED, "config: text after the JSON object");
  if (!have_header) return message(SY_REJECTED, "config field \"header\": required");
  if (!have_values) return message(SY_REJECTED, "config field \"values\": required");
  int all = key_is(others, "all");
  if (!all && !key_is(others, "non-canary")) return message2(SY_REJECTED, "config field \"others\": expected \"non-canary\" or \"all\", got \"", others.ptr, others.len, "\"");
  for (u32 i = 0; i < header.len; i++) if (header.ptr[i] >= 'A' && header.ptr[i] <= 'Z') header.ptr[i] += 32;
  cfg.header = header;
  cfg.tag = tag;
  cfg.tag_value = tag_value;
  cfg.value_count = count;
  cfg.others_all = all;
  cfg.ok = 1;
  return SY_OK;
}

/* ---- host tables: a checked copy of each, groups listed from it on demand. ---- */
static struct { u8 *bytes; u32 len, cap, count; int present; } tables[SY_MAX_TABLES];

/* Walks a table (§4.1); calls `visit(i, has_tag)` for each host when given. Returns 0 when malformed. */
static int walk_table(const u8 *t, u32 len, u32 *count_out, u32 *indices, int want) {
  if (len < 4) return 0;
  u32 count = rd32(t), at = 4, n = 0;
  if (count > SY_MAX_HOSTS) return 0;
  for (u32 i = 0; i < count; i++) {
    if (len - at < 4) return 0;
    u32 alen = rd32(t + at);
    if (alen > len - at - 4 || len - at - 4 - alen < 12) return 0;
    at += 4 + alen + 8;
    u32 tags = rd32(t + at);
    at += 4;
    if (tags > SY_MAX_TAGS_PER_HOST) return 0;
    int tagged = 0;
    for (u32 k = 0; k < tags; k++) {
      str pair[2];
      for (int j = 0; j < 2; j++) {
        if (len - at < 4) return 0;
        u32 slen = rd32(t + at);
        if (slen > len - at - 4) return 0;
        pair[j].ptr = (u8 *)t + at + 4;
        pair[j].len = slen;
        at += 4 + slen;
      }
      if (same(pair[0].ptr, pair[0].len, cfg.tag.ptr, cfg.tag.len) && same(pair[1].ptr, pair[1].len, cfg.tag_value.ptr, cfg.tag_value.len)) tagged = 1;
    }
    if (indices != 0 && tagged == (want == 0)) indices[n++] = i;
  }
  *count_out = indices != 0 ? n : count;
  return 1;
}

SY_EXPORT(sy_set_hosts) int32_t sy_set_hosts(int32_t table, int32_t len) {
  if (table < 0 || table >= SY_MAX_TABLES) return message(SY_BAD_INPUT, "sy_set_hosts: table id out of range");
  if (len < 0 || (u32)len > area_cap[SY_AREA_INPUT]) return message(SY_BAD_INPUT, "sy_set_hosts: length outside the input area");
  u32 count;
  if (!walk_table(area_ptr[SY_AREA_INPUT], (u32)len, &count, 0, 0)) return message(SY_BAD_INPUT, "sy_set_hosts: malformed host table");
  if ((u32)len > tables[table].cap) {
    u8 *p = alloc((u32)len);
    if (p == 0) return message(SY_BAD_INPUT, "sy_set_hosts: out of memory for the table");
    tables[table].bytes = p;
    tables[table].cap = (u32)len;
  }
  copy(tables[table].bytes, area_ptr[SY_AREA_INPUT], (u32)len);
  tables[table].len = (u32)len;
  tables[table].count = count;
  tables[table].present = 1;
  return SY_OK;
}

SY_EXPORT(sy_drop_hosts) int32_t sy_drop_hosts(int32_t table) {
  if (table < 0 || table >= SY_MAX_TABLES || !tables[table].present) return SY_NO_TABLE;
  tables[table].present = 0;
  return SY_OK;
}

/* Group 0: the hosts tagged tag=tagValue; group 1: the others. Indices go to the subset area (§5.3). */
SY_EXPORT(sy_group) int32_t sy_group(int32_t table, int32_t group) {
  if (table < 0 || table >= SY_MAX_TABLES || !tables[table].present) return SY_NO_TABLE;
  if (group != 0 && group != 1) return SY_NO_GROUP;
  if (area_cap[SY_AREA_SUBSET] < tables[table].count * 4) return message(SY_BAD_INPUT, "sy_group: the subset area is smaller than the table");
  u32 n;
  walk_table(tables[table].bytes, tables[table].len, &n, (u32 *)area_ptr[SY_AREA_SUBSET], group);
  *(u32 *)output = n;
  return SY_OK;
}

/* Writes a str (§1) at p; returns the bytes written. */
static u32 put_str(u8 *p, str s) {
  *(u32 *)p = s.len;
  copy(p + 4, s.ptr, s.len);
  return 4 + s.len;
}

SY_EXPORT(sy_route) int32_t sy_route(int32_t table, int32_t len, int32_t subset) {
  (void)subset; /* a group answer is intersected with the offer by the host */
  if (!cfg.ok) return SY_NOT_CONFIGURED;
  if (table < 0 || table >= SY_MAX_TABLES || !tables[table].present) return SY_NO_TABLE;
  if (len < 0 || (u32)len > area_cap[SY_AREA_INPUT]) return message(SY_BAD_INPUT, "sy_route: length outside the input area");
  const u8 *q = area_ptr[SY_AREA_INPUT], *end = q + len;
  /* method, path, authority, then header_count × (name, value) (§4.2). */
  for (int i = 0; i < 3; i++) {
    if (end - q < 4 || rd32(q) > (u32)(end - q - 4)) return message(SY_BAD_INPUT, "sy_route: malformed request");
    q += 4 + rd32(q);
  }
  if (end - q < 4) return message(SY_BAD_INPUT, "sy_route: malformed request");
  u32 headers = rd32(q);
  q += 4;
  int canary = 0;
  for (u32 h = 0; h < headers; h++) {
    str pair[2];
    for (int j = 0; j < 2; j++) {
      if (end - q < 4 || rd32(q) > (u32)(end - q - 4)) return message(SY_BAD_INPUT, "sy_route: malformed request");
      pair[j].ptr = (u8 *)q + 4;
      pair[j].len = rd32(q);
      q += 4 + pair[j].len;
    }
    if (!same(pair[0].ptr, pair[0].len, cfg.header.ptr, cfg.header.len)) continue;
    /* The first occurrence decides, as the AssemblyScript SDK's headerIn does. */
    for (u32 v = 0; v < cfg.value_count; v++) if (same(pair[1].ptr, pair[1].len, cfg.values[v].ptr, cfg.values[v].len)) canary = 1;
    break;
  }
  sy_answer *a = (sy_answer *)output;
  a->verdict = SY_ACCEPT;
  a->arg = 0;
  a->body_len = 0;
  a->meta_count = 0;
  a->meta_len = 0;
  if (canary) {
    a->kept = SY_KEEP_GROUP(0);
    a->meta_count = 1;
    u8 *m = output + SY_ANSWER_HEADER_BYTES;
    u32 n = put_str(m, cfg.tag);
    a->meta_len = n + put_str(m + n, cfg.tag_value);
  } else {
    a->kept = cfg.others_all ? SY_KEEP_ALL : SY_KEEP_GROUP(1);
  }
  return SY_OK;
}
