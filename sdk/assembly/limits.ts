// The limits of ABI v1 (sdk/ABI.md §8). host/abi/limits.ts holds the same numbers; a test compares the two
// files line by line, so keep one `export const NAME: i32 = value;` per line.

export const ABI_VERSION: i32 = 1;
export const MAX_HOSTS: i32 = 65536;
export const MAX_TAGS_PER_HOST: i32 = 64;
export const MAX_WEIGHT: i32 = 1000000;
export const MAX_TABLES: i32 = 256;
export const MAX_HEADERS: i32 = 256;
export const MAX_REQUEST_BYTES: i32 = 262144;
export const MAX_CONFIG_BYTES: i32 = 1048576;
export const MAX_MESSAGE_BYTES: i32 = 4096;
export const MAX_BODY_BYTES: i32 = 65536;
export const MAX_META_PAIRS: i32 = 32;
export const MAX_META_BYTES: i32 = 4096;
export const MAX_WAIT_MS: i32 = 60000;
export const MAX_LOG_BYTES: i32 = 4096;
export const MAX_GROUPS: i32 = 64;
export const OUTPUT_BYTES: i32 = 69656;
