// Pure: what a partition looks like, from its table entry and (when it could
// be mounted read-only) its top level. The draft host file
// (server/hosts/draft.ts) builds its layout from these roles.
import type { HomeEntry, ProbedPartition } from "../probe/types.ts";
import type { PartitionRole } from "../spec/inventory.ts";
import { parseOsRelease } from "./parse.ts";

/** GPT type of an EFI system partition. */
export const ESP_GUID = "c12a7328-f81f-11d2-ba4b-00a0c93ec93b";
/** systemd's Discoverable Partitions: "Linux /home". */
const HOME_GUID = "933ac7e1-2eb4-4f13-b844-0e14e2aef915";
/** UIDs of people: not root, not system accounts, not nobody. */
const isPersonUid = (uid: number) => uid >= 1000 && uid < 65534;

/** What was read from a filesystem's top level (payload/discover/collect.ts). */
export interface Contents {
  entries: HomeEntry[];
  /** /etc/os-release (or /usr/lib/os-release) text, when present. */
  osRelease?: string;
  /** /etc/gentoo-release exists. */
  gentooRelease: boolean;
  /** /etc/passwd exists: an operating system's root. */
  passwd: boolean;
}

export interface Classified {
  role?: PartitionRole;
  os?: string;
}

export function classifyPartition(p: ProbedPartition, c: Contents | undefined): Classified {
  const type = p.parttype?.toLowerCase();
  if (type === ESP_GUID || type === "0xef") return { role: "esp" };
  if (p.fstype === "swap") return { role: "swap" };
  if (c) {
    const os = c.osRelease !== undefined ? parseOsRelease(c.osRelease) : {};
    const name = os.name ? { os: os.name } : {};
    if (c.gentooRelease || os.id === "gentoo") return { role: "gentoo-root", ...name };
    if (c.passwd || os.id) return { role: "os-root", ...name };
  }
  if (looksLikeHome(p, c)) return { role: "home" };
  return {};
}

/**
 * Named home (label, partlabel, the GPT /home type), or a filesystem without
 * /etc whose top level has directories owned by people (alice/, bob/).
 */
export function looksLikeHome(p: ProbedPartition, c: Contents | undefined): boolean {
  if ([p.label, p.partlabel].some((l) => l !== undefined && /^home$/i.test(l))) return true;
  if (p.parttype?.toLowerCase() === HOME_GUID) return true;
  if (!c || c.entries.some((e) => e.name === "etc")) return false;
  return c.entries.some((e) => e.isDir && isPersonUid(e.uid));
}

/** The people's directories at a /home's top level, for the inventory and the draft's comments. */
export function homeOwners(entries: HomeEntry[]): Array<{ name: string; uid: number }> {
  return entries
    .filter((e) => e.isDir && isPersonUid(e.uid))
    .slice(0, 200)
    .map((e) => ({ name: e.name.slice(0, 255), uid: e.uid }));
}

/** Filesystems the discover run mounts (read-only) to look inside. */
export const READABLE_FS = new Set(["ext2", "ext3", "ext4", "xfs", "btrfs"]);
