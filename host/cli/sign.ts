// `switchyard sign <bundle-dir> --key FILE`: writes the bundle's signature.json, an Ed25519 signature of its
// metadata.json and wasm (host/plugin/signature.ts) by the private key of `switchyard keygen`. The bundle is
// verified first (its wasm matches metadata.json's sha256), so a broken bundle is never signed.

import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { loadBundle } from "../plugin/bundle.js";
import { SIGNATURE_FILE, signBundle } from "../plugin/signature.js";
import { parseArgs, str, UsageError } from "./args.js";

export async function run(args: string[]): Promise<number> {
  const p = parseArgs(args, { values: ["key"] });
  const [dir, extra] = p.positional;
  const keyFile = str(p, "key") ?? process.env.SWITCHYARD_SIGNING_KEY;
  if (dir === undefined || extra !== undefined || keyFile === undefined) throw new UsageError("usage: switchyard sign <bundle-dir> --key <private key file> (or SWITCHYARD_SIGNING_KEY)");
  const bundle = await loadBundle(dir);
  // The bytes the host verifies: metadata.json as text (bundle.ts reads it so), the wasm as it is.
  const metadata = Buffer.from(await readFile(join(dir, "metadata.json"), "utf8"), "utf8");
  const sig = signBundle(metadata, bundle.wasmBytes, await readFile(keyFile, "utf8"));
  await writeFile(join(dir, SIGNATURE_FILE), JSON.stringify(sig, null, 2) + "\n");
  process.stdout.write(`signed ${bundle.metadata.name}@${bundle.metadata.version} with key ${sig.keyId} into ${join(dir, SIGNATURE_FILE)}\n`);
  return 0;
}
