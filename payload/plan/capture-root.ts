// Pure: which partition `capture` archives. The root automagic installed on
// the host's system disk, found by the label every install gives it; none or
// more than one is a refusal naming the disk, never a guess.
import type { InstallSpec } from "../spec/schema.ts";
import type { ProbedPartition, ProbedSystem } from "../probe/types.ts";
import { ROOT_FS_LABEL } from "./groups/disk.ts";
import { describeDisk, selectDisk } from "./select.ts";
import { PlanRefusal } from "./types.ts";

export function findCaptureRoot(spec: InstallSpec, probe: ProbedSystem): ProbedPartition {
  const disk = selectDisk(spec.disk, probe);
  const hits = disk.partitions.filter((p) => p.label === ROOT_FS_LABEL);
  if (hits.length === 0)
    throw new PlanRefusal(
      "disk",
      `no partition labelled ${ROOT_FS_LABEL} on ${describeDisk(disk)}: nothing automagic installed to capture`,
    );
  if (hits.length > 1)
    throw new PlanRefusal(
      "disk",
      `${hits.length} partitions labelled ${ROOT_FS_LABEL} on ${disk.path} (${hits.map((p) => p.path).join(", ")}): which one is the system is not clear`,
    );
  const root = hits[0]!;
  if (root.mountpoints.length)
    throw new PlanRefusal("disk", `${root.path} is mounted at ${root.mountpoints.join(", ")}`);
  return root;
}
