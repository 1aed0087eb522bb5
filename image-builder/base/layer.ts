// The base layer: mmdebstrap root (cached by suite, mirror snapshot, package
// list and recipe), stripped and pruned into a compressed cpio beside its
// kernel (cached by the root and the packing recipe).
import { mkdir, readdir, readFile, rename, rm, stat, writeFile, copyFile } from "node:fs/promises";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { execa } from "execa";
import { runMmdebstrap, type RootInputs } from "./mmdebstrap.ts";
import { buildNoInitramfsDeb } from "./no-initramfs-deb.ts";
import { COMPONENTS, MIRROR, PACKAGES, SUITE } from "./packages.ts";
import { fetchSnapshot, type MirrorSnapshot } from "./snapshot.ts";
import { applyStrip } from "./strip.ts";
import { pruneModules } from "./modules.ts";
import { pruneFirmware, type FirmwareResult } from "./firmware.ts";
import { walkTree } from "../cpio/tree.ts";
import { orderHardLinks, renumberInodes } from "../cpio/records.ts";
import { writeCpio } from "../cpio/write.ts";
import { compressTo, extensionOf, type Compressor } from "../compress.ts";
import { hashJson, hashSources } from "../hash.ts";
import { builderSources } from "../paths.ts";
import type { Phase } from "../progress.ts";

export type Emit = (
  phase: Phase,
  message: string,
  extra?: { bytes?: number; cached?: boolean },
) => void;

export interface PackageVersion {
  name: string;
  version: string;
}

export interface RootInfo {
  key: string;
  inputs: RootInputs;
  snapshot: MirrorSnapshot;
  kernelVersion: string;
  packages: PackageVersion[];
  buildSeconds: number;
}

export interface BaseLayer {
  key: string;
  root: RootInfo;
  compressor: Compressor;
  initrd: string;
  vmlinuz: string;
  cpioBytes: number;
  compressedBytes: number;
  modules: { kept: number; total: number };
  firmware: FirmwareResult;
  buildSeconds: number;
}

const ROOT_RECIPE = ["base/mmdebstrap.ts", "base/packages.ts", "base/no-initramfs-deb.ts"];
const PACK_RECIPE = [
  "base/strip.ts",
  "base/modules.ts",
  "base/firmware.ts",
  "base/layer.ts",
  "cpio/newc.ts",
  "cpio/records.ts",
  "cpio/tree.ts",
  "cpio/write.ts",
];

/** Pure: the root's cache key without and with the mirror snapshot. */
export function rootKeys(
  inputs: RootInputs,
  recipeHash: string,
  snapshot: MirrorSnapshot,
): { recipe: string; full: string } {
  const recipe = hashJson({ inputs, recipeHash }).slice(0, 16);
  return { recipe, full: `${recipe}-${snapshot.sha256.slice(0, 12)}` };
}

/** Pure: the packed base's cache key. */
export function baseKey(rootKey: string, packHash: string, compressor: Compressor): string {
  return hashJson({ rootKey, packHash, compressor }).slice(0, 24);
}

async function readJson<T>(path: string): Promise<T | undefined> {
  try {
    return JSON.parse(await readFile(path, "utf8")) as T;
  } catch {
    return undefined;
  }
}

async function listPackages(root: string): Promise<PackageVersion[]> {
  const { stdout } = await execa("dpkg-query", [
    `--admindir=${root}/var/lib/dpkg`,
    "-W",
    "-f=${Package}\t${Version}\n",
  ]);
  return stdout
    .split("\n")
    .filter(Boolean)
    .map((l) => {
      const [name, version] = l.split("\t");
      return { name: name!, version: version ?? "" };
    });
}

async function kernelVersionOf(root: string): Promise<string> {
  const k = (await readdir(join(root, "boot"))).find((f) => f.startsWith("vmlinuz-"));
  if (!k) throw new Error(`${root}/boot: no vmlinuz-* (linux-image-amd64 not installed?)`);
  return k.slice("vmlinuz-".length);
}

/** The mmdebstrap root for the current inputs, built if not cached. */
export async function ensureRoot(
  cache: string,
  emit: Emit,
  opts: { offline?: boolean } = {},
): Promise<{ dir: string; info: RootInfo }> {
  const inputs: RootInputs = {
    suite: SUITE,
    mirror: MIRROR,
    components: COMPONENTS,
    packages: PACKAGES,
  };
  const recipeHash = await hashSources(builderSources(...ROOT_RECIPE));
  const roots = join(cache, "roots");
  await mkdir(roots, { recursive: true });
  let snapshot: MirrorSnapshot;
  try {
    if (opts.offline) throw new Error("--offline");
    snapshot = await fetchSnapshot(MIRROR, SUITE);
  } catch (err) {
    // Offline: the newest cached root built from the same recipe will do.
    const recipe = rootKeys(inputs, recipeHash, { date: "", sha256: "" }).recipe;
    const infos = (await readdir(roots)).filter((f) => f.startsWith(recipe) && f.endsWith(".json"));
    const cached = (await Promise.all(infos.map((f) => readJson<RootInfo>(join(roots, f))))).filter(
      (i) => i !== undefined,
    );
    cached.sort((a, b) => Date.parse(b.snapshot.date) - Date.parse(a.snapshot.date));
    if (cached[0]) {
      emit(
        "inputs",
        `mirror not reachable (${(err as Error).message}); using cached root ${cached[0].key}`,
        { cached: true },
      );
      return { dir: join(roots, cached[0].key), info: cached[0] };
    }
    throw new Error(`base root: mirror snapshot unknown and no cached root for this recipe`, {
      cause: err,
    });
  }
  const key = rootKeys(inputs, recipeHash, snapshot).full;
  const dir = join(roots, key);
  const infoFile = `${dir}.json`;
  const have = await readJson<RootInfo>(infoFile);
  if (have && existsSync(dir)) {
    emit("root", `${SUITE} root ${key} (mirror ${snapshot.date})`, { cached: true });
    return { dir, info: have };
  }
  const t0 = performance.now();
  emit("root", `mmdebstrap ${SUITE} (${PACKAGES.length} packages + minbase) from ${MIRROR}`);
  const tmp = `${dir}.tmp-${process.pid}`;
  await rm(tmp, { recursive: true, force: true });
  const work = join(cache, "work", `deb-${process.pid}`);
  await mkdir(work, { recursive: true });
  try {
    const deb = await buildNoInitramfsDeb(work);
    await runMmdebstrap(inputs, { localDebs: [deb] }, tmp, (line) => {
      if (line.startsWith("I: ")) emit("root", line.slice(3));
    });
    await rm(dir, { recursive: true, force: true });
    await rename(tmp, dir);
  } catch (err) {
    await rm(tmp, { recursive: true, force: true });
    throw err;
  } finally {
    await rm(work, { recursive: true, force: true });
  }
  const info: RootInfo = {
    key,
    inputs,
    snapshot,
    kernelVersion: await kernelVersionOf(dir),
    packages: await listPackages(dir),
    buildSeconds: (performance.now() - t0) / 1000,
  };
  await writeFile(infoFile, JSON.stringify(info, null, 2) + "\n");
  emit("root", `root ${key} built in ${info.buildSeconds.toFixed(0)} s`);
  return { dir, info };
}

/** The packed base layer for the current inputs, built if not cached. */
export async function ensureBase(
  cache: string,
  compressor: Compressor,
  emit: Emit,
  opts: { offline?: boolean } = {},
): Promise<BaseLayer> {
  const { dir: rootDir, info: root } = await ensureRoot(cache, emit, opts);
  const key = baseKey(root.key, await hashSources(builderSources(...PACK_RECIPE)), compressor);
  const out = join(cache, "bases", key);
  const have = await readJson<BaseLayer>(join(out, "layer.json"));
  if (have) {
    emit("pack", `base layer ${key}`, { bytes: have.compressedBytes, cached: true });
    return have;
  }
  const t0 = performance.now();
  const work = join(cache, "work", `base-${key}-${process.pid}`);
  const tmpOut = `${out}.tmp-${process.pid}`;
  await rm(work, { recursive: true, force: true });
  await mkdir(work, { recursive: true });
  await mkdir(tmpOut, { recursive: true });
  try {
    // A hard-link copy: stripping unlinks, depmod writes new files by rename,
    // so the cached root is never changed.
    const tree = join(work, "root");
    await execa("cp", ["-al", rootDir, tree]);
    await copyFile(join(rootDir, "boot", `vmlinuz-${root.kernelVersion}`), join(tmpOut, "vmlinuz"));
    emit("strip", "removing docs, caches, host keys, ICU, Python tests, charsets");
    await applyStrip(tree);
    const modules = await pruneModules(tree, root.kernelVersion);
    emit("modules", `kept ${modules.kept} of ${modules.total} kernel modules (+ dependencies)`);
    const firmware = await pruneFirmware(tree, root.kernelVersion);
    emit(
      "modules",
      `kept ${firmware.files.length} firmware files those modules name ` +
        `(${(firmware.bytes / 2 ** 20).toFixed(1)} MiB; ${firmware.missing.length} named, not packaged)`,
    );
    const initrd = join(tmpOut, `base.cpio${extensionOf(compressor)}`);
    emit("pack", `cpio newc -> ${compressor.name} -${compressor.level}`);
    const records = orderHardLinks(
      renumberInodes((await walkTree(tree)).filter((r) => r.name !== ".")),
    );
    const z = compressTo(compressor, initrd);
    const cpioBytes = await writeCpio(records, z.input, {
      onProgress: (b) => emit("pack", "archived", { bytes: b }),
    });
    z.input.end();
    await z.done;
    const layer: BaseLayer = {
      key,
      root,
      compressor,
      initrd: join(out, `base.cpio${extensionOf(compressor)}`),
      vmlinuz: join(out, "vmlinuz"),
      cpioBytes,
      compressedBytes: (await stat(initrd)).size,
      modules,
      firmware,
      buildSeconds: (performance.now() - t0) / 1000,
    };
    await writeFile(join(tmpOut, "layer.json"), JSON.stringify(layer, null, 2) + "\n");
    await rm(out, { recursive: true, force: true });
    await rename(tmpOut, out);
    emit("pack", `base layer ${key}: cpio ${(cpioBytes / 2 ** 20).toFixed(1)} MiB`, {
      bytes: layer.compressedBytes,
    });
    return layer;
  } catch (err) {
    await rm(tmpOut, { recursive: true, force: true });
    throw err;
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}
