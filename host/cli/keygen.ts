// `switchyard keygen [--out PREFIX]`: a new Ed25519 signing key pair, PREFIX.key (PKCS#8 PEM, readable by its
// owner only) and PREFIX.pub (SPKI PEM, for a host's switchyard.signatures.trusted_keys). Refuses to overwrite.

import { chmod, writeFile } from "node:fs/promises";
import { generateSigningKey } from "../plugin/signature.js";
import { parseArgs, str, UsageError } from "./args.js";

export async function run(args: string[]): Promise<number> {
  const p = parseArgs(args, { values: ["out"] });
  if (p.positional.length > 0) throw new UsageError("usage: switchyard keygen [--out PREFIX] (default PREFIX: switchyard-signing)");
  const prefix = str(p, "out") ?? "switchyard-signing";
  const k = generateSigningKey();
  // wx: an existing key is never replaced (bundles signed by it would stop verifying).
  await writeFile(`${prefix}.key`, k.privatePem, { flag: "wx", mode: 0o600 });
  await writeFile(`${prefix}.pub`, k.publicPem, { flag: "wx" });
  // Public: readable by the hosts that verify with it, whatever the umask.
  await chmod(`${prefix}.pub`, 0o644);
  process.stdout.write(`key ${k.keyId}: private ${prefix}.key (keep it secret), public ${prefix}.pub (list it in switchyard.signatures.trusted_keys)\n`);
  return 0;
}
