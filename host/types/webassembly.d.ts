// @types/node 20 does not declare the WebAssembly namespace (lib.dom does, but the host is not a browser).
// These are the parts of the JS API the host uses, as the WebAssembly JS API spec defines them.

declare namespace WebAssembly {
  type ImportValue = Function | Global | Memory | Table | number | bigint;
  type Imports = Record<string, Record<string, ImportValue>>;
  type Exports = Record<string, Function | Global | Memory | Table>;
  type ImportExportKind = "function" | "global" | "memory" | "table" | "tag";
  interface ModuleExportDescriptor { kind: ImportExportKind; name: string }
  interface ModuleImportDescriptor { kind: ImportExportKind; module: string; name: string }
  interface MemoryDescriptor { initial: number; maximum?: number; shared?: boolean }
  interface GlobalDescriptor { mutable?: boolean; value: "i32" | "i64" | "f32" | "f64" | "externref" | "anyfunc" }
  interface WebAssemblyInstantiatedSource { instance: Instance; module: Module }

  class Module {
    constructor(bytes: BufferSource);
    static exports(module: Module): ModuleExportDescriptor[];
    static imports(module: Module): ModuleImportDescriptor[];
    static customSections(module: Module, sectionName: string): ArrayBuffer[];
  }
  class Instance {
    constructor(module: Module, importObject?: Imports);
    readonly exports: Exports;
  }
  class Memory {
    constructor(descriptor: MemoryDescriptor);
    readonly buffer: ArrayBuffer;
    grow(delta: number): number;
  }
  class Global {
    constructor(descriptor: GlobalDescriptor, value?: number | bigint);
    value: number | bigint;
    valueOf(): number | bigint;
  }
  class Table {
    readonly length: number;
    get(index: number): unknown;
    grow(delta: number): number;
  }
  class CompileError extends Error {}
  class LinkError extends Error {}
  class RuntimeError extends Error {}

  function compile(bytes: BufferSource): Promise<Module>;
  function instantiate(bytes: BufferSource, importObject?: Imports): Promise<WebAssemblyInstantiatedSource>;
  function instantiate(module: Module, importObject?: Imports): Promise<Instance>;
  function validate(bytes: BufferSource): boolean;
}

type BufferSource = ArrayBufferView | ArrayBuffer;
