// Bearer-token check for every admin request that changes state. Both sides are hashed first so that the
// comparison is constant-time whatever the lengths (timingSafeEqual needs equal lengths).

import { SwitchyardError } from "../plugin/errors.js";
import { createHash, timingSafeEqual } from "node:crypto";
import { readFileSync } from "node:fs";

export class AdminToken {
  private readonly digest: Buffer | null;

  constructor(token: string | null) {
    this.digest = token === null || token.length === 0 ? null : createHash("sha256").update(token).digest();
  }

  /** From SWITCHYARD_ADMIN_TOKEN, else the token file named in the config, else none (writes refused). */
  static fromEnvOrFile(env: NodeJS.ProcessEnv, file: string | undefined): AdminToken {
    const fromEnv = env.SWITCHYARD_ADMIN_TOKEN;
    if (fromEnv !== undefined && fromEnv.length > 0) return new AdminToken(fromEnv);
    if (file === undefined) return new AdminToken(null);
    // A token file that is named but cannot be used is a fatal start-up error, never "no token": the operator
    // asked for one. Its contents are never quoted.
    let text: string;
    try {
      text = readFileSync(file, "utf8").trim();
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      throw tokenFileError(file, e.code === "ENOENT" ? "it does not exist" : e.code === "EACCES" ? "permission denied" : e.code === "EISDIR" ? "it is a folder" : e.message, err);
    }
    if (text.length === 0) throw tokenFileError(file, "it is empty");
    return new AdminToken(text);
  }

  get configured(): boolean {
    return this.digest !== null;
  }

  /** Checks an Authorization header value ("Bearer <token>"). */
  check(header: string | undefined): boolean {
    if (this.digest === null || header === undefined) return false;
    const m = /^Bearer\s+(.+)$/i.exec(header.trim());
    if (m === null) return false;
    const given = createHash("sha256").update(m[1]!).digest();
    return timingSafeEqual(given, this.digest);
  }
}

function tokenFileError(file: string, why: string, cause?: unknown): Error {
  return new SwitchyardError("E_ADMIN_TOKEN_FILE", `switchyard.admin_token_file ${JSON.stringify(file)} cannot be read: ${why}`, { cause });
}
