// Reading a config file: the one place that touches the file system, so parseConfig stays pure.

import { readFile } from "node:fs/promises";
import { ConfigError } from "./errors.js";
import { parseConfig, type ParsedConfig } from "./parse.js";

/** Read and parse a config file; a missing or unreadable file is a ConfigError with code E_CONFIG_READ. */
export async function loadConfigFile(file: string): Promise<ParsedConfig> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    throw new ConfigError("E_CONFIG_READ", file, [{ path: "", message: `cannot read the config file: ${e.code ?? ""} ${e.message}`.trim() }], { cause: err });
  }
  return parseConfig(text, file);
}
