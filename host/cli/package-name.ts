// The npm name of this project. `switchyard` on npm is an unrelated package ("Dynamic routing library for
// express.js applications"), so `npx switchyard` outside a project that installed ours would run a stranger's
// code; `switchyard-proxy` answered E404 (unclaimed) when chosen. The command stays `switchyard` (package.json
// bin), installed beside `switchyard-proxy` so that `npx switchyard-proxy <command>` works from anywhere.
// package.json's name must equal this (test/plugin-project.test.ts checks it).
export const PACKAGE_NAME = "switchyard-proxy";
