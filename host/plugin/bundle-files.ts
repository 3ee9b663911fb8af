// Reading one file of a bundle folder, bounded. A bundle's files must be regular files of the folder itself:
// a symbolic link is refused (not followed), so that a metadata.json pointing at a secret elsewhere is never
// read, and a FIFO or device is refused before it is read (a FIFO would block the read forever, /dev/zero
// never ends). The size is checked on the open file before anything is read, and the read stops one byte past
// the limit, so a file that grows after the check is caught too. The bundle folder itself may be a symbolic
// link (a `current -> releases/v2` deploy): that is the watcher's business (host/plugin/watcher.ts).

import { constants } from "node:fs";
import { open } from "node:fs/promises";
import { join } from "node:path";
import { BundleError, type BundleErrorCode } from "./errors.js";

// O_NOFOLLOW makes open fail (ELOOP) on a symbolic link; O_NONBLOCK makes it return at once on a FIFO, which
// fstat then shows is not a regular file. Both are 0 where the platform has none.
const FLAGS = constants.O_RDONLY | (constants.O_NOFOLLOW ?? 0) | (constants.O_NONBLOCK ?? 0);

export interface FileLimit {
  /** The most bytes the file may have. */
  readonly bytes: number;
  /** The limit's name as host/abi/limits.ts spells it, for the message. */
  readonly name: string;
  /** The refusal's code when the file is larger. */
  readonly code: BundleErrorCode;
}

/**
 * The bytes of `file` in bundle folder `dir`. BundleError `missing` (incomplete) when it does not exist, E_BUNDLE_FILE_TYPE when it is a symbolic link or not a regular file, `limit.code` when it is larger
 * than `limit.bytes`. `label` names the bundle in the message.
 */
export async function readBundleFile(dir: string, file: string, limit: FileLimit, label: string, missing: BundleErrorCode): Promise<Buffer> {
  let handle;
  try {
    handle = await open(join(dir, file), FLAGS);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ELOOP") throw notRegular(label, file, "a symbolic link");
    if (code === "ENOENT") throw new BundleError(missing, label, `cannot read ${file}: no such file`, { cause: err, incomplete: true });
    throw new BundleError(missing, label, `cannot read ${file}: ${(err as Error).message}`, { cause: err });
  }
  try {
    const st = await handle.stat();
    if (!st.isFile()) throw notRegular(label, file, st.isDirectory() ? "a folder" : st.isFIFO() ? "a FIFO" : "not a regular file");
    if (st.size > limit.bytes) throw tooLarge(label, file, st.size, limit);
    // One byte more than the limit: a file that grew since fstat is refused rather than read whole.
    const buf = Buffer.allocUnsafe(Math.min(st.size, limit.bytes) + 1);
    let got = 0;
    for (;;) {
      const { bytesRead } = await handle.read(buf, got, buf.length - got, got);
      if (bytesRead === 0) break;
      got += bytesRead;
      if (got > limit.bytes) throw tooLarge(label, file, got, limit, "at least ");
      if (got === buf.length) break;
    }
    return buf.subarray(0, got);
  } finally {
    await handle.close();
  }
}

function notRegular(label: string, file: string, what: string): BundleError {
  return new BundleError("E_BUNDLE_FILE_TYPE", label, `${file} is ${what}; a bundle's files must be regular files inside its folder (symbolic links are not followed, see docs/operations.md)`);
}

function tooLarge(label: string, file: string, size: number, limit: FileLimit, prefix = ""): BundleError {
  return new BundleError(limit.code, label, `${file} is ${prefix}${size} bytes, over ${limit.name} (${limit.bytes} bytes)`);
}
