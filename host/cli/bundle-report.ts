// What `switchyard build` and `switchyard pack` say once a bundle is written, or when it could not be.

import { relative } from "node:path";
import type { PackResult } from "../build/package.js";
import { BuildError } from "../build/errors.js";
import { errorLine } from "./error-line.js";

/** `<verb> name@version (order, bytes, sha256) into <folder>` on stdout. */
export function printBundle(verb: "built" | "packed", r: PackResult): void {
  const m = r.metadata;
  process.stdout.write(`${verb} ${m.name}@${m.version} (order ${m.order}, ${r.wasmBytes} bytes, sha256 ${m.sha256}) into ${relative(process.cwd(), r.outDir) || "."}\n`);
}

/** A BuildError as `switchyard <command>: CODE: message` on stderr and its exit status (2 for usage, else 1); any other error is thrown on. */
export function buildErrorExit(command: string, err: unknown): number {
  if (!(err instanceof BuildError)) throw err;
  process.stderr.write(errorLine(command, err));
  return err.code === "E_BUILD_USAGE" ? 2 : 1;
}
