// header-canary in JavaScript, a WebAssembly component of switchyard:router/plugin@1.0.0 (sdk/wit/router.wit)
// made by componentize-js 0.19.3 (the Makefile says why not jco componentize): the rule of
// plugins/header-canary. Requests whose header holds one of the canary values keep the hosts tagged
// tag=tagValue (group 0) with that pair as metadata; the others keep the hosts not so tagged (group 1), or
// every host with "others": "all". Groups are listed once per table.
//
// config: {"header":"x-canary","values":["1","true"],"tag":"version","tagValue":"canary","others":"non-canary"}

const FIELDS = ["header", "values", "tag", "tagValue", "others"];
let cfg = null;
const tables = new Map();

function fail(message) {
  throw message;
}

function nonEmptyString(c, key, fallback) {
  if (!(key in c)) {
    if (fallback === undefined) fail(`config field "${key}": required`);
    return fallback;
  }
  if (typeof c[key] !== "string" || c[key] === "") fail(`config field "${key}": expected a non-empty string`);
  return c[key];
}

export function name() {
  return "header-canary";
}

export function order() {
  return 10;
}

export function configure(text) {
  let c;
  try {
    c = JSON.parse(text);
  } catch {
    fail("config: not JSON");
  }
  if (typeof c !== "object" || c === null || Array.isArray(c)) fail("config: expected a JSON object");
  for (const k of Object.keys(c)) if (!FIELDS.includes(k)) fail(`config field "${k}": unknown (known: ${FIELDS.join(", ")})`);
  const header = nonEmptyString(c, "header");
  if (!Array.isArray(c.values) || c.values.length === 0 || !c.values.every((v) => typeof v === "string")) fail('config field "values": expected a non-empty array of strings');
  const tag = nonEmptyString(c, "tag", "version");
  const tagValue = nonEmptyString(c, "tagValue", "canary");
  const others = nonEmptyString(c, "others", "non-canary");
  if (others !== "non-canary" && others !== "all") fail(`config field "others": expected "non-canary" or "all", got "${others}"`);
  cfg = { header: header.toLowerCase(), values: c.values, tag, tagValue, othersAll: others === "all" };
  tables.clear();
}

export function headers() {
  return [cfg.header];
}

export function setHosts(table, hosts) {
  const tagged = [];
  const rest = [];
  hosts.forEach((h, i) => (h.tags.some(([k, v]) => k === cfg.tag && v === cfg.tagValue) ? tagged : rest).push(i));
  tables.set(table, [Uint32Array.from(tagged), Uint32Array.from(rest)]);
}

export function dropHosts(table) {
  tables.delete(table);
}

export function route(table, request) {
  if (!tables.has(table)) fail("route: no such table");
  const first = request.headers.find(([n]) => n === cfg.header);
  if (first !== undefined && cfg.values.includes(first[1])) {
    return { verdict: { tag: "accept", val: { tag: "group", val: 0 } }, metadata: [[cfg.tag, cfg.tagValue]] };
  }
  if (cfg.othersAll) return { verdict: { tag: "accept", val: { tag: "all" } }, metadata: [] };
  return { verdict: { tag: "accept", val: { tag: "group", val: 1 } }, metadata: [] };
}

export function group(table, g) {
  return tables.get(table)?.[g];
}
