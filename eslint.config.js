import { dirname } from "node:path";
import { fileURLToPath } from "node:url";
import js from "@eslint/js";
import tseslint from "typescript-eslint";

/** No relative import of `dir` (from any depth below the repository root). */
const notFolder = (dir) => ({
  regex: `^(\\.\\./)+${dir}/`,
  message: `${dir}/ is not importable from here; move what both sides need to shared/.`,
});
/** No relative import of `dir` other than its spec/ (the install spec and run events). */
const notInternals = (dir) => ({
  regex: `^(\\.\\./)+${dir}/(?!spec/)`,
  message: `only ${dir}/spec/ (the contract) is importable from here; move what both sides need to shared/.`,
});
const boundary = (folder, patterns) => ({
  files: [`${folder}/**/*.ts`],
  rules: { "no-restricted-imports": ["error", { patterns }] },
});

export default tseslint.config(
  { ignores: ["node_modules/", "build/", "images/", "var/", "test/golden/", "test/fixtures/"] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      "@typescript-eslint/no-unused-vars": [
        "error",
        { argsIgnorePattern: "^_", varsIgnorePattern: "^_" },
      ],
      "@typescript-eslint/consistent-type-imports": "error",
      "no-constant-condition": ["error", { checkLoops: false }],
    },
  },
  // Promises nobody awaits: an unhandled rejection ends the server, a missed
  // await lets a step run on before the thing it depends on. Type-aware, so
  // TypeScript files only (tsconfig.json's, through the project service).
  {
    files: ["**/*.ts"],
    languageOptions: {
      parserOptions: {
        projectService: true,
        tsconfigRootDir: dirname(fileURLToPath(import.meta.url)),
      },
    },
    rules: {
      // node:test's test()/it()/describe() promises never reject (a failure
      // is reported by the runner), so those calls are known safe; a subtest
      // `t.test()` and everything else still has to be awaited.
      "@typescript-eslint/no-floating-promises": [
        "error",
        {
          allowForKnownSafeCalls: [
            { from: "package", package: "node:test", name: ["test", "it", "describe", "suite"] },
          ],
        },
      ],
      "@typescript-eslint/no-misused-promises": "error",
    },
  },
  // Import boundaries (docs/ARCHITECTURE.md, "Module map"): what two sides
  // need lives in shared/; payload/spec/ is the contract anyone may read. The
  // server may use image-builder (the CLI's `image build`).
  boundary("server", [notInternals("payload")]),
  boundary("payload", [notFolder("server"), notFolder("image-builder")]),
  boundary("image-builder", [notFolder("server"), notInternals("payload")]),
  boundary("shared", [notFolder("server"), notFolder("image-builder"), notInternals("payload")]),
);
