//! Switchyard router plugin ABI v1 for Rust (sdk/ABI.md): the constants, limits, status codes and layouts of
//! the contract, and the host's imports. The numbers are those of host/abi/limits.ts;
//! test/abi-limits.test.ts checks that this file agrees. std only, no crates: include it with
//! `#[path = ".../sdk/rust/switchyard.rs"] mod switchyard;` and build with
//! `rustc --target wasm32-unknown-unknown --crate-type cdylib -O plugin.rs`.
#![allow(dead_code)]

pub const ABI_VERSION: i32 = 1;

// Limits (sdk/ABI.md §8).
pub const MAX_HOSTS: u32 = 65536;
pub const MAX_TAGS_PER_HOST: u32 = 64;
pub const MAX_WEIGHT: u32 = 1000000;
pub const MAX_TABLES: u32 = 256;
pub const MAX_HEADERS: u32 = 256;
pub const MAX_REQUEST_BYTES: u32 = 262144;
pub const MAX_CONFIG_BYTES: u32 = 1048576;
pub const MAX_MESSAGE_BYTES: u32 = 4096;
pub const MAX_BODY_BYTES: u32 = 65536;
pub const MAX_META_PAIRS: u32 = 32;
pub const MAX_META_BYTES: u32 = 4096;
pub const MAX_WAIT_MS: u32 = 60000;
pub const MAX_LOG_BYTES: u32 = 4096;
pub const MAX_GROUPS: u32 = 64;
pub const MAX_METADATA_BYTES: u32 = 4194304;
pub const MAX_WASM_BYTES: u32 = 8388608;
pub const ANSWER_HEADER_BYTES: u32 = 24;
pub const OUTPUT_BYTES: u32 = ANSWER_HEADER_BYTES + MAX_BODY_BYTES + MAX_META_BYTES;

/// The count of a header list (sy_headers, §4.4) that means "every header".
pub const ALL_HEADERS: u32 = 4294967295;

// Area ids of sy_reserve (§2).
pub const AREA_INPUT: i32 = 0;
pub const AREA_SUBSET: i32 = 1;
pub const AREA_OUTPUT: i32 = 2;

// Status codes (§3).
pub const STATUS_OK: i32 = 0;
pub const STATUS_REJECTED: i32 = 1;
pub const STATUS_BAD_INPUT: i32 = 2;
pub const STATUS_NO_TABLE: i32 = 3;
pub const STATUS_NOT_CONFIGURED: i32 = 4;
pub const STATUS_NO_GROUP: i32 = 5;

// Verdicts (§5.2).
pub const VERDICT_ACCEPT: u32 = 0;
pub const VERDICT_REJECT: u32 = 1;
pub const VERDICT_WAIT: u32 = 2;

/// `kept` of a route answer: every offered host.
pub const KEEP_ALL: i32 = -1;
/// `kept` of a route answer: the offered hosts of group `g` (§5.3).
pub const fn keep_group(g: u32) -> i32 {
    -2 - g as i32
}

/// Host flags (§4.1).
pub const HOST_HEALTHY: u32 = 1;

// Log levels of sy_log (§6).
pub const LOG_TRACE: i32 = 0;
pub const LOG_DEBUG: i32 = 1;
pub const LOG_INFO: i32 = 2;
pub const LOG_WARN: i32 = 3;
pub const LOG_ERROR: i32 = 4;

/// The fixed head of a route answer in the output area (§5.2); body then metadata pairs follow it.
#[repr(C)]
pub struct Answer {
    pub verdict: u32,
    pub kept: i32,
    pub arg: u32,
    pub body_len: u32,
    pub meta_count: u32,
    pub meta_len: u32,
}

// Host imports (§6). Built with `--cfg component`, the same two calls are the world's `host.log` and
// `host.fail` (sdk/wit/router.wit): the same flat parameters, the levels numbered alike.
#[cfg_attr(not(component), link(wasm_import_module = "switchyard"))]
#[cfg_attr(component, link(wasm_import_module = "switchyard:router/host@1.0.0"))]
extern "C" {
    #[cfg_attr(not(component), link_name = "sy_log")]
    #[cfg_attr(component, link_name = "log")]
    fn sy_log_raw(level: i32, ptr: *const u8, len: u32);
    #[cfg_attr(not(component), link_name = "sy_fail")]
    #[cfg_attr(component, link_name = "fail")]
    fn sy_fail_raw(ptr: *const u8, len: u32) -> !;
}

/// One log line (§6).
pub fn log(level: i32, text: &str) {
    unsafe { sy_log_raw(level, text.as_ptr(), text.len() as u32) }
}

/// Fails the current call with `text` as the plugin failure's detail (E_PLUGIN_ABORT); never returns.
pub fn fail(text: &str) -> ! {
    unsafe { sy_fail_raw(text.as_ptr(), text.len() as u32) }
}

/// Routes Rust panics to sy_fail, so that the host reports the panic's message and place instead of
/// `unreachable`. Call it once, e.g. from sy_configure.
pub fn fail_on_panic() {
    std::panic::set_hook(Box::new(|info| fail(&info.to_string())));
}
