// `switchyard schema`: print the JSON Schema of the config (draft 2020-12), for editors and CI.

import { CONFIG_SCHEMA } from "../config/schema.js";

export async function run(args: string[], out: (text: string) => void = (t) => process.stdout.write(t)): Promise<number> {
  if (args.length > 0) {
    process.stderr.write("usage: switchyard schema\n");
    return 2;
  }
  out(JSON.stringify(CONFIG_SCHEMA, null, 2) + "\n");
  return 0;
}
