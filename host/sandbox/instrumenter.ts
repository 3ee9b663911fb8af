// Runs instrument() in a child process that exits when idle. Imported, binaryen costs the host ~75 MiB of
// RSS and ~450 ms, and reading modules grows its heap by ~80 MiB more, none of which a long-running process
// gets back (a worker thread gave back 18 of ~130 MiB when terminated, measured with node 20 on this
// machine). The host loads bundles rarely: paying a process start then is cheaper than carrying binaryen.

import { type ChildProcess, fork } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { SandboxError, type SandboxErrorCode } from "./errors.js";
import type { InstrumentInfo, InstrumentOptions, Instrumented } from "./instrument.js";

export interface InstrumentJob {
  readonly id: number;
  readonly wasm: Uint8Array;
  readonly maxMemoryPages: number;
  readonly startFuel?: number;
}

export type InstrumentReply =
  | { readonly id: number; readonly wasm: Uint8Array; readonly info: InstrumentInfo }
  | { readonly id: number; readonly error: { readonly code: SandboxErrorCode; readonly where: string; readonly detail: string } | { readonly message: string } };

/** The compiled child script. Under vitest this module runs from its .ts source: the script is the build's. */
function childScript(): string {
  const here = fileURLToPath(import.meta.url);
  const script = here.endsWith(".ts") ? join(dirname(here), "../../dist/host/sandbox/instrument-child.js") : join(dirname(here), "instrument-child.js");
  if (!existsSync(script)) throw new SandboxError("E_SANDBOX_INSTRUMENTER", "instrumenter", `${script} is missing: run \`make build\``);
  return script;
}

interface Pending {
  /** The child the job went to: only its failure fails the job. */
  readonly child: ChildProcess;
  resolve(out: Instrumented): void;
  reject(err: Error): void;
}

/**
 * @example
 * const instrumenter = new ChildInstrumenter();
 * const { wasm } = await instrumenter.instrument(bytes, { maxMemoryPages: 256 });
 */
export class ChildInstrumenter {
  private child: ChildProcess | null = null;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private idleTimer: NodeJS.Timeout | null = null;

  /** `idleMs`: how long the child waits for the next job before it is let go (a folder of bundles loads as one batch). */
  constructor(private readonly idleMs = 2_000) {}

  /** Whether a child process is running (tests). */
  get running(): boolean {
    return this.child !== null;
  }

  instrument(wasm: Uint8Array, opts: InstrumentOptions): Promise<Instrumented> {
    let child: ChildProcess;
    try {
      child = this.ensureChild();
    } catch (err) {
      return Promise.reject(err);
    }
    if (this.idleTimer !== null) {
      clearTimeout(this.idleTimer);
      this.idleTimer = null;
    }
    const id = this.nextId++;
    const job: InstrumentJob = { id, wasm, maxMemoryPages: opts.maxMemoryPages, ...(opts.startFuel !== undefined ? { startFuel: opts.startFuel } : {}) };
    return new Promise<Instrumented>((resolve, reject) => {
      this.pending.set(id, { child, resolve, reject });
      this.hold(child, true);
      child.send(job, (err) => {
        if (err) this.settle(id, null, new SandboxError("E_SANDBOX_INSTRUMENTER", "instrumenter", `cannot send the module: ${err.message}`, { cause: err }));
      });
    });
  }

  /** Ends the child now; jobs in flight fail. */
  close(): void {
    this.child?.kill();
    this.child = null;
  }

  private ensureChild(): ChildProcess {
    if (this.child !== null) return this.child;
    // No inherited --cpu-prof or --inspect: the child is a tool, not a second host.
    const child = fork(childScript(), [], { serialization: "advanced", execArgv: [], stdio: ["ignore", "ignore", "inherit", "ipc"] });
    child.on("message", (m: InstrumentReply) => {
      if ("error" in m) {
        const e = m.error;
        this.settle(m.id, null, "code" in e ? new SandboxError(e.code, e.where, e.detail) : new SandboxError("E_SANDBOX_INTERNAL", "instrumenter", e.message));
      } else {
        this.settle(m.id, { wasm: m.wasm, info: m.info }, null);
      }
    });
    // A child let go when idle exits a little later, possibly after the next job started a new child: its
    // exit fails its own jobs only (it has none), never the new child's.
    const gone = (why: string) => {
      if (this.child === child) this.child = null;
      for (const [id, p] of [...this.pending]) {
        if (p.child !== child) continue;
        this.pending.delete(id);
        p.reject(new SandboxError("E_SANDBOX_INSTRUMENTER", "instrumenter", why));
      }
    };
    child.once("error", (err) => gone(`the instrumenter process failed: ${err.message}`));
    child.once("exit", (code, signal) => gone(`the instrumenter process exited (${signal ?? `code ${code}`}) before answering`));
    this.child = child;
    return child;
  }

  private settle(id: number, out: Instrumented | null, err: Error | null): void {
    const p = this.pending.get(id);
    if (p === undefined) return;
    this.pending.delete(id);
    if (err !== null) p.reject(err);
    else p.resolve(out!);
    if (this.pending.size === 0 && this.child !== null) {
      const child = this.child;
      // Idle: the child must not keep the host alive, and goes after idleMs unless another job comes.
      this.hold(child, false);
      this.idleTimer = setTimeout(() => {
        this.idleTimer = null;
        if (this.child === child && this.pending.size === 0) {
          this.child = null;
          child.disconnect();
        }
      }, this.idleMs);
      this.idleTimer.unref();
    }
  }

  /** While jobs are pending the child (and its IPC channel) keep the event loop alive; idle, they do not. */
  private hold(child: ChildProcess, held: boolean): void {
    const channel = (child as unknown as { channel?: { ref(): void; unref(): void } }).channel;
    if (held) {
      child.ref();
      channel?.ref();
    } else {
      child.unref();
      channel?.unref();
    }
  }
}

/** The instrumenter the host's sandbox uses by default: one child for every bundle of the process. */
export const sharedInstrumenter = new ChildInstrumenter();
