// The instrumenter's own process (see instrumenter.ts): binaryen lives here, never in the host. One job per
// message, answered in order; the process ends when the host disconnects.

import { SandboxError } from "./errors.js";
import { instrument } from "./instrument.js";
import type { InstrumentJob, InstrumentReply } from "./instrumenter.js";

function reply(message: InstrumentReply): void {
  process.send!(message);
}

process.on("message", (job: InstrumentJob) => {
  try {
    const { wasm, info } = instrument(job.wasm, { maxMemoryPages: job.maxMemoryPages, ...(job.startFuel !== undefined ? { startFuel: job.startFuel } : {}) });
    reply({ id: job.id, wasm, info });
  } catch (err) {
    const e = err as Error;
    reply({ id: job.id, error: err instanceof SandboxError ? { code: err.code, where: err.where, detail: err.detail } : { message: e?.message ?? String(err) } });
  }
});

process.on("disconnect", () => process.exit(0));
