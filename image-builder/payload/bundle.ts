// esbuild: the payload entry (any path) into one ES module. Built-ins stay
// imports; every npm dependency is inlined. CommonJS dependencies that call
// require() get a require made from node:module (an ESM bundle has none).
import { build } from "esbuild";
import { mkdir } from "node:fs/promises";
import { dirname } from "node:path";

export const REQUIRE_SHIM =
  'import { createRequire as __automagicCreateRequire } from "node:module";\n' +
  "const require = __automagicCreateRequire(process.execPath);";

/** Bundles `entry` into `outfile`; returns its size in bytes. */
export async function bundlePayload(entry: string, outfile: string): Promise<number> {
  await mkdir(dirname(outfile), { recursive: true });
  try {
    const r = await build({
      entryPoints: [entry],
      outfile,
      bundle: true,
      platform: "node",
      target: "node20",
      format: "esm",
      // not minified: a failure's stack trace must stay readable
      legalComments: "none",
      banner: { js: REQUIRE_SHIM },
      logLevel: "silent",
      metafile: true,
    });
    return Object.values(r.metafile.outputs).reduce((n, o) => n + o.bytes, 0);
  } catch (err) {
    throw new Error(`esbuild: bundling ${entry} failed`, { cause: err });
  }
}
