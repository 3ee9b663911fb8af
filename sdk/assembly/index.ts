// The author API of the Switchyard AssemblyScript SDK. A plugin's entry file imports from here and
// re-exports the ABI (which is not part of this API):
//
//   import { RouterFactory, Handler, Configured, Request, Hosts, Result, register } from "<sdk>/assembly";
//   export * from "<sdk>/assembly/abi/exports";

export { RouterFactory, Handler, Configured, register } from "./router";
export { Request } from "./request";
export { Hosts, Host } from "./hosts";
export { Result, GrpcCode, GRPC_STATUS_KEY } from "./result";
export { log } from "./log";
export { JsonValue, JsonKind, JsonParse, parseJson, MAX_JSON_DEPTH } from "./json";
export { ConfigReader } from "./config";
export { fnv1a32, fnv1a32Bytes } from "./hash";
export * from "./limits";
