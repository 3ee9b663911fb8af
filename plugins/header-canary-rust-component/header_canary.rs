//! header-canary in Rust as a WebAssembly component of switchyard:router/plugin@1.0.0 (sdk/wit/router.wit):
//! the raw Rust plugin's rule (plugins/header-canary-rust, as a module) under the world's functions, written
//! by hand in the canonical ABI (sdk/wit/README.md "Canonical ABI layouts"): each export turns its flat
//! parameters into the raw call's ABI v1 bytes and answers through a return area. std only, no
//! wit-bindgen; `jco embed` and `jco new` make the component. What cabi_realloc gives the host is freed by
//! the cabi_post_* the host calls after it read the answer.

#[path = "../header-canary-rust/header_canary.rs"]
mod raw;

use raw::*;
use std::alloc::{alloc, dealloc, Layout};

const AREA_INPUT: i32 = 0;
const AREA_SUBSET: i32 = 1;
const AREA_OUTPUT: i32 = 2;
const STATUS_OK: i32 = 0;
const OUTPUT_BYTES: i32 = 24 + 65536 + 4096;
const MAX_HOSTS: i32 = 65536;

static mut LENT: Vec<(*mut u8, Layout)> = Vec::new();
static mut RET: [u32; 8] = [0; 8];
static mut META: [u32; 128] = [0; 128];
static NAME: &str = "header-canary-rust-component";

#[no_mangle]
pub unsafe extern "C" fn cabi_realloc(old: *mut u8, old_size: usize, align: usize, size: usize) -> *mut u8 {
    let layout = Layout::from_size_align(size.max(1), align).unwrap();
    let p = alloc(layout);
    if p.is_null() {
        std::process::abort();
    }
    if !old.is_null() {
        std::ptr::copy_nonoverlapping(old, p, old_size.min(size));
    }
    LENT.push((p, layout));
    p
}

unsafe fn give_back() {
    for (p, l) in LENT.drain(..) {
        dealloc(p, l);
    }
}

#[export_name = "cabi_post_name"]
pub unsafe extern "C" fn post_name(_r: u32) { give_back() }
#[export_name = "cabi_post_configure"]
pub unsafe extern "C" fn post_configure(_r: u32) { give_back() }
#[export_name = "cabi_post_headers"]
pub unsafe extern "C" fn post_headers(_r: u32) { give_back() }
#[export_name = "cabi_post_set-hosts"]
pub unsafe extern "C" fn post_set_hosts(_r: u32) { give_back() }
#[export_name = "cabi_post_route"]
pub unsafe extern "C" fn post_route(_r: u32) { give_back() }
#[export_name = "cabi_post_group"]
pub unsafe extern "C" fn post_group(_r: u32) { give_back() }

unsafe fn ret() -> *mut u32 {
    std::ptr::addr_of_mut!(RET) as *mut u32
}
unsafe fn output() -> *mut u8 {
    sy_reserve(AREA_OUTPUT, OUTPUT_BYTES) as usize as *mut u8
}
unsafe fn rd32(p: *const u8) -> u32 {
    u32::from_le_bytes([*p, *p.add(1), *p.add(2), *p.add(3)])
}

/// result<_, string> from a raw status: err carries the message the raw call wrote (ABI §5.1).
unsafe fn status_result(status: i32) -> *mut u32 {
    let r = ret();
    let out = output();
    *r = if status == STATUS_OK { 0 } else { 1 };
    *r.add(1) = out.add(4) as u32;
    *r.add(2) = if status == STATUS_OK { 0 } else { rd32(out) };
    r
}

/// Appends a (u32 length, bytes) string (ABI §1) at p; returns the end.
unsafe fn put(p: *mut u8, s: *const u8, len: u32) -> *mut u8 {
    std::ptr::copy_nonoverlapping(len.to_le_bytes().as_ptr(), p, 4);
    std::ptr::copy_nonoverlapping(s, p.add(4), len as usize);
    p.add(4 + len as usize)
}
unsafe fn put32(p: *mut u8, v: u32) -> *mut u8 {
    std::ptr::copy_nonoverlapping(v.to_le_bytes().as_ptr(), p, 4);
    p.add(4)
}
unsafe fn input(bytes: u32) -> *mut u8 {
    sy_reserve(AREA_INPUT, bytes as i32) as usize as *mut u8
}

#[export_name = "name"]
pub unsafe extern "C" fn name() -> *mut u32 {
    let r = ret();
    *r = NAME.as_ptr() as u32;
    *r.add(1) = NAME.len() as u32;
    r
}

#[export_name = "order"]
pub extern "C" fn order() -> i32 {
    sy_order()
}

#[export_name = "configure"]
pub unsafe extern "C" fn configure(text: *const u8, len: u32) -> *mut u32 {
    let inp = input(len);
    std::ptr::copy_nonoverlapping(text, inp, len as usize);
    status_result(sy_configure(len as i32))
}

/// The raw plugin reads the headers metadata.json names: the defaults are its answer.
#[export_name = "headers"]
pub unsafe extern "C" fn headers(some: u32, list: u32, count: u32) -> *mut u32 {
    let r = ret();
    *r = 0;
    *r.add(1) = some;
    *r.add(2) = list;
    *r.add(3) = count;
    r
}

/// host: address (ptr, len) @0, weight @8, healthy u8 @12, tags (ptr, count) @16 of (k ptr, k len, v ptr, v len).
#[export_name = "set-hosts"]
pub unsafe extern "C" fn set_hosts(table: u32, hosts: *const u32, count: u32) -> *mut u32 {
    let mut bytes = 4u32;
    for i in 0..count as usize {
        let h = hosts.add(i * 6);
        bytes += 4 + *h.add(1) + 12;
        let tags = *h.add(4) as usize as *const u32;
        for k in 0..*h.add(5) as usize {
            bytes += 8 + *tags.add(k * 4 + 1) + *tags.add(k * 4 + 3);
        }
    }
    let mut p = put32(input(bytes), count);
    for i in 0..count as usize {
        let h = hosts.add(i * 6);
        p = put(p, *h as usize as *const u8, *h.add(1));
        p = put32(p, *h.add(2));
        p = put32(p, *(h.add(3) as *const u8) as u32);
        p = put32(p, *h.add(5));
        let tags = *h.add(4) as usize as *const u32;
        for k in 0..*h.add(5) as usize {
            p = put(p, *tags.add(k * 4) as usize as *const u8, *tags.add(k * 4 + 1));
            p = put(p, *tags.add(k * 4 + 2) as usize as *const u8, *tags.add(k * 4 + 3));
        }
    }
    status_result(sy_set_hosts(table as i32, bytes as i32))
}

#[export_name = "drop-hosts"]
pub extern "C" fn drop_hosts(table: u32) {
    sy_drop_hosts(table as i32);
}

unsafe fn err(text: &str) -> *mut u32 {
    let out = output();
    put(out, text.as_ptr(), text.len() as u32);
    status_result(2)
}

#[export_name = "route"]
pub unsafe extern "C" fn route(
    table: u32, m: *const u8, mlen: u32, path: *const u8, plen: u32, auth: *const u8, alen: u32,
    hdrs: *const u32, hcount: u32, some: u32, _offered: *const u32, ocount: u32,
) -> *mut u32 {
    let mut bytes = 12 + mlen + plen + alen + 4;
    for i in 0..hcount as usize {
        bytes += 8 + *hdrs.add(i * 4 + 1) + *hdrs.add(i * 4 + 3);
    }
    let mut p = put(put(put(input(bytes), m, mlen), path, plen), auth, alen);
    p = put32(p, hcount);
    for i in 0..hcount as usize {
        let h = hdrs.add(i * 4);
        p = put(put(p, *h as usize as *const u8, *h.add(1)), *h.add(2) as usize as *const u8, *h.add(3));
    }
    let status = sy_route(table as i32, bytes as i32, if some != 0 { ocount as i32 } else { -1 });
    match status {
        0 => {}
        3 => return err("route: no such table"),
        4 => return err("route: not configured"),
        s => return status_result(s),
    }
    let out = output();
    let kept = rd32(out.add(4)) as i32;
    let body_len = rd32(out.add(12));
    let meta_count = rd32(out.add(16));
    let r = ret();
    let rb = r as *mut u8;
    *r = 0; // ok
    *rb.add(4) = 0; // accept: the raw rule answers nothing else
    if kept == -1 {
        *rb.add(8) = 0;
    } else {
        *rb.add(8) = 2;
        *r.add(3) = (-2 - kept) as u32;
    }
    let meta = std::ptr::addr_of_mut!(META) as *mut u32;
    let mut q = out.add(24 + body_len as usize) as *const u8;
    for i in 0..(meta_count * 2) as usize {
        let len = rd32(q);
        *meta.add(i * 2) = q.add(4) as u32;
        *meta.add(i * 2 + 1) = len;
        q = q.add(4 + len as usize);
    }
    *r.add(5) = meta as u32;
    *r.add(6) = meta_count;
    r
}

/// option<list<u32>>: the group's indices from the raw sy_group, in the subset area.
#[export_name = "group"]
pub unsafe extern "C" fn group(table: u32, g: u32) -> *mut u32 {
    let r = ret();
    *r = 0;
    let subset = sy_reserve(AREA_SUBSET, MAX_HOSTS * 4);
    if subset == 0 || sy_group(table as i32, g as i32) != STATUS_OK {
        return r;
    }
    *r = 1;
    *r.add(1) = subset as u32;
    *r.add(2) = rd32(output());
    r
}
