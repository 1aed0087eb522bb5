// A small real filesystem for tests that need a disk to fill: tmpfs of a
// given size mounted on a fresh temporary folder (root only). `close()`
// unmounts and removes it; call it from `t.after`/`finally`.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";

export interface SmallDisk {
  dir: string;
  close(): Promise<void>;
}

export async function mountTmpfs(size: string, prefix = "am-tmpfs-"): Promise<SmallDisk> {
  if (process.getuid?.() !== 0) throw new Error("mountTmpfs: mounting needs root");
  const dir = mkdtempSync(join(tmpdir(), prefix));
  await execa("mount", ["-t", "tmpfs", "-o", `size=${size},mode=0755`, "tmpfs", dir]);
  return {
    dir,
    async close() {
      await execa("umount", ["-l", dir], { reject: false });
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
