// Crash-safe file replacement: write a temp file in the same folder, fsync it, rename it over the target,
// fsync the folder. A reader (or a restart after SIGKILL at any moment) sees the old file or the new one,
// never a torn or empty one.
//
// Modes: 0644 by default (state files and bundles are read by other users: a host running as another user, an
// operator's tools); set on the file whatever the umask, so that the mode is the same on every machine. A file
// that must stay private (a private key) is written 0600 by its writer (host/cli/keygen.ts).

import { randomBytes } from "node:crypto";
import { mkdir, open, rename, rm } from "node:fs/promises";
import { basename, dirname, join } from "node:path";

export async function writeFileAtomic(path: string, data: string | Uint8Array, mode = 0o644): Promise<void> {
  const dir = dirname(path);
  await mkdir(dir, { recursive: true });
  const tmp = join(dir, `.${basename(path)}.${process.pid}.${randomBytes(6).toString("hex")}.tmp`);
  const fh = await open(tmp, "w", 0o600);
  try {
    await fh.writeFile(data);
    await fh.chmod(mode);
    await fh.sync();
  } finally {
    await fh.close();
  }
  try {
    await rename(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
  // The rename is durable only once the folder's entry is on disk.
  const dh = await open(dir, "r");
  try {
    await dh.sync();
  } finally {
    await dh.close();
  }
}
