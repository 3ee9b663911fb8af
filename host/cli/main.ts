// The `switchyard` command. Each subcommand lives in its own module, loaded only when used, so that
// `switchyard check` does not pay for starting the proxy and `switchyard build` does not load undici.

import { errorLine } from "./error-line.js";
import { PACKAGE_NAME } from "./package-name.js";

type Command = (args: string[]) => Promise<number>;

const COMMANDS: Record<string, { summary: string; load: () => Promise<Command> }> = {
  run: { summary: "run the host: run --config <file> [--plugins <dir>] [--state <dir>] [--workers N] [--watch-config] [--grace 30s] (SIGHUP reloads the config)", load: async () => (await import("./run.js")).run },
  demo: { summary: "run the host on the demo config with demo upstreams and the example plugins", load: async () => (await import("./demo.js")).run },
  check: { summary: "validate a config: check <file> [--strict] (--strict: any warning exits 1)", load: async () => (await import("./check.js")).run },
  init: { summary: "scaffold a plugin project: init <dir> [--name N] [--lang assemblyscript] [--sdk SPEC]", load: async () => (await import("./init.js")).run },
  build: { summary: "compile and package a plugin bundle: build <plugin-dir> [--out <dir>]", load: async () => (await import("./build.js")).run },
  pack: { summary: "package a prebuilt core module (C, Rust, ...) as a bundle: pack <module.wasm> [--plugin-json F] [--out <dir>]", load: async () => (await import("./pack.js")).run },
  conform: { summary: "run the ABI conformance suite on a bundle under the host's sandbox: conform <bundle-dir> [--config F]... [--json]", load: async () => (await import("./conform.js")).run },
  keygen: { summary: "a new Ed25519 bundle signing key pair: keygen [--out PREFIX]", load: async () => (await import("./keygen.js")).run },
  sign: { summary: "sign a bundle for hosts that trust the key: sign <bundle-dir> --key <private key file>", load: async () => (await import("./sign.js")).run },
  push: { summary: "send a plugin config: push <name> <file|-> [--admin URL] [--token T]", load: async () => (await import("./push.js")).run },
  hosts: { summary: "write a cluster's host list to a fleet: hosts <cluster> <hosts.json|-> --source etcd://host:port/prefix [--wait]", load: async () => (await import("./hosts.js")).run },
  status: { summary: "which hosts of a fleet run which config revision: status --source etcd://host:port/prefix", load: async () => (await import("./status.js")).run },
  explain: {
    summary: "show what each plugin kept for a sample request: explain --config <file> [--plugins <dir>] [--state <dir>] | --admin URL [--token T]\n" +
      "           [--method M] [--path /p] [--authority H] [--header 'k: v']... [--listener L] [--json]\n" +
      "           (--config reads the files, --state adds pushed configs and host lists; --admin asks a running host; --json prints JSON)",
    load: async () => (await import("./explain.js")).run,
  },
  schema: { summary: "print the JSON Schema of the config", load: async () => (await import("./schema.js")).run },
};

function usage(): string {
  const lines = ["usage: switchyard <command> [options]", "       switchyard --version", `(the npm package ${PACKAGE_NAME}: \`npx ${PACKAGE_NAME} <command>\` runs it where it is not installed)`, "", "commands:"];
  for (const [name, c] of Object.entries(COMMANDS)) lines.push(`  ${name.padEnd(8)} ${c.summary}`);
  return lines.join("\n");
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === "--version" || name === "-V" || name === "version") {
    process.stdout.write(`${PACKAGE_NAME} ${(await import("./version.js")).packageVersion()}\n`);
    return 0;
  }
  if (name === undefined || name === "help" || name === "--help" || name === "-h") {
    process.stdout.write(usage() + "\n");
    return name === undefined ? 2 : 0;
  }
  const command = COMMANDS[name];
  if (command === undefined) {
    process.stderr.write(`switchyard: unknown command "${name}"\n${usage()}\n`);
    return 2;
  }
  try {
    return await (await command.load())(rest);
  } catch (err) {
    process.stderr.write(errorLine(name, err));
    return 1;
  }
}
