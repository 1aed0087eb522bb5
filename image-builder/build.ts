// `automagic image build`: base layer (cached) + SEA runtime layer (cached)
// + payload layer (always rebuilt, small) -> images/<id>/, then `current`.
import { acquireLock } from "../shared/lock.ts";
import { mkdir, readdir, readFile, rm, copyFile, stat, writeFile } from "node:fs/promises";
import { createReadStream, createWriteStream, existsSync } from "node:fs";
import { pipeline } from "node:stream/promises";
import { join, relative } from "node:path";
import { ensureBase } from "./base/layer.ts";
import { PACKAGES } from "./base/packages.ts";
import { walkTree } from "./cpio/tree.ts";
import {
  compressorArgv,
  DEFAULT_BASE_COMPRESSOR,
  DEFAULT_PAYLOAD_COMPRESSOR,
  extensionOf,
  type Compressor,
} from "./compress.ts";
import { sha256, sha256File } from "../shared/hash.ts";
import { hashJson, hashSources } from "./hash.ts";
import { payloadLayerRecords, runtimeLayerRecords } from "./layers/overlay.ts";
import { writeLayer, type LayerFile } from "./layers/write-layer.ts";
import { imageId, KERNEL_ARGS, manifestSchema, type LayerInfo, type Manifest } from "./manifest.ts";
import { assemblePayload } from "./payload/assemble.ts";
import { bundlePayload } from "./payload/bundle.ts";
import { ensureRuntime } from "./payload/runtime.ts";
import { defaultPaths, REPO_ROOT, type BuildPaths } from "./paths.ts";
import { progressEmitter, type OnProgress } from "./progress.ts";
import { addPayloadBinary, PAYLOAD_FILE, publishImage, setCurrent } from "./publish.ts";
import { pruneCache } from "./cache-prune.ts";

export interface BuildOptions {
  paths?: BuildPaths;
  /** The payload's entry point (bundled with esbuild). */
  entry?: string;
  baseCompressor?: Compressor;
  runtimeCompressor?: Compressor;
  payloadCompressor?: Compressor;
  onProgress?: OnProgress;
  offline?: boolean;
  /** Point images/current at the result (default true). */
  makeCurrent?: boolean;
  now?: () => Date;
}

export interface BuildResult {
  id: string;
  dir: string;
  manifest: Manifest;
  reused: boolean;
  seconds: number;
}

export const ROOTFS_DIR = join(REPO_ROOT, "image-builder", "rootfs");
export const DEFAULT_RUNTIME_COMPRESSOR: Compressor = { name: "zstd", level: 9 };

async function builderFiles(dir = join(REPO_ROOT, "image-builder")): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...(await builderFiles(p)));
    else out.push(p);
  }
  return out;
}

async function concat(parts: readonly string[], out: string): Promise<void> {
  const ws = createWriteStream(out);
  for (const p of parts) await pipeline(createReadStream(p), ws, { end: false });
  await new Promise<void>((res, rej) => ws.end((err?: Error | null) => (err ? rej(err) : res())));
}

async function ensureRuntimeLayer(
  cache: string,
  runtime: { key: string; path: string; bytes: number },
  c: Compressor,
): Promise<LayerFile & { key: string }> {
  const key = hashJson({ runtime: runtime.key, c }).slice(0, 20);
  const dir = join(cache, "layers");
  await mkdir(dir, { recursive: true });
  const file = join(dir, `runtime-${key}.cpio${extensionOf(c)}`);
  const info = `${file}.json`;
  if (existsSync(info))
    return JSON.parse(await readFile(info, "utf8")) as LayerFile & { key: string };
  const layer = {
    ...(await writeLayer(runtimeLayerRecords(runtime.path, runtime.bytes, 0), c, file)),
    key,
  };
  await writeFile(info, JSON.stringify(layer, null, 2) + "\n");
  return layer;
}

/**
 * One build per image cache at a time: two suites building at once would
 * race on the cached root (one replaces or prunes what the other copies).
 */
export async function buildImage(opts: BuildOptions = {}): Promise<BuildResult> {
  const paths = opts.paths ?? defaultPaths();
  await mkdir(paths.cache, { recursive: true });
  const release = await acquireLock(join(paths.cache, "build.lock"), (pid) =>
    progressEmitter(opts.onProgress ?? (() => {}))(
      "inputs",
      `waiting for process ${pid}'s image build (one at a time per cache)`,
    ),
  );
  try {
    return await buildUnlocked({ ...opts, paths });
  } finally {
    await release();
  }
}

async function buildUnlocked(
  opts: BuildOptions & { paths: NonNullable<BuildOptions["paths"]> },
): Promise<BuildResult> {
  const t0 = performance.now();
  const paths = opts.paths;
  const entry = opts.entry ?? join(paths.repo, "payload/main.ts");
  const emit = progressEmitter(opts.onProgress ?? (() => {}));
  const baseC = opts.baseCompressor ?? DEFAULT_BASE_COMPRESSOR;
  const runtimeC = opts.runtimeCompressor ?? DEFAULT_RUNTIME_COMPRESSOR;
  const payloadC = opts.payloadCompressor ?? DEFAULT_PAYLOAD_COMPRESSOR;
  for (const c of [baseC, runtimeC, payloadC]) compressorArgv(c); // validates early
  if (!existsSync(entry)) throw new Error(`payload entry ${entry}: no such file`);

  emit(
    "inputs",
    `payload entry ${relative(paths.repo, entry)}; compressors base ${baseC.name}:${baseC.level}, payload ${payloadC.name}:${payloadC.level}`,
  );
  const base = await ensureBase(paths.cache, baseC, emit, { offline: opts.offline });

  const pruned = await pruneCache(paths.cache, { root: base.root.key, base: base.key });
  if (pruned.length) emit("inputs", `cache: deleted ${pruned.join(", ")}`);

  const runtime = await ensureRuntime(paths.cache, process.execPath, (m) => emit("payload", m));
  const runtimeLayer = await ensureRuntimeLayer(paths.cache, runtime, runtimeC);
  emit("payload", `SEA runtime ${runtime.nodeVersion} layer`, {
    bytes: runtimeLayer.bytes,
    cached: true,
  });

  const bundleFile = join(paths.payloadOut, "..", "automagic-install.mjs");
  const bundleBytes = await bundlePayload(entry, bundleFile);
  const tail = await assemblePayload(runtime.path, bundleFile, paths.payloadOut);
  emit(
    "payload",
    `bundled ${relative(paths.repo, entry)} -> ${relative(paths.repo, paths.payloadOut)}`,
    { bytes: bundleBytes },
  );

  const work = join(paths.cache, "work", `image-${process.pid}`);
  await rm(work, { recursive: true, force: true });
  await mkdir(work, { recursive: true });
  try {
    const mtime = Math.floor(Date.parse(base.root.snapshot.date) / 1000) || 0;
    const bundleSha = sha256(tail);
    const buildInfo =
      JSON.stringify(
        {
          base: base.key,
          runtime: runtime.key,
          node: runtime.nodeVersion,
          bundleSha256: bundleSha,
        },
        null,
        2,
      ) + "\n";
    const records = payloadLayerRecords({
      rootfs: await walkTree(ROOTFS_DIR),
      bundleTail: tail,
      buildInfo,
      imageLabel: `base ${base.key.slice(0, 12)} payload ${bundleSha.slice(0, 12)}`,
      mtime,
    });
    const payloadLayer = await writeLayer(
      records,
      payloadC,
      join(work, `payload.cpio${extensionOf(payloadC)}`),
    );
    emit("overlay", "payload layer (bundle, boot scripts, config)", { bytes: payloadLayer.bytes });

    const staged = join(work, "image");
    await mkdir(staged);
    const initrd = join(staged, "initrd.img");
    await concat([base.initrd, runtimeLayer.file, payloadLayer.file], initrd);
    await copyFile(base.vmlinuz, join(staged, "vmlinuz"));
    // Beside the kernel: `reinstall --via ssh` copies it to a running system.
    await copyFile(paths.payloadOut, join(staged, PAYLOAD_FILE));
    const initrdSha = await sha256File(initrd);
    const kernelSha = await sha256File(join(staged, "vmlinuz"));
    const contentSha = sha256(kernelSha, initrdSha);

    // Same content as an image already built: point `current` at it instead.
    const existing = existsSync(paths.images)
      ? (await readdir(paths.images)).find((d) => d.endsWith(`-${contentSha.slice(0, 12)}`))
      : undefined;
    if (existing && existsSync(join(paths.images, existing, "manifest.json"))) {
      const manifest = manifestSchema.parse(
        JSON.parse(await readFile(join(paths.images, existing, "manifest.json"), "utf8")),
      );
      await addPayloadBinary(join(paths.images, existing), paths.payloadOut, manifest);
      if (opts.makeCurrent ?? true) await setCurrent(paths.images, existing);
      emit("publish", `image ${existing} unchanged`, { bytes: manifest.totalBytes, cached: true });
      return {
        id: existing,
        dir: join(paths.images, existing),
        manifest,
        reused: true,
        seconds: (performance.now() - t0) / 1000,
      };
    }

    const layerInfo = (
      name: LayerInfo["name"],
      key: string,
      l: { compressor: Compressor; cpioBytes: number; bytes: number; sha256: string },
    ): LayerInfo => ({
      name,
      key,
      compressor: l.compressor,
      cpioBytes: l.cpioBytes,
      bytes: l.bytes,
      sha256: l.sha256,
    });
    const createdAt = (opts.now ?? (() => new Date()))();
    const kernelBytes = (await stat(join(staged, "vmlinuz"))).size;
    const initrdBytes = (await stat(initrd)).size;
    const manifest: Manifest = manifestSchema.parse({
      schema: 1,
      id: imageId(createdAt, contentSha),
      createdAt: createdAt.toISOString(),
      inputs: {
        suite: base.root.inputs.suite,
        mirror: base.root.inputs.mirror,
        mirrorSnapshot: base.root.snapshot,
        packages: [...PACKAGES],
        payloadEntry: relative(paths.repo, entry),
        nodeVersion: runtime.nodeVersion,
        builderSha256: await hashSources(await builderFiles()),
      },
      kernel: {
        file: "vmlinuz",
        version: base.root.kernelVersion,
        bytes: kernelBytes,
        sha256: kernelSha,
      },
      initrd: {
        file: "initrd.img",
        bytes: initrdBytes,
        sha256: initrdSha,
        layers: [
          layerInfo("base", base.key, {
            compressor: base.compressor,
            cpioBytes: base.cpioBytes,
            bytes: base.compressedBytes,
            sha256: await sha256File(base.initrd),
          }),
          layerInfo("runtime", runtimeLayer.key, runtimeLayer),
          layerInfo("payload", bundleSha.slice(0, 20), payloadLayer),
        ],
      },
      payload: {
        bundleBytes,
        binaryBytes: (await stat(paths.payloadOut)).size,
        binarySha256: await sha256File(paths.payloadOut),
      },
      kernelArgs: KERNEL_ARGS,
      modules: base.modules,
      packages: base.root.packages,
      totalBytes: kernelBytes + initrdBytes,
    });
    const dir = await publishImage(paths.images, staged, manifest, opts.makeCurrent ?? true);
    emit(
      "publish",
      `image ${manifest.id}${(opts.makeCurrent ?? true) ? " (current)" : ""}: kernel + initrd`,
      { bytes: manifest.totalBytes },
    );
    return {
      id: manifest.id,
      dir,
      manifest,
      reused: false,
      seconds: (performance.now() - t0) / 1000,
    };
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}
