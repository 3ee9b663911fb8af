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
  readonly grows: readonly Ref[];
}

/** A loop body of a million instructions still charges a bounded amount; the i32 counter never overflows. */
const MAX_SITE_COST = 1_000_000;

/**
 * binaryen.js's per-kind expression wrappers (binaryen.Block.getChildAt, binaryen.Loop.setBody, …) exist at run
 * time but its index.d.ts does not declare them; this is the slice used here and in instrument.ts.
 */
export type ExpressionWrappers = Record<string, Record<string, (expr: Ref, arg?: number) => Ref>>;
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
 * Finds the charge sites of one function body. A nested loop costs 1 to its enclosing site and charges its own
 * body at its head, so every instruction is paid for by exactly one site.
 */
export function findSites(body: Ref, fn: string): FunctionSites {
  // owner 0 is the function entry; owner i > 0 is loops[i - 1].
  const costs: number[] = [1];
  const loopRefs: Ref[] = [];
  const grows: Ref[] = [];
  const stack: { ref: Ref; owner: number }[] = [{ ref: body, owner: 0 }];
  while (stack.length > 0) {
    const { ref, owner } = stack.pop()!;
    const id = b.getExpressionId(ref);
    costs[owner]!++;
    const kids = children(ref, id);
    if (kids === null) {
      throw new SandboxError("E_SANDBOX_UNSUPPORTED", `function ${fn}`, `instruction kind ${idName(id)} is not supported by fuel metering`);
    }
    let childOwner = owner;
    if (id === b.LoopId) {
      loopRefs.push(ref);
      costs.push(1);
      childOwner = costs.length - 1;
    } else if (id === b.MemoryGrowId) {
      grows.push(ref);
    }
    for (const k of kids) if (k !== 0) stack.push({ ref: k, owner: childOwner });
  }
  return {
    entryCost: Math.min(costs[0]!, MAX_SITE_COST),
    loops: loopRefs.map((ref, i) => ({ ref, cost: Math.min(costs[i + 1]!, MAX_SITE_COST) })),
    grows,
  };
}
