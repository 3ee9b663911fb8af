/* Switchyard router plugin ABI v1 for C (sdk/ABI.md): the constants, limits, status codes and layouts of the
 * contract, and the host's imports. The numbers are those of host/abi/limits.ts; test/abi-limits.test.ts
 * checks that this file agrees. No libc is needed: build with
 *   clang --target=wasm32 -nostdlib -O2 -Wl,--no-entry -Wl,--export-dynamic -o plugin.wasm plugin.c
 */
#ifndef SWITCHYARD_H
#define SWITCHYARD_H

#include <stdint.h>

#define SY_ABI_VERSION 1

/* Limits (sdk/ABI.md §8). */
#define SY_MAX_HOSTS 65536
#define SY_MAX_TAGS_PER_HOST 64
#define SY_MAX_WEIGHT 1000000
#define SY_MAX_TABLES 256
#define SY_MAX_HEADERS 256
#define SY_MAX_REQUEST_BYTES 262144
#define SY_MAX_CONFIG_BYTES 1048576
#define SY_MAX_MESSAGE_BYTES 4096
#define SY_MAX_BODY_BYTES 65536
#define SY_MAX_META_PAIRS 32
#define SY_MAX_META_BYTES 4096
#define SY_MAX_WAIT_MS 60000
#define SY_MAX_LOG_BYTES 4096
#define SY_MAX_GROUPS 64
#define SY_MAX_METADATA_BYTES 4194304
#define SY_MAX_WASM_BYTES 8388608
#define SY_ANSWER_HEADER_BYTES 24
#define SY_OUTPUT_BYTES (SY_ANSWER_HEADER_BYTES + SY_MAX_BODY_BYTES + SY_MAX_META_BYTES)

/* The count of a header list (sy_headers, §4.4) that means "every header". */
#define SY_ALL_HEADERS 4294967295u

/* Area ids of sy_reserve (§2). */
#define SY_AREA_INPUT 0
#define SY_AREA_SUBSET 1
#define SY_AREA_OUTPUT 2

/* Status codes (§3). */
#define SY_OK 0
#define SY_REJECTED 1
#define SY_BAD_INPUT 2
#define SY_NO_TABLE 3
#define SY_NOT_CONFIGURED 4
#define SY_NO_GROUP 5

/* Verdicts (§5.2). */
#define SY_ACCEPT 0
#define SY_REJECT 1
#define SY_WAIT 2

/* kept values of a route answer (§5.2): every offered host, or the offered hosts of group g. */
#define SY_KEEP_ALL (-1)
#define SY_KEEP_GROUP(g) (-2 - (int32_t)(g))

/* Host flags (§4.1). */
#define SY_HOST_HEALTHY 1u

/* Log levels of sy_log (§6). */
#define SY_LOG_TRACE 0
#define SY_LOG_DEBUG 1
#define SY_LOG_INFO 2
#define SY_LOG_WARN 3
#define SY_LOG_ERROR 4

/* The fixed head of a route answer in the output area (§5.2); body then metadata pairs follow it. */
typedef struct {
  uint32_t verdict;
  int32_t kept;
  uint32_t arg;
  uint32_t body_len;
  uint32_t meta_count;
  uint32_t meta_len;
} sy_answer;

/* Host imports (§6). sy_fail never returns: the call becomes a plugin failure E_PLUGIN_ABORT whose detail is
 * the message, the language-neutral counterpart of AssemblyScript's env.abort. */
__attribute__((import_module("switchyard"), import_name("sy_log"))) void sy_log(int32_t level, const void *ptr, uint32_t len);
__attribute__((import_module("switchyard"), import_name("sy_fail"), noreturn)) void sy_fail(const void *ptr, uint32_t len);

/* Marks a function as one of the sy_* exports of §3. */
#define SY_EXPORT(name) __attribute__((export_name(#name)))

#endif
