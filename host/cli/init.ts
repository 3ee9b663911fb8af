// `switchyard init <dir> [--name N] [--lang assemblyscript] [--sdk SPEC]`: scaffolds a plugin project outside
// this repository (init-template.ts), whose `npm install && npm test && npm run build` pass at once. Writes
// nothing when the folder holds anything already, or when an argument is bad.

import { mkdir, readdir, writeFile } from "node:fs/promises";
import { basename, dirname, join, resolve } from "node:path";
import { parseArgs, str, UsageError } from "./args.js";
import { templateFiles } from "./init-template.js";
import { PACKAGE_NAME } from "./package-name.js";
import { packageVersion } from "./version.js";

const USAGE = "usage: switchyard init <dir> [--name N] [--lang assemblyscript] [--sdk SPEC]";
/** A bundle name (host/plugin/bundle.ts), which is also a valid npm name. */
const NAME_RE = /^[a-z0-9][a-z0-9._-]{0,62}$/;
const LANGS = ["assemblyscript"];

export async function run(args: string[]): Promise<number> {
  const p = parseArgs(args, { values: ["name", "lang", "sdk"] });
  const [dir, extra] = p.positional;
  if (dir === undefined || extra !== undefined) throw new UsageError(USAGE);
  const name = str(p, "name") ?? basename(resolve(dir)).toLowerCase();
  if (!NAME_RE.test(name)) throw new UsageError(`init: --name: ${JSON.stringify(name)} is not a plugin name (lowercase letters, digits and . _ -, 1-63, starting with a letter or digit)`);
  const lang = str(p, "lang") ?? "assemblyscript";
  if (!LANGS.includes(lang)) throw new UsageError(`init: --lang: ${JSON.stringify(lang)} is not scaffolded; expected one of ${LANGS.join(", ")} (a C or Rust module is packaged with switchyard pack, docs/other-languages.md)`);
  const sdk = str(p, "sdk") ?? `^${packageVersion()}`;
  let existing: string[] = [];
  try {
    existing = await readdir(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
  }
  if (existing.length > 0) {
    process.stderr.write(`switchyard init: ${dir} is not empty (${existing.slice(0, 3).join(", ")}${existing.length > 3 ? ", …" : ""}); nothing written\n`);
    return 1;
  }
  const files = templateFiles({ name, sdk });
  for (const [rel, text] of Object.entries(files)) {
    const path = join(dir, rel);
    await mkdir(dirname(path), { recursive: true });
    await writeFile(path, text, { flag: "wx" });
  }
  process.stdout.write(`created plugin ${name} in ${dir} (${Object.keys(files).length} files); next: cd ${dir} && npm install && npm test\n`);
  process.stdout.write(`(it depends on the npm package ${PACKAGE_NAME}@${sdk})\n`);
  return 0;
}
