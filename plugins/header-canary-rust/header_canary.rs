//! header-canary in Rust, on the raw ABI (sdk/ABI.md) with sdk/rust/switchyard.rs: the rule of
//! plugins/header-canary. Requests whose header holds one of the canary values keep the hosts tagged
//! tag=tagValue (group 0) with that pair as metadata; the others keep the hosts not so tagged (group 1), or
//! every host with "others": "all". A route answer never touches the hosts: groups are listed by sy_group,
//! once per table, from the copy of the table kept at sy_set_hosts.
//!
//! config: {"header":"x-canary","values":["1","true"],"tag":"version","tagValue":"canary","others":"non-canary"}

#[path = "../../sdk/rust/switchyard.rs"]
mod switchyard;
use switchyard::*;

struct Config {
    header: Vec<u8>,
    values: Vec<Vec<u8>>,
    tag: Vec<u8>,
    tag_value: Vec<u8>,
    others_all: bool,
}

struct State {
    input: Vec<u8>,
    subset: Vec<u32>,
    output: Vec<u32>, // u32 words: the output area is 4-byte aligned
    config: Option<Config>,
    tables: Vec<Option<Vec<u8>>>,
}

static mut STATE: Option<State> = None;

fn state() -> &'static mut State {
    unsafe {
        STATE.get_or_insert_with(|| State {
            input: Vec::new(),
            subset: Vec::new(),
            output: vec![0; (OUTPUT_BYTES / 4) as usize],
            config: None,
            tables: (0..MAX_TABLES).map(|_| None).collect(),
        })
    }
}

fn out_bytes(s: &mut State) -> &mut [u8] {
    let len = s.output.len() * 4;
    unsafe { std::slice::from_raw_parts_mut(s.output.as_mut_ptr() as *mut u8, len) }
}

/// A message (§5.1) in the output area; returns `status`.
fn message(status: i32, text: &str) -> i32 {
    let out = out_bytes(state());
    let n = text.len().min(MAX_MESSAGE_BYTES as usize);
    out[0..4].copy_from_slice(&(n as u32).to_le_bytes());
    out[4..4 + n].copy_from_slice(&text.as_bytes()[..n]);
    status
}

#[no_mangle]
pub extern "C" fn sy_abi_version() -> i32 {
    ABI_VERSION
}

#[no_mangle]
pub extern "C" fn sy_order() -> i32 {
    10
}

#[no_mangle]
pub extern "C" fn sy_name() -> i32 {
    message(STATUS_OK, "header-canary-rust")
}

#[no_mangle]
pub extern "C" fn sy_reserve(area: i32, bytes: i32) -> i32 {
    if bytes < 0 {
        return 0;
    }
    let s = state();
    let n = bytes as usize;
    match area {
        AREA_INPUT => {
            if s.input.len() < n {
                s.input = vec![0; n];
            }
            s.input.as_ptr() as i32
        }
        AREA_SUBSET => {
            if s.subset.len() * 4 < n {
                s.subset = vec![0; (n + 3) / 4];
            }
            s.subset.as_ptr() as i32
        }
        AREA_OUTPUT if n <= OUTPUT_BYTES as usize => s.output.as_ptr() as i32,
        _ => 0,
    }
}

// ---- config: a small JSON reader for an object of strings and arrays of strings. ----
struct Reader<'a> {
    b: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn ws(&mut self) {
        while self.at < self.b.len() && matches!(self.b[self.at], b' ' | b'\t' | b'\n' | b'\r') {
            self.at += 1;
        }
    }
    fn eat(&mut self, c: u8) -> bool {
        self.ws();
        if self.at < self.b.len() && self.b[self.at] == c {
            self.at += 1;
            true
        } else {
            false
        }
    }
    fn string(&mut self) -> Option<Vec<u8>> {
        if !self.eat(b'"') {
            return None;
        }
        let mut out = Vec::new();
        while self.at < self.b.len() {
            let c = self.b[self.at];
            self.at += 1;
            match c {
                b'"' => return Some(out),
                b'\\' => {
                    let e = *self.b.get(self.at)?;
                    self.at += 1;
                    match e {
                        b'"' | b'\\' | b'/' => out.push(e),
                        b'b' => out.push(8),
                        b'f' => out.push(12),
                        b'n' => out.push(10),
                        b'r' => out.push(13),
                        b't' => out.push(9),
                        b'u' => {
                            let hex = std::str::from_utf8(self.b.get(self.at..self.at + 4)?).ok()?;
                            let cp = u32::from_str_radix(hex, 16).ok()?;
                            self.at += 4;
                            let ch = char::from_u32(cp).unwrap_or('\u{fffd}');
                            out.extend_from_slice(ch.encode_utf8(&mut [0; 4]).as_bytes());
                        }
                        _ => return None,
                    }
                }
                c if c < 0x20 => return None,
                c => out.push(c),
            }
        }
        None
    }
}

fn parse_config(text: &[u8]) -> Result<Config, String> {
    let mut r = Reader { b: text, at: 0 };
    let (mut header, mut values) = (None, None);
    let (mut tag, mut tag_value, mut others) = (b"version".to_vec(), b"canary".to_vec(), b"non-canary".to_vec());
    if !r.eat(b'{') {
        return Err("config: expected a JSON object".into());
    }
    if !r.eat(b'}') {
        loop {
            let key = r.string().ok_or("config: expected a field name in double quotes")?;
            if !r.eat(b':') {
                return Err("config: expected ':'".into());
            }
            let field = String::from_utf8_lossy(&key).into_owned();
            match key.as_slice() {
                b"values" => {
                    let bad = || "config field \"values\": expected a non-empty array of strings".to_string();
                    if !r.eat(b'[') {
                        return Err(bad());
                    }
                    let mut list = Vec::new();
                    if !r.eat(b']') {
                        loop {
                            list.push(r.string().ok_or_else(bad)?);
                            if !r.eat(b',') {
                                break;
                            }
                        }
                        if !r.eat(b']') {
                            return Err(bad());
                        }
                    }
                    if list.is_empty() {
                        return Err(bad());
                    }
                    values = Some(list);
                }
                b"header" | b"tag" | b"tagValue" | b"others" => {
                    let v = r.string().filter(|v| !v.is_empty()).ok_or_else(|| format!("config field \"{}\": expected a non-empty string", field))?;
                    match key.as_slice() {
                        b"header" => header = Some(v),
                        b"tag" => tag = v,
                        b"tagValue" => tag_value = v,
                        _ => others = v,
                    }
                }
                _ => return Err(format!("config field \"{}\": unknown (known: header, values, tag, tagValue, others)", field)),
            }
            if !r.eat(b',') {
                break;
            }
        }
        if !r.eat(b'}') {
            return Err("config: expected ',' or '}'".into());
        }
    }
    r.ws();
    if r.at != text.len() {
        return Err("config: text after the JSON object".into());
    }
    let header = header.ok_or("config field \"header\": required")?;
    let values = values.ok_or("config field \"values\": required")?;
    let others_all = match others.as_slice() {
        b"all" => true,
        b"non-canary" => false,
        o => return Err(format!("config field \"others\": expected \"non-canary\" or \"all\", got \"{}\"", String::from_utf8_lossy(o))),
    };
    Ok(Config { header: header.to_ascii_lowercase(), values, tag, tag_value, others_all })
}

#[no_mangle]
pub extern "C" fn sy_configure(len: i32) -> i32 {
    fail_on_panic();
    let s = state();
    if len < 0 || len as usize > s.input.len() {
        return message(STATUS_BAD_INPUT, "sy_configure: length outside the input area");
    }
    match parse_config(&s.input[..len as usize]) {
        Ok(c) => {
            s.config = Some(c);
            STATUS_OK
        }
        Err(e) => {
            s.config = None;
            message(STATUS_REJECTED, &e)
        }
    }
}

// ---- host tables: a checked copy of each, groups listed from it on demand. ----
fn rd32(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

fn str_at(b: &[u8], at: &mut usize) -> Option<std::ops::Range<usize>> {
    let n = rd32(b, *at)? as usize;
    let start = *at + 4;
    b.get(start..start + n)?;
    *at = start + n;
    Some(start..start + n)
}

/// Walks a table (§4.1), calling `visit(index, tagged)` per host; None when malformed.
fn walk_table(t: &[u8], tag: Option<(&[u8], &[u8])>, mut visit: impl FnMut(u32, bool)) -> Option<u32> {
    let count = rd32(t, 0)?;
    if count > MAX_HOSTS {
        return None;
    }
    let mut at = 4;
    for i in 0..count {
        str_at(t, &mut at)?;
        rd32(t, at + 4)?;
        at += 8;
        let tags = rd32(t, at)?;
        at += 4;
        if tags > MAX_TAGS_PER_HOST {
            return None;
        }
        let mut tagged = false;
        for _ in 0..tags {
            let k = str_at(t, &mut at)?;
            let v = str_at(t, &mut at)?;
            if let Some((tk, tv)) = tag {
                tagged |= &t[k] == tk && &t[v] == tv;
            }
        }
        visit(i, tagged);
    }
    Some(count)
}

#[no_mangle]
pub extern "C" fn sy_set_hosts(table: i32, len: i32) -> i32 {
    let s = state();
    if table < 0 || table as u32 >= MAX_TABLES {
        return message(STATUS_BAD_INPUT, "sy_set_hosts: table id out of range");
    }
    if len < 0 || len as usize > s.input.len() {
        return message(STATUS_BAD_INPUT, "sy_set_hosts: length outside the input area");
    }
    let bytes = &s.input[..len as usize];
    if walk_table(bytes, None, |_, _| {}).is_none() {
        return message(STATUS_BAD_INPUT, "sy_set_hosts: malformed host table");
    }
    let slot = &mut s.tables[table as usize];
    let copy = slot.get_or_insert_with(Vec::new);
    copy.clear();
    copy.extend_from_slice(bytes);
    STATUS_OK
}

#[no_mangle]
pub extern "C" fn sy_drop_hosts(table: i32) -> i32 {
    match state().tables.get_mut(table as usize) {
        Some(slot @ Some(_)) if table >= 0 => {
            *slot = None;
            STATUS_OK
        }
        _ => STATUS_NO_TABLE,
    }
}

/// Group 0: the hosts tagged tag=tagValue; group 1: the others. Indices go to the subset area (§5.3).
#[no_mangle]
pub extern "C" fn sy_group(table: i32, group: i32) -> i32 {
    let s = state();
    let t = match (table >= 0).then(|| s.tables.get(table as usize)).flatten() {
        Some(Some(t)) => t,
        _ => return STATUS_NO_TABLE,
    };
    if group != 0 && group != 1 {
        return STATUS_NO_GROUP;
    }
    let c = match &s.config {
        Some(c) => c,
        None => return STATUS_NOT_CONFIGURED,
    };
    let want = group == 0;
    let subset = &mut s.subset;
    let mut n = 0usize;
    let mut overflow = false;
    walk_table(t, Some((&c.tag, &c.tag_value)), |i, tagged| {
        if tagged == want {
            match subset.get_mut(n) {
                Some(slot) => *slot = i,
                None => overflow = true,
            }
            n += 1;
        }
    });
    if overflow {
        return message(STATUS_BAD_INPUT, "sy_group: the subset area is smaller than the table");
    }
    s.output[0] = n as u32;
    STATUS_OK
}

#[no_mangle]
pub extern "C" fn sy_route(table: i32, len: i32, _subset: i32) -> i32 {
    let s = state();
    let c = match &s.config {
        Some(c) => c,
        None => return STATUS_NOT_CONFIGURED,
    };
    if !matches!((table >= 0).then(|| s.tables.get(table as usize)).flatten(), Some(Some(_))) {
        return STATUS_NO_TABLE;
    }
    if len < 0 || len as usize > s.input.len() {
        return message(STATUS_BAD_INPUT, "sy_route: length outside the input area");
    }
    let q = &s.input[..len as usize];
    let canary = match request_is_canary(q, c) {
        Some(v) => v,
        None => return message(STATUS_BAD_INPUT, "sy_route: malformed request"),
    };
    let (kept, meta) = if canary {
        (keep_group(0), true)
    } else if c.others_all {
        (KEEP_ALL, false)
    } else {
        (keep_group(1), false)
    };
    let (tag, tag_value) = (c.tag.clone(), c.tag_value.clone());
    let out = out_bytes(s);
    let mut meta_len = 0usize;
    if meta {
        for v in [&tag, &tag_value] {
            let at = ANSWER_HEADER_BYTES as usize + meta_len;
            out[at..at + 4].copy_from_slice(&(v.len() as u32).to_le_bytes());
            out[at + 4..at + 4 + v.len()].copy_from_slice(v);
            meta_len += 4 + v.len();
        }
    }
    let head = [VERDICT_ACCEPT, kept as u32, 0, 0, meta as u32, meta_len as u32];
    for (i, w) in head.iter().enumerate() {
        out[i * 4..i * 4 + 4].copy_from_slice(&w.to_le_bytes());
    }
    STATUS_OK
}

/// Reads the request (§4.2); whether the first occurrence of the header holds a canary value, as the
/// AssemblyScript SDK's headerIn decides.
fn request_is_canary(q: &[u8], c: &Config) -> Option<bool> {
    let mut at = 0;
    for _ in 0..3 {
        str_at(q, &mut at)?;
    }
    let headers = rd32(q, at)?;
    at += 4;
    for _ in 0..headers {
        let name = str_at(q, &mut at)?;
        let value = str_at(q, &mut at)?;
        if q[name] == c.header[..] {
            return Some(c.values.iter().any(|v| q[value.clone()] == v[..]));
        }
    }
    Some(false)
}
