#!/usr/bin/env node
// The CLI is written in TypeScript and compiled to dist/ by `make build` (npm's prepare does the same).
import { main } from "../dist/host/cli/main.js";
main(process.argv.slice(2)).then((code) => { process.exitCode = code; });
