// Bearer-token check for every admin request that changes state. Both sides are hashed first so that the
// comparison is constant-time whatever the lengths (timingSafeEqual needs equal lengths).

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
    if (file !== undefined) return new AdminToken(readFileSync(file, "utf8").trim());
    return new AdminToken(null);
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
