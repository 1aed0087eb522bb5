// automagic image build [--json] — issue 5. Thin: options -> buildImage ->
// progress lines (or JSON lines) -> summary.
import type { Command } from "commander";
import { buildImage } from "../../../image-builder/build.ts";
import { parseCompressor } from "../../../image-builder/compress.ts";
import { defaultPaths } from "../../../image-builder/paths.ts";
import { pruneImages } from "../../../image-builder/publish.ts";
import { progressLine, type ProgressLine } from "../../app/progress-line.ts";
import { CliError } from "../exit-codes.ts";
import {
  formatBytes,
  renderProgress,
  type ProgressEvent,
} from "../../../image-builder/progress.ts";

interface BuildFlags {
  json?: boolean;
  entry?: string;
  compress?: string;
  payloadCompress?: string;
  offline?: boolean;
  current?: boolean;
  keep?: string;
}

export function registerImage(program: Command): void {
  const image = program
    .command("image")
    .description("build the RAM netboot image (kernel + initrd + payload)");
  image
    .command("build")
    .description(
      "build images/<id>/{vmlinuz,initrd.img,manifest.json} and point images/current at it",
    )
    .option("--json", "progress and result as one JSON object per line")
    .option("--entry <file>", "payload entry point to bundle", "payload/main.ts")
    .option(
      "--compress <c>",
      "base layer compressor: zstd[:level] | gzip[:level] | xz[:level]",
      "zstd:9",
    )
    .option("--payload-compress <c>", "payload layer compressor", "zstd:9")
    .option("--offline", "do not ask the mirror for its snapshot; reuse the newest cached root")
    .option("--no-current", "leave images/current where it is")
    .option("--keep <n>", "keep the n newest images (and current), delete older ones", "5")
    .action(async (flags: BuildFlags) => {
      const keep = Number(flags.keep ?? "5");
      if (!Number.isInteger(keep) || keep < 1)
        throw new CliError("usage", `--keep ${flags.keep}: expected a whole number >= 1`);
      // a closed stdout (`| head`) must not kill a build half-way
      process.stdout.on("error", () => {});
      const out = (s: string) => process.stdout.write(s + "\n");
      // cpio's "archived N bytes" ticks: one line redrawn on a terminal (plain lines in a log)
      let archiving: ProgressLine | undefined;
      const onProgress = (ev: ProgressEvent) => {
        if (flags.json) return out(JSON.stringify({ type: "progress", ...ev }));
        if (ev.message === "archived" && ev.bytes !== undefined) {
          archiving ??= progressLine(`${ev.phase}: archived`, process.stdout);
          return archiving.update(ev.bytes);
        }
        archiving?.end();
        archiving = undefined;
        out(renderProgress(ev));
      };
      const r = await buildImage({
        entry: flags.entry,
        baseCompressor: parseCompressor(flags.compress ?? "zstd:9"),
        payloadCompressor: parseCompressor(flags.payloadCompress ?? "zstd:9"),
        offline: flags.offline,
        makeCurrent: flags.current !== false,
        onProgress,
      });
      const pruned = await pruneImages(defaultPaths().images, keep);
      if (flags.json) {
        out(
          JSON.stringify({
            type: "result",
            pruned,
            id: r.id,
            dir: r.dir,
            reused: r.reused,
            seconds: r.seconds,
            manifest: r.manifest,
          }),
        );
      } else {
        const m = r.manifest;
        out(
          `image ${r.id}${r.reused ? " (unchanged)" : ""} in ${r.seconds.toFixed(1)} s: ${r.dir}`,
        );
        out(
          `  vmlinuz ${formatBytes(m.kernel.bytes)} + initrd.img ${formatBytes(m.initrd.bytes)} = ${formatBytes(m.totalBytes)}`,
        );
        if (pruned.length) out(`  deleted older images: ${pruned.join(" ")}`);
        for (const l of m.initrd.layers)
          out(
            `  layer ${l.name.padEnd(8)} ${formatBytes(l.bytes).padStart(10)} (cpio ${formatBytes(l.cpioBytes)}, ${l.compressor.name}:${l.compressor.level})`,
          );
      }
    });
}
