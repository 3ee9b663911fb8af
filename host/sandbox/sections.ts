// Just enough of the wasm binary format to find the module's memories and rewrite one memory's limits.
// binaryen cannot change a memory's maximum without dropping its data segments (setMemory rebuilds them),
// so the cap is written straight into the memory section. Every read is bounded; a short or malformed
// module is a coded error naming the byte offset.

import { SandboxError } from "./errors.js";

const SECTION_IMPORT = 2;
const SECTION_MEMORY = 5;
const IMPORT_MEMORY = 2;
/** The largest page count of a 32-bit memory (4 GiB). */
export const MAX_PAGES_32 = 65_536;

export interface MemoryLimits {
  /** Byte offset of the limits' flag byte in the module. */
  readonly at: number;
  /** Byte length of the flags + min (+ max) encoding. */
  readonly length: number;
  readonly flags: number;
  readonly initial: number;
  readonly maximum: number | null;
}

export interface ModuleLayout {
  /** Each memory the module imports, as "module.name". */
  readonly importedMemories: readonly string[];
  /** The memory section's entries (a module without a memory section has none). */
  readonly memories: readonly MemoryLimits[];
  /** Where the memory section starts (its id byte), and its payload's start and end, for rewriting it. */
  readonly memorySection: { readonly header: number; readonly start: number; readonly end: number } | null;
}

class Reader {
  constructor(readonly bytes: Uint8Array, public pos: number, readonly end: number) {}

  fail(what: string): never {
    throw new SandboxError("E_SANDBOX_NOT_WASM", `byte ${this.pos}`, `malformed module: ${what}`);
  }

  byte(): number {
    if (this.pos >= this.end) this.fail("unexpected end");
    return this.bytes[this.pos++]!;
  }

  /** An unsigned LEB128 of at most 32 bits (5 bytes). */
  u32(): number {
    let result = 0;
    for (let shift = 0; shift < 35; shift += 7) {
      const b = this.byte();
      result += (b & 0x7f) * 2 ** shift;
      if ((b & 0x80) === 0) {
        if (result > 0xffff_ffff) this.fail("LEB128 value over 32 bits");
        return result;
      }
    }
    return this.fail("LEB128 longer than 5 bytes");
  }

  skip(n: number): void {
    if (n > this.end - this.pos) this.fail(`length ${n} runs past the end`);
    this.pos += n;
  }

  name(): string {
    const len = this.u32();
    const start = this.pos;
    this.skip(len);
    return Buffer.from(this.bytes.buffer, this.bytes.byteOffset + start, len).toString("utf8");
  }

  /** Limits of a table or memory; returns what the memory cap needs to know. */
  limits(): MemoryLimits {
    const at = this.pos;
    const flags = this.byte();
    if (flags > 0x0f) this.fail(`unknown limits flags 0x${flags.toString(16)}`);
    // Bit 2 is memory64: its bounds are u64 LEBs; read them as such only to step over them.
    const wide = (flags & 0x04) !== 0;
    const initial = wide ? this.u64Skip() : this.u32();
    const maximum = (flags & 0x01) !== 0 ? (wide ? this.u64Skip() : this.u32()) : null;
    if ((flags & 0x08) !== 0) this.u32(); // custom page size log2
    return { at, length: this.pos - at, flags, initial, maximum };
  }

  private u64Skip(): number {
    for (let i = 0; i < 10; i++) if ((this.byte() & 0x80) === 0) return -1;
    return this.fail("LEB128 longer than 10 bytes");
  }
}

/** Checks the header and walks the sections; returns where the memories are. */
export function readLayout(bytes: Uint8Array): ModuleLayout {
  if (bytes.length < 8 || bytes[0] !== 0 || bytes[1] !== 0x61 || bytes[2] !== 0x73 || bytes[3] !== 0x6d) {
    throw new SandboxError("E_SANDBOX_NOT_WASM", "header", "not a WebAssembly module (no \\0asm magic)");
  }
  if (bytes[4] !== 1 || bytes[5] !== 0 || bytes[6] !== 0 || bytes[7] !== 0) {
    throw new SandboxError("E_SANDBOX_NOT_WASM", "header", `unsupported binary version ${bytes[4]}.${bytes[5]}.${bytes[6]}.${bytes[7]} (only 1 is known)`);
  }
  const r = new Reader(bytes, 8, bytes.length);
  const importedMemories: string[] = [];
  let memories: MemoryLimits[] = [];
  let memorySection: { header: number; start: number; end: number } | null = null;
  while (r.pos < r.end) {
    const header = r.pos;
    const id = r.byte();
    const size = r.u32();
    const start = r.pos;
    r.skip(size);
    const s = new Reader(bytes, start, start + size);
    if (id === SECTION_IMPORT) readImports(s, importedMemories);
    else if (id === SECTION_MEMORY) {
      memorySection = { header, start, end: start + size };
      const count = s.u32();
      if (count > 100) s.fail(`memory section declares ${count} memories`);
      memories = [];
      for (let i = 0; i < count; i++) memories.push(s.limits());
    }
  }
  return { importedMemories, memories, memorySection };
}

function readImports(r: Reader, memories: string[]): void {
  const count = r.u32();
  for (let i = 0; i < count; i++) {
    const module = r.name();
    const name = r.name();
    const kind = r.byte();
    switch (kind) {
      case 0: // function: type index
        r.u32();
        break;
      case 1: // table: reference type, limits
        r.byte();
        r.limits();
        break;
      case IMPORT_MEMORY:
        r.limits();
        memories.push(`${module}.${name}`);
        break;
      case 3: // global: value type, mutability
        r.byte();
        r.byte();
        break;
      case 4: // tag: attribute, type index
        r.byte();
        r.u32();
        break;
      default:
        r.fail(`import ${module}.${name} has unknown kind ${kind}`);
    }
  }
}

function leb(n: number): number[] {
  const out: number[] = [];
  do {
    let b = n & 0x7f;
    n = Math.floor(n / 128);
    if (n !== 0) b |= 0x80;
    out.push(b);
  } while (n !== 0);
  return out;
}

/** A copy of `bytes` whose single memory has limits (initial, maximum); other sections byte for byte. */
export function withMemoryMaximum(bytes: Uint8Array, layout: ModuleLayout, maximum: number): Uint8Array {
  const section = layout.memorySection;
  const mem = layout.memories[0];
  if (section === null || mem === undefined || layout.memories.length !== 1) return bytes;
  const payload = [...leb(1), 0x01, ...leb(mem.initial), ...leb(maximum)];
  const sizeLeb = leb(payload.length);
  const head = bytes.subarray(0, section.header);
  const tail = bytes.subarray(section.end);
  const out = new Uint8Array(head.length + 1 + sizeLeb.length + payload.length + tail.length);
  out.set(head, 0);
  let o = head.length;
  out[o++] = SECTION_MEMORY;
  out.set(sizeLeb, o);
  o += sizeLeb.length;
  out.set(payload, o);
  o += payload.length;
  out.set(tail, o);
  return out;
}
