// Every limit of ABI v1 in one place (sdk/ABI.md §8). The guest side keeps the same numbers in
// sdk/assembly/limits.ts; test/abi-limits.test.ts checks that the two files agree.

export const ABI_VERSION = 1;
export const MAX_HOSTS = 65536;
export const MAX_TAGS_PER_HOST = 64;
export const MAX_WEIGHT = 1000000;
export const MAX_TABLES = 256;
export const MAX_HEADERS = 256;
export const MAX_REQUEST_BYTES = 262144;
export const MAX_CONFIG_BYTES = 1048576;
export const MAX_MESSAGE_BYTES = 4096;
export const MAX_BODY_BYTES = 65536;
export const MAX_META_PAIRS = 32;
export const MAX_META_BYTES = 4096;
export const MAX_WAIT_MS = 60000;
export const MAX_LOG_BYTES = 4096;
/** Groups a plugin may name per host table (§5.3); each costs the host at most one Uint32Array of the table's size. */
export const MAX_GROUPS = 64;
/**
 * Bundle files (§9), checked on the open file before it is read (host/plugin/bundle-files.ts). metadata.json:
 * four times MAX_CONFIG_BYTES, so that a defaultConfig at its own limit fits even when JSON escaping doubles it
 * (every quote of a JSON config becomes \"), with room for the other fields; parsing one this size takes ~30 ms.
 */
export const MAX_METADATA_BYTES = 4194304;
/**
 * The wasm: 8 MiB, over a hundred times the largest example bundle (~60 KB) and above a release-built Rust or C
 * plugin with a regex engine and a JSON parser (0.5-3 MB); a bundle this size loads with event-loop stalls under
 * ~60 ms and ~40 MB more memory (docs/operations.md). Debug sections are what make a module bigger: strip them.
 */
export const MAX_WASM_BYTES = 8388608;
export const ANSWER_HEADER_BYTES = 24;
export const OUTPUT_BYTES = ANSWER_HEADER_BYTES + MAX_BODY_BYTES + MAX_META_BYTES;

/** Area ids of sy_reserve (§2). */
export const AREA_INPUT = 0;
export const AREA_SUBSET = 1;
export const AREA_OUTPUT = 2;

/** Status codes of the sy_* calls (§3). */
export const STATUS_OK = 0;
export const STATUS_REJECTED = 1;
export const STATUS_BAD_INPUT = 2;
export const STATUS_NO_TABLE = 3;
export const STATUS_NOT_CONFIGURED = 4;
export const STATUS_NO_GROUP = 5;

/** Verdicts of a route answer (§5.2). */
export const VERDICT_ACCEPT = 0;
export const VERDICT_REJECT = 1;
export const VERDICT_WAIT = 2;

/** Log levels of sy_log (§6). */
export const LOG_TRACE = 0;
export const LOG_DEBUG = 1;
export const LOG_INFO = 2;
export const LOG_WARN = 3;
export const LOG_ERROR = 4;

export const REQUIRED_EXPORTS = [
  "memory",
  "sy_abi_version",
  "sy_reserve",
  "sy_name",
  "sy_order",
  "sy_configure",
  "sy_set_hosts",
  "sy_drop_hosts",
  "sy_route",
] as const;

/** Needed only by a plugin that answers with groups (§5.3); checked when it first does. */
export const SY_GROUP = "sy_group";

/**
 * Optional (§4.4): after every sy_configure that returned OK the host calls it to learn the headers the
 * configured plugin reads; without it the bundle's metadata.json `headers` apply.
 */
export const SY_HEADERS = "sy_headers";
/** A header list's count that means "every header" (§4.4). */
export const ALL_HEADERS = 0xffffffff;
