// Request routing: virtual host by Host, then the first router entry whose match holds.
export { compileAllRoutes, compileRoutes } from "./table.js";
export { pickCluster } from "./weighted.js";
export { hostOf } from "./domains.js";
export type { HeaderLookup, RouteMatch, RouteTable } from "./types.js";
