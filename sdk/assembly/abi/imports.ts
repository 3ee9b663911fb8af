// The one host function of ABI v1 (§6) besides AssemblyScript's own `env.abort`.

/** Log `len` UTF-8 bytes at `ptr`; levels 0 trace, 1 debug, 2 info, 3 warn, 4 error. */
@external("switchyard", "sy_log")
export declare function sy_log(level: i32, ptr: usize, len: i32): void;
