// Installs this project's packed tarball into a project outside the repository with no network: `npm ci
// --offline` against a package-lock.json written from this repository's own lock. npm ci of the repository has
// put every locked tarball in the npm cache, but not the registry's package documents that a plain `npm
// install <tarball>` needs to resolve version ranges; a complete lock needs none of them.

import { execFile } from "node:child_process";
import { readFile, writeFile } from "node:fs/promises";
import { join, relative } from "node:path";
import { promisify } from "node:util";
import { REPO } from "../fixtures/bundles.js";

const run = promisify(execFile);

interface LockEntry {
  version?: string;
  resolved?: string;
  integrity?: string;
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  dev?: boolean;
  optional?: boolean;
  peer?: boolean;
  [k: string]: unknown;
}

/** `npm pack` of the repository into `dest` (dist/ as `make build` left it); returns the tarball's path. */
export async function packRepo(dest: string): Promise<string> {
  // --ignore-scripts: prepare (tsc) would rewrite dist/ under the other test files that run the CLI from it.
  const { stdout } = await run("npm", ["pack", "--ignore-scripts", "--json", "--pack-destination", dest], { cwd: REPO, maxBuffer: 64 << 20 });
  const [info] = JSON.parse(stdout) as { filename: string }[];
  return join(dest, info!.filename);
}

/** The lock path a package named `name` required from `from` resolves to, as Node resolves it. */
function resolveIn(packages: Record<string, LockEntry>, from: string, name: string): string | null {
  let dir = from;
  for (;;) {
    const candidate = (dir === "" ? "" : dir + "/") + "node_modules/" + name;
    if (packages[candidate] !== undefined) return candidate;
    if (dir === "") return null;
    const i = dir.lastIndexOf("/node_modules/");
    dir = i < 0 ? "" : dir.slice(0, i);
  }
}

/**
 * Writes `project`'s package-lock.json for its package.json, whose dependencies must be the tarball
 * (`file:`) and packages this repository locks (vitest): the entries of the repository's lock that they
 * reach, and the tarball with the repository's own dependencies.
 */
export async function writeOfflineLock(project: string, tarball: string): Promise<void> {
  const pkg = JSON.parse(await readFile(join(project, "package.json"), "utf8")) as { name: string; version?: string; dependencies?: Record<string, string>; devDependencies?: Record<string, string> };
  const repoLock = JSON.parse(await readFile(join(REPO, "package-lock.json"), "utf8")) as { packages: Record<string, LockEntry> };
  const ours = JSON.parse(await readFile(join(REPO, "package.json"), "utf8")) as { name: string; version: string; dependencies: Record<string, string>; bin: Record<string, string>; engines: unknown; license: string };
  const src = repoLock.packages;
  const out: Record<string, LockEntry> = {};
  const root: LockEntry = { name: pkg.name, version: pkg.version ?? "0.0.0" };
  if (pkg.dependencies) root.dependencies = pkg.dependencies;
  if (pkg.devDependencies) root.devDependencies = pkg.devDependencies;
  out[""] = root;
  const devOnly = new Set(Object.keys(pkg.devDependencies ?? {}));
  const reached = new Map<string, boolean>(); // lock path -> reached from a production dependency
  const visit = (path: string, prod: boolean) => {
    const seen = reached.get(path);
    if (seen === true || (seen === false && !prod)) return;
    reached.set(path, prod || seen === true);
    const e = src[path]!;
    for (const d of [...Object.keys(e.dependencies ?? {}), ...Object.keys(e.optionalDependencies ?? {})]) {
      const p = resolveIn(src, path, d);
      if (p !== null) visit(p, prod);
    }
  };
  const tarballDev = devOnly.has(ours.name);
  for (const d of Object.keys(ours.dependencies)) {
    const p = resolveIn(src, "", d);
    if (p === null) throw new Error(`package-lock.json has no entry for ${d}`);
    visit(p, !tarballDev);
  }
  for (const d of [...Object.keys(pkg.dependencies ?? {}), ...Object.keys(pkg.devDependencies ?? {})]) {
    if (d === ours.name) continue;
    const p = resolveIn(src, "", d);
    if (p === null) throw new Error(`${d}: not in this repository's package-lock.json, so not in the npm cache`);
    visit(p, !devOnly.has(d));
  }
  out["node_modules/" + ours.name] = {
    version: ours.version,
    resolved: "file:" + relative(project, tarball),
    license: ours.license,
    dependencies: ours.dependencies,
    bin: ours.bin,
    engines: ours.engines,
    ...(tarballDev ? { dev: true } : {}),
  };
  for (const [path, prod] of [...reached].sort(([a], [b]) => (a < b ? -1 : 1))) {
    const { dev: _dev, devOptional: _devOptional, ...rest } = src[path]! as LockEntry & { devOptional?: boolean };
    out[path] = prod ? rest : { ...rest, dev: true };
  }
  await writeFile(join(project, "package-lock.json"), JSON.stringify({ name: pkg.name, version: root.version, lockfileVersion: 3, requires: true, packages: out }, null, 2) + "\n");
}

/** `npm ci --offline` in `project`, after writeOfflineLock. */
export async function installOffline(project: string): Promise<void> {
  await run("npm", ["ci", "--offline", "--no-audit", "--no-fund", "--loglevel=error"], { cwd: project, maxBuffer: 64 << 20 });
}
