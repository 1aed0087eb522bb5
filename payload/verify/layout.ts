// Moved to shared/verify/layout.ts. Only test/fixture-mirror/recipe.ts still
// imports this path (that folder is rebuilt and edited separately); import
// shared/verify/ everywhere else.
export { AUTOBUILDS } from "../../shared/verify/layout.ts";
