// Host files: the public API other modules code against.
//   loadHostRegistry(dir) -> every host, normalised and cross-checked, or a
//   HostFileError listing every problem as "file: path: reason";
//   resolveInstallSpec(host, ctx) -> the spec the payload receives.
export { HostFileError } from "./errors.ts";
export { loadHostRegistry, type LoadOptions } from "./load.ts";
export { resolveInstallSpec, redactSpec, REDACTED, type ResolveContext } from "./resolve.ts";
export type { HostEntry, HostRegistry } from "./types.ts";
export type { HostFile } from "./file-schema.ts";
export { hostFileJsonSchema, renderJsonSchema, SCHEMA_FILE } from "./json-schema.ts";
export { parseSize, formatSize } from "./units.ts";
