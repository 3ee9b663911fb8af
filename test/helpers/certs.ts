// Certificates for TLS tests, made by the `openssl` command (Debian's openssl package, .ci/run): node:crypto
// can read X.509 but not make it. A test CA, and leaves it signs for the names a test asks for, as PEM files in
// a temp folder.
//
//   const ca = await makeCa(dir);
//   const leaf = await makeLeaf(ca, "server", ["localhost", "127.0.0.1"]);
//   https.get({ ..., ca: ca.cert });

import { execFile } from "node:child_process";
import { readFile, writeFile } from "node:fs/promises";
import { isIP } from "node:net";
import { join } from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);

export interface Pem {
  readonly certFile: string;
  readonly keyFile: string;
  readonly cert: string;
  readonly key: string;
}

export interface Ca extends Pem {
  readonly dir: string;
}

const EC = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];

export async function makeCa(dir: string, name = "switchyard-test-ca"): Promise<Ca> {
  const certFile = join(dir, `${name}.crt`);
  const keyFile = join(dir, `${name}.key`);
  await run("openssl", ["req", "-x509", ...EC, "-keyout", keyFile, "-out", certFile, "-days", "2", "-subj", `/CN=${name}`,
    "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign"]);
  return { dir, certFile, keyFile, cert: await readFile(certFile, "utf8"), key: await readFile(keyFile, "utf8") };
}

/** A leaf signed by `ca` for `names` (DNS names and IP addresses, as subjectAltName), written as <file>.crt/.key. */
export async function makeLeaf(ca: Ca, file: string, names: readonly string[], opts: { clientAuth?: boolean } = {}): Promise<Pem> {
  const certFile = join(ca.dir, `${file}.crt`);
  const keyFile = join(ca.dir, `${file}.key`);
  const csr = join(ca.dir, `${file}.csr`);
  const ext = join(ca.dir, `${file}.ext`);
  const san = names.map((n) => (isIP(n) ? `IP:${n}` : `DNS:${n}`)).join(",");
  await writeFile(ext, `subjectAltName=${san}\nextendedKeyUsage=${opts.clientAuth ? "clientAuth" : "serverAuth"}\nbasicConstraints=CA:FALSE\n`);
  await run("openssl", ["req", ...EC, "-keyout", keyFile, "-out", csr, "-subj", `/CN=${names[0] ?? file}`]);
  await run("openssl", ["x509", "-req", "-in", csr, "-CA", ca.certFile, "-CAkey", ca.keyFile, "-CAcreateserial", "-out", certFile, "-days", "2", "-extfile", ext]);
  return { certFile, keyFile, cert: await readFile(certFile, "utf8"), key: await readFile(keyFile, "utf8") };
}
