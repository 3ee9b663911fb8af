// Signed bundles: an Ed25519 signature (node:crypto) over a bundle's metadata.json and its wasm's digest, kept
// in the bundle as signature.json, checked against the public keys a host trusts (config
// switchyard.signatures). The checksums of MOSN (md5) and Envoy (sha256) say a file arrived whole, not who
// built it; a signature says that too.

import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, sign, verify, type KeyObject } from "node:crypto";
import { readFileSync } from "node:fs";
import { readBundleFile, type FileLimit } from "./bundle-files.js";
import { BundleError, SwitchyardError } from "./errors.js";

export const SIGNATURE_FILE = "signature.json";
// A signature.json of sign's is about 150 bytes; 4 KiB leaves room and bounds what a hostile one makes us read.
const SIGNATURE_LIMIT: FileLimit = { bytes: 4096, name: "the signature file limit", code: "E_BUNDLE_SIGNATURE" };
const DOMAIN = "switchyard-bundle-signature-v1";

export interface SignaturePolicy {
  /** Trusted public keys by key id. */
  readonly trusted: ReadonlyMap<string, KeyObject>;
  /** An unsigned bundle is refused (E_BUNDLE_UNSIGNED); otherwise only a signature present is checked. */
  readonly required: boolean;
}

/** What is signed: the metadata.json bytes and the wasm bytes, each by its sha256, under a domain tag. */
function payload(metadataBytes: Uint8Array, wasmBytes: Uint8Array): Buffer {
  const h = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");
  return Buffer.from(`${DOMAIN}\nmetadata.json sha256 ${h(metadataBytes)}\nwasm sha256 ${h(wasmBytes)}\n`);
}

/** A key's id: the first 16 hex digits of the sha256 of its public key (SPKI DER). */
export function keyId(key: KeyObject): string {
  const pub = key.type === "private" ? createPublicKey(key) : key;
  return createHash("sha256").update(pub.export({ type: "spki", format: "der" })).digest("hex").slice(0, 16);
}

/** A new Ed25519 key pair as PEM (PKCS#8 private, SPKI public). */
export function generateSigningKey(): { privatePem: string; publicPem: string; keyId: string } {
  const { privateKey, publicKey } = generateKeyPairSync("ed25519");
  return { privatePem: privateKey.export({ type: "pkcs8", format: "pem" }) as string, publicPem: publicKey.export({ type: "spki", format: "pem" }) as string, keyId: keyId(publicKey) };
}

/** The signature.json of a bundle whose files are these bytes, signed with an Ed25519 private key (PEM). */
export function signBundle(metadataBytes: Uint8Array, wasmBytes: Uint8Array, privatePem: string): { keyId: string; algorithm: "ed25519"; signature: string } {
  const key = createPrivateKey(privatePem);
  if (key.asymmetricKeyType !== "ed25519") throw new SwitchyardError("E_SIGNATURE_KEY", `expected an Ed25519 private key, got ${key.asymmetricKeyType}`);
  return { keyId: keyId(key), algorithm: "ed25519", signature: sign(null, payload(metadataBytes, wasmBytes), key).toString("base64") };
}

/** Reads the trusted public keys (PEM files); a bad file is E_SIGNATURE_KEY naming it. */
export function loadSignaturePolicy(settings: { readonly trustedKeys: readonly string[]; readonly required: boolean } | undefined): SignaturePolicy | undefined {
  if (settings === undefined || (settings.trustedKeys.length === 0 && !settings.required)) return undefined;
  const trusted = new Map<string, KeyObject>();
  for (const file of settings.trustedKeys) {
    let key: KeyObject;
    try {
      key = createPublicKey(readFileSync(file, "utf8"));
    } catch (err) {
      throw new SwitchyardError("E_SIGNATURE_KEY", `switchyard.signatures.trusted_keys: ${file}: not a readable public key: ${(err as Error).message}`, { cause: err });
    }
    if (key.asymmetricKeyType !== "ed25519") throw new SwitchyardError("E_SIGNATURE_KEY", `switchyard.signatures.trusted_keys: ${file}: expected an Ed25519 public key, got ${key.asymmetricKeyType}`);
    trusted.set(keyId(key), key);
  }
  return { trusted, required: settings.required };
}

/**
 * Checks `dir`'s signature.json under `policy` (nothing when undefined): E_BUNDLE_UNSIGNED when required and
 * absent, E_BUNDLE_UNTRUSTED for a key the host does not trust, E_BUNDLE_SIGNATURE for a malformed file or a
 * signature that does not match the files (a tampered bundle).
 */
export async function verifyBundleSignature(dir: string, bundle: string, metadataBytes: Uint8Array, wasmBytes: Uint8Array, policy: SignaturePolicy | undefined): Promise<void> {
  if (policy === undefined) return;
  // Read as the bundle's other files are (host/plugin/bundle-files.ts): bounded, never through a symbolic link.
  let bytes: Buffer;
  try {
    bytes = await readBundleFile(dir, SIGNATURE_FILE, SIGNATURE_LIMIT, bundle, "E_BUNDLE_SIGNATURE");
  } catch (err) {
    if (!(err instanceof BundleError && err.code === "E_BUNDLE_SIGNATURE" && err.incomplete)) throw err;
    if (policy.required) throw new BundleError("E_BUNDLE_UNSIGNED", bundle, `no ${SIGNATURE_FILE}, and this host requires signed bundles (switchyard.signatures.required); sign it with switchyard sign`);
    return;
  }
  let sig: { keyId?: unknown; algorithm?: unknown; signature?: unknown };
  try {
    sig = JSON.parse(bytes.toString("utf8")) as typeof sig;
  } catch {
    // Not the parser's message: V8's quotes the text, and a file of unknown origin is never quoted in a log.
    throw new BundleError("E_BUNDLE_SIGNATURE", bundle, `${SIGNATURE_FILE} is not JSON (${bytes.length} bytes)`);
  }
  if (typeof sig !== "object" || sig === null || typeof sig.keyId !== "string" || sig.algorithm !== "ed25519" || typeof sig.signature !== "string") {
    throw new BundleError("E_BUNDLE_SIGNATURE", bundle, `${SIGNATURE_FILE}: expected {"keyId": string, "algorithm": "ed25519", "signature": base64}`);
  }
  const key = policy.trusted.get(sig.keyId);
  if (key === undefined) throw new BundleError("E_BUNDLE_UNTRUSTED", bundle, `signed by key ${sig.keyId}, which is not among the ${policy.trusted.size} trusted keys (switchyard.signatures.trusted_keys)`);
  if (!verify(null, payload(metadataBytes, wasmBytes), key, Buffer.from(sig.signature, "base64"))) {
    throw new BundleError("E_BUNDLE_SIGNATURE", bundle, `the signature of key ${sig.keyId} does not match metadata.json and the wasm: the bundle was changed after it was signed`);
  }
}
