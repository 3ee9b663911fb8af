// Raw access to the ABI areas, for tests of the host's answer checks (fixtures that answer garbage on
// purpose). Not part of the author API: a plugin that writes here can break ABI v1 §5.2 and be failed by
// the host with E_PLUGIN_ANSWER.

import { AREA_SUBSET } from "./abi/status";
import { areaAddress, areaCapacity, outputAddress } from "./abi/areas";
import { Result } from "./result";

export namespace unsafe {
  /** Address of the output area (§5.2), created at OUTPUT_BYTES if needed. */
  export function outputArea(): usize {
    return outputAddress();
  }

  /** Address and capacity in bytes of the subset area (§4.3). */
  export function subsetArea(): usize {
    return areaAddress(AREA_SUBSET);
  }

  export function subsetCapacity(): i32 {
    return areaCapacity(AREA_SUBSET);
  }

  /** Write the fixed 24-byte head of a route answer exactly as given, unchecked. */
  export function writeAnswerHead(verdict: u32, kept: i32, arg: u32, bodyLen: u32, metaCount: u32, metaLen: u32): void {
    const out = outputAddress();
    store<u32>(out, verdict);
    store<i32>(out + 4, kept);
    store<u32>(out + 8, arg);
    store<u32>(out + 12, bodyLen);
    store<u32>(out + 16, metaCount);
    store<u32>(out + 20, metaLen);
  }

  /** Write `indices` as kept indices into the subset area, unchecked. */
  export function writeKept(indices: u32[]): void {
    const at = areaAddress(AREA_SUBSET);
    for (let i = 0; i < indices.length; i++) store<u32>(at + (<usize>i << 2), indices[i]);
  }

  /** Tell the SDK not to encode `result`: the plugin wrote the output area itself. */
  export function rawAnswer(result: Result): void {
    result.raw = true;
  }
}
