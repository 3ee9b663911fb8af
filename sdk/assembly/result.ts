// What a handler decides for one request. The default answer keeps every offered host (ABI kept = -1),
// which costs nothing per host. Limits of ABI v1 §5.2 are enforced here, at the call that breaks them,
// so an author sees an abort naming the call instead of a host-side E_PLUGIN_ANSWER.

import { MAX_BODY_BYTES, MAX_META_BYTES, MAX_META_PAIRS, MAX_WAIT_MS } from "./limits";
import { keptMarks, Marks } from "./marks";
import { Host, Hosts } from "./hosts";
import { TagList } from "./table";
import { VERDICT_ACCEPT, VERDICT_REJECT, VERDICT_WAIT } from "./abi/status";

/** ABI v1 §5.2: the metadata key with which a Reject names the gRPC status of a gRPC call's answer. */
export const GRPC_STATUS_KEY = "grpc-status";
/** gRPC's status codes (grpc/status.proto), for Result.rejectGrpc. */
export enum GrpcCode {
  OK = 0, CANCELLED = 1, UNKNOWN = 2, INVALID_ARGUMENT = 3, DEADLINE_EXCEEDED = 4, NOT_FOUND = 5, ALREADY_EXISTS = 6,
  PERMISSION_DENIED = 7, RESOURCE_EXHAUSTED = 8, FAILED_PRECONDITION = 9, ABORTED = 10, OUT_OF_RANGE = 11,
  UNIMPLEMENTED = 12, INTERNAL = 13, UNAVAILABLE = 14, DATA_LOSS = 15, UNAUTHENTICATED = 16,
}

/**
 * By gRPC status code 0..16 (OK .. UNAUTHENTICATED): the HTTP status of the same meaning, which a request that
 * is not a gRPC call is answered with (429 for RESOURCE_EXHAUSTED, 503 for UNAVAILABLE, …).
 */
const GRPC_HTTP_STATUS: StaticArray<i32> = [200, 499, 500, 400, 504, 404, 409, 403, 429, 400, 409, 400, 501, 500, 503, 500, 401];

/** Nothing decided yet: every offered host is kept; the first keep() narrows to what is kept. */
const MODE_DEFAULT: i32 = 0;
/** keepAll(): every offered host is kept; keep() changes nothing. */
const MODE_ALL: i32 = 1;
/** An explicit set in keptMarks / kept. */
const MODE_SOME: i32 = 2;
/** The offered hosts that are in `group` (a tag list of the table): answered as a group (ABI §5.3). */
const MODE_GROUP: i32 = 3;

export class Result {
  verdict: u32 = VERDICT_ACCEPT;
  /** REJECT: HTTP status; WAIT: milliseconds. */
  arg: u32 = 0;
  body: string = "";
  bodyBytes: i32 = 0;
  metaKeys: string[] = [];
  metaValues: string[] = [];
  /** Bytes of the encoded metadata pairs (u32 len + bytes per string). */
  metaBytes: i32 = 0;
  mode: i32 = MODE_DEFAULT;
  /** Candidates in keep order; an entry counts only while keptMarks has it (drop() unmarks). */
  kept: i32[] = [];
  /** Whether `kept` is in increasing order, so the answer needs no sort. */
  keptAscending: bool = true;
  /** Set by unsafe.rawAnswer: the plugin wrote the output area itself. */
  raw: bool = false;
  /** MODE_GROUP: the tag list whose offered hosts are kept. */
  group: TagList | null = null;

  constructor(private hosts: Hosts) {}

  /** Start over for the next request (the SDK reuses one Result, so that routing allocates nothing). */
  reset(hosts: Hosts): void {
    // Reference fields are stored only when they change: every store of one is a GC write barrier call.
    if (this.hosts !== hosts) this.hosts = hosts;
    this.verdict = VERDICT_ACCEPT;
    this.arg = 0;
    if (this.bodyBytes != 0 || this.body.length != 0) this.body = "";
    this.bodyBytes = 0;
    // Only when not empty already: the length setter is a call that checks capacity.
    if (this.metaKeys.length != 0) {
      this.metaKeys.length = 0;
      this.metaValues.length = 0;
    }
    this.metaBytes = 0;
    this.mode = MODE_DEFAULT;
    if (this.kept.length != 0) this.kept.length = 0;
    this.keptAscending = true;
    this.raw = false;
    if (this.group !== null) this.group = null;
  }

  /** Keep `host`. The first keep() after no decision narrows the answer to the hosts kept. */
  keep(host: Host): void {
    if (this.mode == MODE_ALL) return;
    this.check(host, "keep");
    if (this.mode == MODE_DEFAULT) this.startSome();
    else if (this.mode == MODE_GROUP) this.explicit();
    const index = host.index;
    if (keptMarks.has(index)) return;
    keptMarks.add(index);
    const n = this.kept.length;
    if (n > 0 && unchecked(this.kept[n - 1]) > index) this.keptAscending = false;
    this.kept.push(index);
  }

  /** Keep every host of `hosts`. */
  keepEach(hosts: Host[]): void {
    for (let i = 0; i < hosts.length; i++) this.keep(unchecked(hosts[i]));
  }

  /**
   * Keep the offered hosts tagged key=value. O(1) when it is the first decision (the answer names the
   * table's group, ABI §5.3: nothing is written per host); O(hosts with that tag) after other keeps.
   */
  keepTagged(key: string, value: string): void {
    if (this.mode == MODE_ALL) return;
    const list = this.hosts.tagList(key, value);
    if (this.mode == MODE_DEFAULT) {
      if (list !== null && this.hosts.hostTable().groupOf(list) >= 0) {
        this.mode = MODE_GROUP;
        this.group = list;
        return;
      }
      this.startSome();
    } else if (this.mode == MODE_GROUP) {
      if (list === this.group) return;
      this.explicit();
    }
    if (list !== null) this.keepList(list);
  }

  /**
   * Drop the offered hosts tagged key=value and keep the rest. O(1) when it is the first decision (the
   * answer names the group of the other hosts, built once per table); O(offered) otherwise.
   */
  dropTagged(key: string, value: string): void {
    const list = this.hosts.tagList(key, value);
    if (list === null) return;
    if (this.mode == MODE_DEFAULT || this.mode == MODE_ALL) {
      const others = this.hosts.hostTable().complementOf(list);
      if (this.hosts.hostTable().groupOf(others) >= 0) {
        this.mode = MODE_GROUP;
        this.group = others;
        return;
      }
    }
    if (this.mode != MODE_SOME) this.explicit();
    const indices = list.indices;
    for (let i = 0; i < indices.length; i++) keptMarks.remove(unchecked(indices[i]));
  }

  /** Drop `host`. After no decision or keepAll() this costs O(offered) once: the set becomes explicit. */
  drop(host: Host): void {
    this.check(host, "drop");
    if (this.mode != MODE_SOME) this.explicit();
    keptMarks.remove(host.index);
  }

  /** Turn the answer as it stands into an explicit set of kept indices. */
  private explicit(): void {
    const mode = this.mode;
    const group = this.group;
    this.startSome();
    if (mode == MODE_GROUP) this.keepList(group!);
    else if (mode != MODE_SOME) {
      for (let i = 0; i < this.hosts.length; i++) {
        const index = this.hosts.indexAt(i);
        keptMarks.add(index);
        this.kept.push(index);
      }
    }
  }

  /** Add the offered hosts of `list` to the explicit set. */
  private keepList(list: TagList): void {
    const indices = list.indices;
    const offered: Marks | null = this.hosts.all ? null : this.hosts.marks();
    for (let i = 0; i < indices.length; i++) {
      const index = unchecked(indices[i]);
      if (offered !== null && !offered.has(index)) continue;
      if (keptMarks.has(index)) continue;
      keptMarks.add(index);
      const n = this.kept.length;
      if (n > 0 && unchecked(this.kept[n - 1]) > index) this.keptAscending = false;
      this.kept.push(index);
    }
  }

  /** Keep every offered host. */
  keepAll(): void {
    this.mode = MODE_ALL;
    this.group = null;
    this.kept.length = 0;
    this.keptAscending = true;
  }

  /** Keep no host: an empty subset (the route's fallback policy decides what happens). */
  keepNone(): void {
    this.startSome();
  }

  /** Whether `host` is kept by the answer as it stands. */
  isKept(host: Host): bool {
    if (!this.hosts.offers(host.index)) return false;
    if (this.mode == MODE_GROUP) return this.group!.has(host.index);
    return this.mode != MODE_SOME || keptMarks.has(host.index);
  }

  /** Require every kept host to carry tag key=value (MOSN: "all hosts must contain the same tag"). */
  setMetadata(key: string, value: string): void {
    let index = -1;
    for (let i = 0; i < this.metaKeys.length; i++) if (this.metaKeys[i] == key) index = i;
    const size = 8 + String.UTF8.byteLength(key) + String.UTF8.byteLength(value);
    let total = this.metaBytes + size;
    if (index >= 0) {
      total -= 8 + String.UTF8.byteLength(key) + String.UTF8.byteLength(this.metaValues[index]);
    } else if (this.metaKeys.length >= MAX_META_PAIRS) {
      abort("Result.setMetadata: more than MAX_META_PAIRS (" + MAX_META_PAIRS.toString() + ") pairs, adding key \"" + key + "\"");
    }
    if (total > MAX_META_BYTES) {
      abort("Result.setMetadata: metadata of " + total.toString() + " bytes exceeds MAX_META_BYTES (" + MAX_META_BYTES.toString() + "), adding key \"" + key + "\"");
    }
    if (index >= 0) this.metaValues[index] = value;
    else {
      this.metaKeys.push(key);
      this.metaValues.push(value);
    }
    this.metaBytes = total;
  }

  /**
   * Answer the request now with `status` (200..599) and `body`; later plugins are not called. A gRPC call gets
   * the gRPC status gRPC's own table gives for `status` (sdk/ABI.md §5.2); rejectGrpc chooses one. A reject()
   * after rejectGrpc() drops its gRPC status: the last verdict given is the answer.
   */
  reject(status: i32, body: string): void {
    this.dropMetadata(GRPC_STATUS_KEY);
    if (status < 200 || status > 599) abort("Result.reject: status " + status.toString() + " is not in 200..599");
    const bytes = String.UTF8.byteLength(body);
    if (bytes > MAX_BODY_BYTES) {
      abort("Result.reject: body of " + bytes.toString() + " bytes exceeds MAX_BODY_BYTES (" + MAX_BODY_BYTES.toString() + ")");
    }
    this.verdict = VERDICT_REJECT;
    this.arg = <u32>status;
    this.body = body;
    this.bodyBytes = bytes;
  }

  /**
   * Answer the request now with gRPC status `code` (0..16, gRPC's codes: 8 RESOURCE_EXHAUSTED, 9
   * FAILED_PRECONDITION, …) and `message` (grpc-message; the host percent-encodes it), for a gRPC call; a
   * request that is not one is answered HTTP `httpStatus` with `message` as the body, by default the status of
   * the same meaning (429 for RESOURCE_EXHAUSTED, 400 for FAILED_PRECONDITION, 503 for UNAVAILABLE, …).
   * Sent as reject(httpStatus, message) with metadata grpc-status = code (sdk/ABI.md §5.2).
   */
  rejectGrpc(code: i32, message: string, httpStatus: i32 = 0): void {
    if (code < 0 || code > 16) abort("Result.rejectGrpc: code " + code.toString() + " is not a gRPC status code 0..16");
    this.reject(httpStatus == 0 ? unchecked(GRPC_HTTP_STATUS[code]) : httpStatus, message);
    this.setMetadata(GRPC_STATUS_KEY, code.toString());
  }

  /** Ask the host to decide this request again after `ms` (1..MAX_WAIT_MS) milliseconds. */
  wait(ms: i32): void {
    if (ms < 1 || ms > MAX_WAIT_MS) abort("Result.wait: " + ms.toString() + " ms is not in 1.." + MAX_WAIT_MS.toString());
    this.verdict = VERDICT_WAIT;
    this.arg = <u32>ms;
    this.body = "";
    this.bodyBytes = 0;
  }

  /** Whether the answer keeps every offered host (encoded as kept = -1). */
  get keepsAll(): bool {
    return this.mode == MODE_DEFAULT || this.mode == MODE_ALL;
  }

  /** The group id the answer names (ABI §5.3), or -1 when it is not a group answer. */
  get keptGroup(): i32 {
    return this.mode == MODE_GROUP ? this.group!.group : -1;
  }

  /** Remove the pair with `key`, if there is one. */
  private dropMetadata(key: string): void {
    for (let i = 0; i < this.metaKeys.length; i++) {
      if (unchecked(this.metaKeys[i]) != key) continue;
      this.metaBytes -= 8 + String.UTF8.byteLength(key) + String.UTF8.byteLength(unchecked(this.metaValues[i]));
      this.metaKeys.splice(i, 1);
      this.metaValues.splice(i, 1);
      return;
    }
  }

  private startSome(): void {
    this.mode = MODE_SOME;
    this.group = null;
    this.kept.length = 0;
    this.keptAscending = true;
    keptMarks.clear(this.hosts.tableSize);
  }

  private check(host: Host, call: string): void {
    if (!this.hosts.offers(host.index)) {
      abort("Result." + call + ": host " + host.index.toString() + " (" + host.address + ") was not offered to this plugin");
    }
  }
}
