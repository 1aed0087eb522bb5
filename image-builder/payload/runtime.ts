// The SEA runtime: the builder's own Node 20 binary, stripped, with
// loader.cjs injected by postject. Built once per (node binary, loader) and
// cached; the payload bundle is appended to a copy of it (assemble.ts).
import { chmod, copyFile, mkdir, readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { execa } from "execa";
import { sha256File } from "../../shared/hash.ts";
import { hashJson } from "../hash.ts";
import { REPO_ROOT } from "../paths.ts";

export const LOADER = fileURLToPath(new URL("./loader.cjs", import.meta.url));
/** The fuse string Node's SEA support looks for (docs: Single executable applications). */
export const SEA_FUSE = "NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2";

export interface SeaRuntime {
  key: string;
  path: string;
  nodeVersion: string;
  nodeSha256: string;
  bytes: number;
}

export async function ensureRuntime(
  cache: string,
  node = process.execPath,
  onBuild?: (msg: string) => void,
): Promise<SeaRuntime> {
  const nodeVersion = (await execa(node, ["--version"])).stdout.trim();
  if (!/^v(2\d|[3-9]\d)\./.test(nodeVersion))
    throw new Error(`${node}: ${nodeVersion} has no single-executable support (need Node 20+)`);
  const nodeSha256 = await sha256File(node);
  const key = hashJson({
    nodeSha256,
    loader: await readFile(LOADER, "utf8"),
    fuse: SEA_FUSE,
  }).slice(0, 20);
  const dir = join(cache, "runtime", key);
  const path = join(dir, "node-sea");
  const info = join(dir, "runtime.json");
  if (existsSync(info)) return JSON.parse(await readFile(info, "utf8")) as SeaRuntime;
  onBuild?.(`SEA runtime from ${node} ${nodeVersion}: strip + postject`);
  const tmp = `${dir}.tmp-${process.pid}`;
  await rm(tmp, { recursive: true, force: true });
  await mkdir(tmp, { recursive: true });
  try {
    const config = join(tmp, "sea-config.json");
    const blob = join(tmp, "sea-prep.blob");
    await writeFile(
      config,
      JSON.stringify({ main: LOADER, output: blob, disableExperimentalSEAWarning: true }),
    );
    await execa(node, ["--experimental-sea-config", config], { cwd: tmp });
    const out = join(tmp, "node-sea");
    await copyFile(node, out);
    await chmod(out, 0o755);
    // 99 MB -> 86 MB; the fuse string lives in .rodata and survives
    await execa("strip", ["--strip-all", out]);
    const postject = join(REPO_ROOT, "node_modules/postject/dist/cli.js");
    await execa(node, [postject, out, "NODE_SEA_BLOB", blob, "--sentinel-fuse", SEA_FUSE]);
    await rm(config);
    await rm(blob);
    const rt: SeaRuntime = { key, path, nodeVersion, nodeSha256, bytes: (await stat(out)).size };
    await writeFile(join(tmp, "runtime.json"), JSON.stringify(rt, null, 2) + "\n");
    await rm(dir, { recursive: true, force: true });
    await mkdir(join(cache, "runtime"), { recursive: true });
    await rename(tmp, dir);
    return rt;
  } catch (err) {
    await rm(tmp, { recursive: true, force: true });
    throw new Error(`SEA runtime: building from ${node} failed`, { cause: err });
  }
}
