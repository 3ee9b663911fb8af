// The sy_* exports of ABI v1 §3. This file only marshals: check what the host passed, decode it, call the
// registered factory or handler, encode the answer, return a status. A plugin's entry file re-exports it:
//
//   export * from "<path to sdk>/assembly/abi/exports";

import { ABI_VERSION, MAX_CONFIG_BYTES, MAX_REQUEST_BYTES, MAX_TABLES } from "../limits";
import { Hosts } from "../hosts";
import { forgetOffersOf, rememberOffer, sameOffer } from "../offer";
import { decodeRequest, requestError } from "../request";
import { Result } from "../result";
import { currentHandler, registeredFactory, setCurrentHandler } from "../router";
import { decodeTable, HostTable, tableError } from "../table";
import { decodeUtf8 } from "../utf8";
import { collectIfDue, collectNow } from "../gc";
import { answerHeaders, declareHeaders, headersError } from "../declared";
import { areaAddress, areaCapacity, outputAddress, reserve } from "./areas";
import { writeAnswer, writeGroup, writeMessage } from "./encode";
import {
  AREA_INPUT,
  AREA_SUBSET,
  STATUS_BAD_INPUT,
  STATUS_NO_GROUP,
  STATUS_NO_TABLE,
  STATUS_NOT_CONFIGURED,
  STATUS_OK,
  STATUS_REJECTED,
} from "./status";

const tables = new StaticArray<HostTable | null>(MAX_TABLES);
const emptyTable = new HostTable(new ArrayBuffer(0), 0, new StaticArray<u32>(0));
// One Hosts and one Result serve every request: sy_route allocates nothing of its own.
const hosts = new Hosts(emptyTable, 0, 0);
const result = new Result(hosts);

const NO_FACTORY = "no RouterFactory registered: call register(new MyFactory()) at the top level of the plugin's entry file";

export function sy_abi_version(): i32 {
  return ABI_VERSION;
}

function reserveArea(area: i32, bytes: i32): i32 {
  return <i32>reserve(area, bytes);
}

function name(): i32 {
  const factory = registeredFactory();
  if (factory === null) return badInput(NO_FACTORY);
  writeMessage(factory.name());
  return STATUS_OK;
}

function order(): i32 {
  const factory = registeredFactory();
  return factory === null ? 0 : factory.order();
}

function configure(len: i32): i32 {
  const factory = registeredFactory();
  if (factory === null) return badInput(NO_FACTORY);
  if (!inputHolds(len, MAX_CONFIG_BYTES)) return badLength("sy_configure", len, MAX_CONFIG_BYTES);
  const configured = factory.configure(decodeUtf8(areaAddress(AREA_INPUT), len));
  const handler = configured.handler;
  if (handler === null) {
    writeMessage(configured.message);
    return STATUS_REJECTED;
  }
  setCurrentHandler(handler);
  declareHeaders(configured.headers, configured.allHeaders);
  return STATUS_OK;
}

/** §4.4: the bundle's header list is in the input area; answer the list this configure reads. */
function headers(len: i32): i32 {
  if (!inputHolds(len, MAX_CONFIG_BYTES)) return badLength("sy_headers", len, MAX_CONFIG_BYTES);
  if (answerHeaders(areaAddress(AREA_INPUT), <u32>len, outputAddress())) return STATUS_OK;
  writeMessage(headersError);
  return STATUS_REJECTED;
}

function setHosts(table: i32, len: i32): i32 {
  if (table < 0 || table >= MAX_TABLES) return badInput("sy_set_hosts: table id " + table.toString() + " is not in 0.." + (MAX_TABLES - 1).toString());
  if (!inputHolds(len, i32.MAX_VALUE)) return badLength("sy_set_hosts", len, areaCapacity(AREA_INPUT));
  const old = tables[table];
  if (old !== null) {
    // The table being replaced is let go first and collected (no reference is on the stack but `old`, which
    // releaseTable drops), so that a large table is never held twice: a failed load fails the instance,
    // which the host then discards.
    releaseTable(table, old);
    collectNow();
  }
  const decoded = decodeTable(areaAddress(AREA_INPUT), <u32>len);
  if (decoded === null) return badInput(tableError);
  tables[table] = decoded;
  return STATUS_OK;
}

function dropHosts(table: i32): i32 {
  if (table < 0 || table >= MAX_TABLES) return STATUS_NO_TABLE;
  const old = tables[table];
  if (old === null) return STATUS_NO_TABLE;
  releaseTable(table, old);
  return STATUS_OK;
}

/** Takes table `id` out, and every reference the last request left to it (hosts, result, offer copy). */
function releaseTable(id: i32, old: HostTable): void {
  tables[id] = null;
  if (hosts.hostTable() === old) {
    hosts.reset(emptyTable, 0, 0);
    result.reset(hosts);
  }
  forgetOffersOf(old);
}

function route(table: i32, len: i32, subset: i32): i32 {
  const handler = currentHandler();
  if (handler === null) return STATUS_NOT_CONFIGURED;
  if (table < 0 || table >= MAX_TABLES) return STATUS_NO_TABLE;
  const hostTable = tables[table];
  if (hostTable === null) return STATUS_NO_TABLE;
  if (!inputHolds(len, MAX_REQUEST_BYTES)) return badLength("sy_route", len, MAX_REQUEST_BYTES);
  const request = decodeRequest(areaAddress(AREA_INPUT), <u32>len);
  if (request === null) return badInput(requestError);

  if (subset == -1) {
    hosts.reset(hostTable, 0, hostTable.count);
  } else {
    const at = areaAddress(AREA_SUBSET);
    // A repeated offer was checked when it was first seen (and its copy cannot have changed since).
    if (subset > areaCapacity(AREA_SUBSET) >> 2 || !sameOffer(hostTable, at, subset)) {
      const problem = checkOffered(hostTable.count, subset);
      if (problem !== null) return badInput(problem);
      rememberOffer(hostTable, at, subset);
    }
    hosts.reset(hostTable, at, subset);
  }
  result.reset(hosts);
  handler.route(request, hosts, result);
  if (!result.raw) writeAnswer(result);
  return STATUS_OK;
}

/** §5.3: write group `group` of table `table`; STATUS_NO_GROUP when the plugin never named such a group. */
function tableGroup(table: i32, group: i32): i32 {
  if (table < 0 || table >= MAX_TABLES) return STATUS_NO_TABLE;
  const hostTable = tables[table];
  if (hostTable === null) return STATUS_NO_TABLE;
  return writeGroup(hostTable, group) < 0 ? STATUS_NO_GROUP : STATUS_OK;
}

// Each export runs its call, then lets the collector run if it is due (gc.ts): on return no managed reference
// is left on the wasm stack, which is what the minimal runtime's collector needs.

export function sy_reserve(area: i32, bytes: i32): i32 {
  const r = reserveArea(area, bytes);
  collectIfDue();
  return r;
}

export function sy_name(): i32 {
  const r = name();
  collectIfDue();
  return r;
}

export function sy_order(): i32 {
  const r = order();
  collectIfDue();
  return r;
}

export function sy_configure(len: i32): i32 {
  const r = configure(len);
  collectIfDue();
  return r;
}

export function sy_set_hosts(table: i32, len: i32): i32 {
  const r = setHosts(table, len);
  collectIfDue();
  return r;
}

export function sy_drop_hosts(table: i32): i32 {
  const r = dropHosts(table);
  collectIfDue();
  return r;
}

export function sy_route(table: i32, len: i32, subset: i32): i32 {
  const r = route(table, len, subset);
  collectIfDue();
  return r;
}

export function sy_headers(len: i32): i32 {
  const r = headers(len);
  collectIfDue();
  return r;
}

export function sy_group(table: i32, group: i32): i32 {
  const r = tableGroup(table, group);
  collectIfDue();
  return r;
}

/**
 * Check the offered indices (§4.3: each < count, increasing); an error text or null. They are marked
 * later, and only if the handler asks something that needs marks (Hosts.marks).
 */
function checkOffered(count: i32, subset: i32): string | null {
  if (subset < 0 || subset > count) {
    return "sy_route: subset " + subset.toString() + " is neither -1 nor in 0.." + count.toString();
  }
  if (areaCapacity(AREA_SUBSET) < subset * 4) {
    return "sy_route: subset of " + subset.toString() + " indices exceeds the reserved subset area";
  }
  const at = areaAddress(AREA_SUBSET);
  let previous: i64 = -1;
  for (let i = 0; i < subset; i++) {
    const index = load<u32>(at + (<usize>i << 2));
    if (<i64>index <= previous || index >= <u32>count) {
      return "sy_route: subset entry " + i.toString() + " (" + index.toString() + ") is not increasing or not < count " + count.toString();
    }
    previous = index;
  }
  return null;
}

function inputHolds(len: i32, max: i32): bool {
  return len >= 0 && len <= max && len <= areaCapacity(AREA_INPUT);
}

function badLength(call: string, len: i32, max: i32): i32 {
  const capacity = areaCapacity(AREA_INPUT);
  return badInput(call + ": length " + len.toString() + " is negative, over " + max.toString() + " or over the reserved input area of " + capacity.toString() + " bytes");
}

function badInput(message: string): i32 {
  writeMessage(message);
  return STATUS_BAD_INPUT;
}
