// Walks one function body and finds where fuel must be charged: the function entry and every loop head, each
// with a static cost, plus every memory.grow (for the cap's bookkeeping). Iterative, so that a deeply nested
// body cannot overflow the host's stack. Only the instructions listed here are known; anything else (GC,
// exceptions, stack switching) is refused rather than walked blind, because a child missed is a loop that
// escapes metering.

import binaryen from "binaryen";
import { SandboxError } from "./errors.js";

type Ref = number;

/** The cost charged at one site: 1 plus each instruction that runs between this check and the next one. */
export interface ChargeSite {
  readonly ref: Ref;
  readonly cost: number;
}

export interface FunctionSites {
  /** Charged at function entry: the body's instructions outside any loop. */
  readonly entryCost: number;
  readonly loops: readonly ChargeSite[];
  /** Conditional regions charged where they start, only when they run (see findSites). */
  readonly regions: readonly RegionSite[];
  readonly grows: readonly Ref[];
}

/** A loop body of a million instructions still charges a bounded amount; the i32 counter never overflows. */
const MAX_SITE_COST = 1_000_000;

/**
 * binaryen.js's per-kind expression wrappers (binaryen.Block.getChildAt, binaryen.Loop.setBody, …) exist at run
 * time but its index.d.ts does not declare them; this is the slice used here and in instrument.ts.
 */
export type ExpressionWrappers = Record<string, Record<string, (expr: Ref, ...args: number[]) => Ref>>;
export const wrappers = binaryen as unknown as ExpressionWrappers;
const b = binaryen;
const w = wrappers;

function list(cls: string, e: Ref, first: Ref[] = []): Ref[] {
  const n = w[cls]!.getNumOperands!(e);
  for (let i = 0; i < n; i++) first.push(w[cls]!.getOperandAt!(e, i));
  return first;
}

/** The child expressions of `e`, or null when its kind is unknown. Zero refs (absent children) are skipped. */
function children(e: Ref, id: number): Ref[] | null {
  switch (id) {
    case b.BlockId: {
      const n = w.Block!.getNumChildren!(e);
      const out: Ref[] = [];
      for (let i = 0; i < n; i++) out.push(w.Block!.getChildAt!(e, i));
      return out;
    }
    case b.IfId:
      return [w.If!.getCondition!(e), w.If!.getIfTrue!(e), w.If!.getIfFalse!(e)];
    case b.LoopId:
      return [w.Loop!.getBody!(e)];
    case b.BreakId:
      return [w.Break!.getCondition!(e), w.Break!.getValue!(e)];
    case b.SwitchId:
      return [w.Switch!.getCondition!(e), w.Switch!.getValue!(e)];
    case b.CallId:
      return list("Call", e);
    case b.CallIndirectId:
      return list("CallIndirect", e, [w.CallIndirect!.getTarget!(e)]);
    case b.LocalSetId:
      return [w.LocalSet!.getValue!(e)];
    case b.GlobalSetId:
      return [w.GlobalSet!.getValue!(e)];
    case b.LoadId:
      return [w.Load!.getPtr!(e)];
    case b.StoreId:
      return [w.Store!.getPtr!(e), w.Store!.getValue!(e)];
    case b.SIMDExtractId:
      return [w.SIMDExtract!.getVec!(e)];
    case b.SIMDReplaceId:
      return [w.SIMDReplace!.getVec!(e), w.SIMDReplace!.getValue!(e)];
    case b.SIMDShuffleId:
      return [w.SIMDShuffle!.getLeft!(e), w.SIMDShuffle!.getRight!(e)];
    case b.SIMDTernaryId:
      return [w.SIMDTernary!.getA!(e), w.SIMDTernary!.getB!(e), w.SIMDTernary!.getC!(e)];
    case b.SIMDShiftId:
      return [w.SIMDShift!.getVec!(e), w.SIMDShift!.getShift!(e)];
    case b.SIMDLoadId:
      return [w.SIMDLoad!.getPtr!(e)];
    case b.SIMDLoadStoreLaneId:
      return [w.SIMDLoadStoreLane!.getPtr!(e), w.SIMDLoadStoreLane!.getVec!(e)];
    case b.MemoryInitId:
      return [w.MemoryInit!.getDest!(e), w.MemoryInit!.getOffset!(e), w.MemoryInit!.getSize!(e)];
    case b.MemoryCopyId:
      return [w.MemoryCopy!.getDest!(e), w.MemoryCopy!.getSource!(e), w.MemoryCopy!.getSize!(e)];
    case b.MemoryFillId:
      return [w.MemoryFill!.getDest!(e), w.MemoryFill!.getValue!(e), w.MemoryFill!.getSize!(e)];
    case b.UnaryId:
      return [w.Unary!.getValue!(e)];
    case b.BinaryId:
      return [w.Binary!.getLeft!(e), w.Binary!.getRight!(e)];
    case b.SelectId:
      return [w.Select!.getIfTrue!(e), w.Select!.getIfFalse!(e), w.Select!.getCondition!(e)];
    case b.DropId:
      return [w.Drop!.getValue!(e)];
    case b.ReturnId:
      return [w.Return!.getValue!(e)];
    case b.MemoryGrowId:
      return [w.MemoryGrow!.getDelta!(e)];
    case b.RefIsNullId:
      return [w.RefIsNull!.getValue!(e)];
    case b.RefEqId:
      return [w.RefEq!.getLeft!(e), w.RefEq!.getRight!(e)];
    case b.TableGetId:
      return [w.TableGet!.getIndex!(e)];
    case b.TableSetId:
      return [w.TableSet!.getIndex!(e), w.TableSet!.getValue!(e)];
    case b.TableGrowId:
      return [w.TableGrow!.getValue!(e), w.TableGrow!.getDelta!(e)];
    case b.TupleMakeId:
      return list("TupleMake", e);
    case b.TupleExtractId:
      return [w.TupleExtract!.getTuple!(e)];
    case b.NopId:
    case b.UnreachableId:
    case b.ConstId:
    case b.LocalGetId:
    case b.GlobalGetId:
    case b.MemorySizeId:
    case b.DataDropId:
    case b.RefNullId:
    case b.RefFuncId:
    case b.TableSizeId:
      return [];
    default:
      return null;
  }
}

function idName(id: number): string {
  for (const [k, v] of Object.entries(binaryen)) if (k.endsWith("Id") && v === id && k !== "InvalidId") return k.slice(0, -2);
  return `#${id}`;
}

/**
 * Where a conditional region's charge goes: an `if`'s arm (`arm` 0 the true arm, 1 the false one), or the
 * children of a block from `index` on, up to the next such index — the code after a `br_if` that may skip it,
 * or after a named block, which a `br`/`br_table` to its label lands on (the case bodies of an interpreter's
 * dispatch).
 */
export type RegionSite = ChargeSite & ({ readonly kind: "arm"; readonly arm: 0 | 1 } | { readonly kind: "segment"; readonly index: number });

/**
 * A conditional region of fewer instructions than a charge's own eight (global.get, i32.const, i32.sub,
 * global.set, global.get, i32.const, i32.lt_s, if) is paid for by its enclosing site, as if it always ran:
 * merged, it over-charges less than a charge would cost when it runs. Measured on the JavaScript guest's
 * set_hosts (bench/components.ts workload, host/conform): 1 → 0.57M fuel a host, 8 → 1.0M, 32 → 6.6M (an
 * engine's many small cases, each merged, all charged on every dispatch); the raw examples' sandboxed route
 * time did not move beyond noise between 8 and 32 (`node dist/bench/run.js sandbox`).
 */
export const MIN_REGION_COST = 8;

/**
 * Finds the charge sites of one function body. A nested loop costs 1 to its enclosing site and charges its own
 * body at its head, so every instruction is paid for by exactly one site.
 *
 * Between two charges control flows forward only (it goes back only to a loop head, which charges), so a site
 * that charges its whole region on entry never under-charges. Charging a loop body as one region over-charges
 * the arms it does not take: an interpreter's dispatch loop (a JavaScript guest's engine) holds every opcode's
 * case, so each iteration paid for all of them — 100 hosts cost a JavaScript guest's set_hosts its whole 2e9
 * fuel (host/conform/suite.ts reported it). Each `if` arm, and each run of a block's children after one that
 * may branch (mayBranchPast), is therefore a region of its own when it holds MIN_REGION_COST instructions or
 * more: it is entered only at its start (a branch lands only behind a label, which starts a run), so it is
 * charged there, and only when it runs.
 */
export function findSites(body: Ref, fn: string): FunctionSites {
  // owner 0 is the function entry; every other owner is a loop or a region, with the owner it would merge into.
  const costs: number[] = [1];
  const parent: number[] = [-1];
  const sites: ({ kind: "loop"; ref: Ref } | { kind: "arm"; ref: Ref; arm: 0 | 1 } | { kind: "segment"; ref: Ref; index: number } | null)[] = [null];
  const grows: Ref[] = [];
  const open = (site: NonNullable<(typeof sites)[number]>, owner: number): number => {
    sites.push(site);
    costs.push(site.kind === "loop" ? 1 : 0);
    parent.push(owner);
    return costs.length - 1;
  };
  const stack: { ref: Ref; owner: number }[] = [{ ref: body, owner: 0 }];
  while (stack.length > 0) {
    const { ref, owner } = stack.pop()!;
    const id = b.getExpressionId(ref);
    costs[owner]!++;
    const kids = children(ref, id);
    if (kids === null) {
      throw new SandboxError("E_SANDBOX_UNSUPPORTED", `function ${fn}`, `instruction kind ${idName(id)} is not supported by fuel metering`);
    }
    if (id === b.LoopId) {
      const site = open({ kind: "loop", ref }, owner);
      if (kids[0] !== 0) stack.push({ ref: kids[0]!, owner: site });
      continue;
    }
    if (id === b.MemoryGrowId) grows.push(ref);
    if (id === b.IfId) {
      const [cond, yes, no] = kids as [Ref, Ref, Ref];
      stack.push({ ref: cond, owner });
      if (yes !== 0) stack.push({ ref: yes, owner: open({ kind: "arm", ref, arm: 0 }, owner) });
      if (no !== 0) stack.push({ ref: no, owner: open({ kind: "arm", ref, arm: 1 }, owner) });
      continue;
    }
    if (id === b.BlockId) {
      let current = owner;
      kids.forEach((k, i) => {
        if (i > 0 && mayBranchPast(kids[i - 1]!)) current = open({ kind: "segment", ref, index: i }, owner);
        stack.push({ ref: k, owner: current });
      });
      continue;
    }
    for (const k of kids) if (k !== 0) stack.push({ ref: k, owner });
  }
  // A site's descendants were opened after it, so walking back merges every small region before its owner.
  for (let i = sites.length - 1; i > 0; i--) {
    if (sites[i]!.kind !== "loop" && costs[i]! < MIN_REGION_COST) {
      costs[parent[i]!]! += costs[i]!;
      sites[i] = null;
    }
  }
  const cost = (i: number): number => Math.min(costs[i]!, MAX_SITE_COST);
  const loops: ChargeSite[] = [];
  const regions: RegionSite[] = [];
  sites.forEach((s, i) => {
    if (s === null) return;
    if (s.kind === "loop") loops.push({ ref: s.ref, cost: cost(i) });
    else if (s.kind === "arm") regions.push({ kind: "arm", ref: s.ref, arm: s.arm, cost: cost(i) });
    else regions.push({ kind: "segment", ref: s.ref, index: s.index, cost: cost(i) });
  });
  return { entryCost: cost(0), loops, regions, grows };
}

/**
 * True when the code after `ref` in a block may not run although `ref` began, or may run without `ref` having
 * ended normally: after a branch, or after a construct that holds one (an `if`, a block, a loop) or names a
 * label a branch lands behind. The test is local, so it also splits after constructs that never branch; the
 * regions it makes needlessly are small or cost one charge.
 */
function mayBranchPast(ref: Ref): boolean {
  const id = b.getExpressionId(ref);
  return id === b.BlockId || id === b.IfId || id === b.LoopId || id === b.BreakId || id === b.SwitchId || id === b.ReturnId;
}
