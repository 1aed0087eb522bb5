// One loop-disk world per test file: a scratch folder under /var/tmp, GPT
// disk images made in it and attached as loop devices, and one close() that
// unmounts whatever a failed run left mounted below the folder, detaches
// every loop and removes the folder. Only image files and the loops it
// attaches are touched.
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { attachLoop } from "./loopdisk.ts";

export interface GptPart {
  /** sgdisk's end: "+600M" for a size, "0" for the rest of the disk. */
  size: string;
  /** GPT type code (sgdisk's: ef02 BIOS boot, 8304 Linux root x86-64, ...). */
  type?: string;
  /** The partition's name (its partlabel). */
  name?: string;
}

export class LoopWorld {
  readonly dir: string;
  readonly #loops: Array<{ detach(): void }> = [];

  constructor(prefix: string) {
    this.dir = mkdtempSync(`/var/tmp/${prefix}-`);
  }

  /**
   * The image `name`.img of `size` (truncate's syntax, sparse), laid out as
   * `parts` (GPT, numbered in order; none: a blank disk) and attached. The
   * partitions are `${dev}p1`, `${dev}p2`, ...
   */
  disk(name: string, size: string, parts: GptPart[] = []): string {
    const image = join(this.dir, `${name}.img`);
    execFileSync("truncate", ["-s", size, image]);
    if (parts.length) execFileSync("sgdisk", [...parts.flatMap(sgdiskArgs), image]);
    const loop = attachLoop(image);
    this.#loops.push(loop);
    // Kernels built without GPT parsing ignore --partscan: partx adds them from userspace.
    if (parts.length) spawnSync("partx", ["--add", loop.dev]);
    return loop.dev;
  }

  close(): void {
    const below = readFileSync("/proc/self/mounts", "utf8")
      .split("\n")
      .map((l) => l.split(" ")[1])
      .filter((m): m is string => !!m && m.startsWith(this.dir + "/"));
    for (const m of below.reverse()) spawnSync("umount", ["-l", m]);
    for (const l of this.#loops) l.detach();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

function sgdiskArgs(p: GptPart, i: number): string[] {
  const n = i + 1;
  return [
    `--new=${n}:0:${p.size}`,
    ...(p.type ? [`--typecode=${n}:${p.type}`] : []),
    ...(p.name ? [`--change-name=${n}:${p.name}`] : []),
  ];
}
