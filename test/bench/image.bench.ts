// Netboot image figures (docs/PERFORMANCE.md, "Netboot image"):
//   - packing the stripped base tree: our cpio writer vs GNU cpio (peer), same run
//   - payload-only rebuild time
//   - base layer size, compress time and kernel unpack time per compressor,
//     booted in QEMU (TCG): seconds to /init, seconds from QEMU start to the
//     payload marker
//   - minimum RAM that boots the image
// Run: npx tsx test/bench/image.bench.ts [--quick]   (--quick: zstd:15 only, no RAM sweep)
import { mkdtemp, rm, writeFile, readFile, stat, open } from "node:fs/promises";
import { createWriteStream } from "node:fs";
import { tmpdir, loadavg } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { execa } from "execa";
import { buildImage } from "../../image-builder/build.ts";
import { ensureBase } from "../../image-builder/base/layer.ts";
import { defaultPaths } from "../../image-builder/paths.ts";
import { KERNEL_ARGS } from "../../image-builder/manifest.ts";
import { compressorArgv, parseCompressor, type Compressor } from "../../image-builder/compress.ts";
import { walkTree } from "../../image-builder/cpio/tree.ts";
import { orderHardLinks, renumberInodes } from "../../image-builder/cpio/records.ts";
import { writeCpio } from "../../image-builder/cpio/write.ts";
import { applyStrip } from "../../image-builder/base/strip.ts";
import { pruneModules } from "../../image-builder/base/modules.ts";
import { ensureRoot } from "../../image-builder/base/layer.ts";
import { ensureRuntime } from "../../image-builder/payload/runtime.ts";
import { runtimeLayerRecords } from "../../image-builder/layers/overlay.ts";
import { probeAccel, startVm } from "../lib/qemu.ts";

const quick = process.argv.includes("--quick");
const FIXTURE = fileURLToPath(
  new URL("../integration/image/fixtures/marker-payload.ts", import.meta.url),
);
const MiB = 1024 * 1024;
const load = () => loadavg()[0]!.toFixed(1);
const secs = (t0: number) => (performance.now() - t0) / 1000;

async function timed<T>(f: () => Promise<T>): Promise<[T, number]> {
  const t0 = performance.now();
  const r = await f();
  return [r, secs(t0)];
}

const work = await mkdtemp(join(tmpdir(), "automagic-image-bench-"));
const paths = {
  ...defaultPaths(),
  images: join(work, "images"),
  payloadOut: join(work, "payload/automagic-install"),
};
const out: string[] = [];
const say = (s: string) => {
  out.push(s);
  console.log(s);
};

try {
  say(`# image bench ${new Date().toISOString()} load ${load()}`);
  // --- payload-only rebuild (base + runtime cached) ---
  const entry = join(work, "entry.ts");
  const fixture = await readFile(FIXTURE, "utf8");
  await writeFile(entry, fixture);
  const first = await buildImage({ entry, paths, makeCurrent: false });
  const rebuilds: number[] = [];
  for (let i = 0; i < 3; i++) {
    await writeFile(entry, `${fixture}\n// change ${i} ${Date.now()}\n`);
    const [, s] = await timed(() => buildImage({ entry, paths, makeCurrent: false }));
    rebuilds.push(s);
  }
  say(`payload-only rebuild: ${rebuilds.map((s) => s.toFixed(2)).join(" / ")} s (load ${load()})`);
  const m = first.manifest;
  say(
    `image: vmlinuz ${(m.kernel.bytes / MiB).toFixed(1)} MiB + initrd ${(m.initrd.bytes / MiB).toFixed(1)} MiB = ${(m.totalBytes / MiB).toFixed(1)} MiB`,
  );
  for (const l of m.initrd.layers)
    say(
      `  layer ${l.name}: ${(l.bytes / MiB).toFixed(1)} MiB (cpio ${(l.cpioBytes / MiB).toFixed(1)} MiB, ${l.compressor.name}:${l.compressor.level})`,
    );

  // --- cpio writer vs GNU cpio on the stripped base tree ---
  const { dir: rootDir, info } = await ensureRoot(paths.cache, () => {});
  const tree = join(work, "tree");
  await execa("cp", ["-al", rootDir, tree]);
  await applyStrip(tree);
  await pruneModules(tree, info.kernelVersion);
  const ours = join(work, "ours.cpio");
  const [bytes, tOurs] = await timed(async () => {
    const ws = createWriteStream(ours);
    const n = await writeCpio(
      orderHardLinks(renumberInodes((await walkTree(tree)).filter((r) => r.name !== "."))),
      ws,
    );
    await new Promise<void>((res) => ws.end(res));
    return n;
  });
  const [, tGnu] = await timed(() =>
    execa("bash", [
      "-c",
      `cd "$1" && find . -mindepth 1 | LC_ALL=C sort | sed 's|^\\./||' | cpio -o -H newc --reproducible --quiet > "$2"`,
      "b",
      tree,
      join(work, "gnu.cpio"),
    ]),
  );
  say(
    `pack stripped base (${(bytes / MiB).toFixed(1)} MiB cpio): automagic writer ${tOurs.toFixed(2)} s, GNU cpio ${tGnu.toFixed(2)} s (load ${load()})`,
  );
  await rm(join(work, "gnu.cpio"));
  await rm(tree, { recursive: true, force: true });

  // --- compressors: size, compress time, kernel unpack / marker in QEMU ---
  // Raw (uncompressed) base and runtime layers, compressed here per variant;
  // the payload layer is sliced off the built image.
  const initrd = join(first.dir, "initrd.img");
  const [baseL, runtimeL] = [m.initrd.layers[0]!, m.initrd.layers[1]!];
  const payloadLayer = join(work, "payload.layer");
  {
    const fh = await open(initrd, "r");
    const size = (await stat(initrd)).size;
    const buf = Buffer.alloc(size - baseL.bytes - runtimeL.bytes);
    await fh.read(buf, 0, buf.length, baseL.bytes + runtimeL.bytes);
    await fh.close();
    await writeFile(payloadLayer, buf);
  }
  const rawRuntime = join(work, "runtime.cpio");
  {
    const rt = await ensureRuntime(paths.cache);
    const ws = createWriteStream(rawRuntime);
    await writeCpio(runtimeLayerRecords(rt.path, rt.bytes, 0), ws);
    await new Promise<void>((res) => ws.end(res));
  }
  const z = (level: number): Compressor => ({ name: "zstd", level });
  // AUTOMAGIC_BENCH_VARIANTS="zstd:3/zstd:3,zstd:15/zstd:19" picks the pairs
  const picked = process.env.AUTOMAGIC_BENCH_VARIANTS?.split(",").map(
    (v) => v.split("/").map(parseCompressor) as [Compressor, Compressor],
  );
  const variants: Array<[base: Compressor, runtime: Compressor]> = picked
    ? picked
    : quick
      ? [[z(9), z(9)]]
      : [
          [z(3), z(3)],
          [z(9), z(9)],
          [z(15), z(19)],
          [z(19), z(19)],
          [
            { name: "gzip", level: 9 },
            { name: "gzip", level: 9 },
          ],
          [
            { name: "xz", level: 6 },
            { name: "xz", level: 6 },
          ],
        ];
  const accel = probeAccel();
  say(`QEMU accelerator: ${accel.name} (${accel.why}); -smp 1, 768 MiB, -kernel/-initrd, no disk`);
  const boot = async (name: string, initrdFile: string, memMiB: number, timeoutMs = 150_000) => {
    const t0 = performance.now();
    const vm = startVm(
      {
        name,
        firmware: "bios",
        mac: "52:54:00:be:0c:01",
        memMiB,
        disks: [],
        kernel: {
          kernel: join(first.dir, "vmlinuz"),
          initrd: initrdFile,
          append: `${KERNEL_ARGS} automagic.url=http://10.0.2.2:9/ automagic.token=bench automagic.action=rescue`,
        },
        extraArgs: ["-nic", "user,restrict=on,model=virtio-net-pci,mac=52:54:00:be:0c:01"],
        workDir: work,
      },
      accel,
    );
    try {
      const text = await vm.waitFor(
        /AUTOMAGIC-PAYLOAD-START|Kernel panic|Initramfs unpacking failed/,
        timeoutMs,
      );
      const marker = secs(t0);
      const ok = /AUTOMAGIC-PAYLOAD-START/.test(text);
      const initAt = /automagic: \[([\d.]+)\]/.exec(text)?.[1];
      return {
        ok,
        marker,
        initAt: initAt ? Number(initAt) : NaN,
        why: ok
          ? ""
          : (/Kernel panic[^\r\n]*|Initramfs unpacking failed[^\r\n]*/.exec(text)?.[0] ?? ""),
      };
    } catch (err) {
      return { ok: false, marker: secs(t0), initAt: NaN, why: (err as Error).message.slice(0, 80) };
    } finally {
      await vm.kill();
    }
  };
  const raw = await ensureBase(paths.cache, { name: "none", level: 0 }, () => {});
  say(
    "| base / runtime compressor | base MiB | runtime MiB | compress s | kernel+initrd MiB | uptime at first boot-script line s | QEMU start -> payload marker s | load |",
  );
  say("|---|---|---|---|---|---|---|---|");
  const compress = async (c: Compressor, from: string, to: string) =>
    (
      await timed(() =>
        execa("bash", ["-c", `${compressorArgv(c).join(" ")} < "$1" > "$2"`, "c", from, to]),
      )
    )[1];
  for (const [bc, rc] of variants) {
    const bfile = join(work, "base.layer");
    const rfile = join(work, "runtime.layer");
    const tc = (await compress(bc, raw.initrd, bfile)) + (await compress(rc, rawRuntime, rfile));
    const full = join(work, "initrd.img");
    await execa("bash", ["-c", 'cat "$1" "$2" "$3" > "$4"', "c", bfile, rfile, payloadLayer, full]);
    const [bsize, rsize] = [(await stat(bfile)).size, (await stat(rfile)).size];
    const total = m.kernel.bytes + (await stat(full)).size;
    const r = await boot(`bench-${bc.name}${bc.level}`, full, 768);
    say(
      `| ${bc.name} -${bc.level} / ${rc.name} -${rc.level} | ${(bsize / MiB).toFixed(1)} | ${(rsize / MiB).toFixed(1)} | ${tc.toFixed(1)} | ${(total / MiB).toFixed(1)} | ${r.initAt.toFixed(2)} | ${r.ok ? r.marker.toFixed(1) : `failed: ${r.why}`} | ${load()} |`,
    );
  }

  // --- minimum RAM ---
  if (!quick && !picked) {
    for (const mem of [512, 640, 768]) {
      const r = await boot(`bench-ram${mem}`, initrd, mem);
      say(
        `RAM ${mem} MiB: ${r.ok ? `boots (marker after ${r.marker.toFixed(1)} s)` : `does not boot (${r.why})`}`,
      );
    }
  }
  const roots = info.buildSeconds.toFixed(0);
  say(
    `recorded cold build steps: mmdebstrap root ${roots} s; base layer (strip+prune+pack) ${(await ensureBase(paths.cache, m.initrd.layers[0]!.compressor, () => {})).buildSeconds.toFixed(0)} s`,
  );
} finally {
  await rm(work, { recursive: true, force: true });
}
