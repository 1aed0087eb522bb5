// Prepare: everything the install needs, in hand before anything is paved:
// stage3 + snapshot (or the system image) fetched and verified, and what is
// kept read from the old root.
import { mountedAt } from "../../probe/ab.ts";
import type { GroupPlanner, PlanContext } from "./context.ts";
import { step } from "./context.ts";
import type { Step } from "../types.ts";

export const planPrepare: GroupPlanner = (ctx) => {
  const keep = readKeepList(ctx);
  return [fetchRoot(ctx), ...(keep ? [keep] : [])];
};

function fetchRoot({ spec, staging, deploy: d }: PlanContext): Step {
  const stagingLine = `staging in ${staging.where === "ram" ? "RAM" : "/home"} (${staging.dir}): ${staging.reason}`;
  if (d) {
    return step({
      id: "fetch-sysimg",
      group: "prepare",
      title: d.home
        ? `verify system image ${d.image} on ${d.home.device} (/home/data/sysimgs)${d.server ? ", the server's copy if it is corrupted" : ""}`
        : `fetch system image ${d.image} from the server`,
      detail: [
        "sha256 checked against the one it was captured with, before anything is paved",
        ...(d.home && !d.server ? [] : [stagingLine]),
      ],
      action: { kind: "fetch-sysimg", ...d, staging },
    });
  }
  return step({
    id: "fetch-verify",
    group: "prepare",
    title: `fetch and verify stage3-amd64-${spec.stage3.variant} and the repository snapshot`,
    detail: [
      `mirror ${spec.stage3.mirror}`,
      `signatures: GOODSIG+VALIDSIG from ${spec.stage3.trustedKeys.join(", ")}; SHA512 from .DIGESTS`,
      stagingLine,
    ],
    action: {
      kind: "fetch-verify",
      mirror: spec.stage3.mirror,
      variant: spec.stage3.variant,
      trustedKeys: spec.stage3.trustedKeys,
      staging,
    },
  });
}

/** Kept password hashes and SSH host keys, read-only; none when nothing is kept. */
function readKeepList({ spec, probe, dev }: PlanContext): Step | undefined {
  const keepNames = spec.users.filter((u) => u.password === "keep").map((u) => u.name);
  if (!dev.oldRoot || !(keepNames.length || spec.keepSshHostKeys)) return undefined;
  const part = probe.disks.flatMap((d) => d.partitions).find((p) => p.path === dev.oldRoot);
  const fstype = probe.oldRoot?.device === dev.oldRoot ? (part?.fstype ?? "auto") : "auto";
  // Layout ab run from a slot: the old root is the running system's, read where it is mounted.
  const at = dev.ab && part ? mountedAt(part) : undefined;
  return step({
    id: "read-keep-list",
    group: "prepare",
    title: `read what is kept from the old root${dev.ab ? `, slot ${dev.oldRoot === dev.root ? dev.ab.slot : dev.ab.other}` : ""} (read-only)`,
    device: dev.oldRoot,
    detail: [
      ...(keepNames.length ? [`password hashes of ${keepNames.join(", ")}`] : []),
      ...(spec.keepSshHostKeys ? ["SSH host keys"] : []),
    ],
    action: {
      kind: "read-keep-list",
      device: dev.oldRoot,
      fstype,
      ...(at ? { mountedAt: at } : {}),
      passwords: keepNames,
      sshHostKeys: spec.keepSshHostKeys,
    },
  });
}
