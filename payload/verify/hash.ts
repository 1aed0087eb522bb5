// Moved to shared/verify/hash.ts. Only test/fixture-mirror/recipe.ts still
// imports this path (that folder is rebuilt and edited separately); import
// shared/verify/ everywhere else.
export { hashFile } from "../../shared/verify/hash.ts";
