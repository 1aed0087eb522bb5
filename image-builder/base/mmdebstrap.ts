// The raw root: one mmdebstrap run into a directory. The argv is built by a
// pure function so tests can check it; the run is a thin execa call.
import { execa } from "execa";
import { commandErrorFrom } from "../../shared/command-error.ts";

export interface RootInputs {
  suite: string;
  mirror: string;
  /** Archive components (main, non-free-firmware). */
  components: readonly string[];
  packages: readonly string[];
}

export interface RootExtras {
  /** Local .deb files installed with the packages (absolute paths). */
  localDebs: readonly string[];
}

/**
 * Docs, man pages and translations never reach the disk (dpkg path-exclude),
 * which is faster than deleting them afterwards. Copyright files stay: they
 * are small and the licences ask for them.
 */
export const DPKG_EXCLUDES: readonly string[] = [
  "path-exclude=/usr/share/man/*",
  "path-exclude=/usr/share/info/*",
  "path-exclude=/usr/share/doc/*",
  "path-include=/usr/share/doc/*/copyright",
  "path-exclude=/usr/share/locale/*",
  "path-include=/usr/share/locale/locale.alias",
  "path-exclude=/usr/share/lintian/*",
  "path-exclude=/usr/share/linda/*",
  "path-exclude=/usr/share/bash-completion/*",
  "path-exclude=/usr/share/zsh/*",
  "path-exclude=/usr/share/fish/*",
];

export const AUTOMOUNT_HOOKS = "/usr/share/mmdebstrap/hooks/file-mirror-automount";

/** Pure: the mmdebstrap argv that builds the raw root into `dir`. */
export function mmdebstrapArgs(inputs: RootInputs, extras: RootExtras, dir: string): string[] {
  return [
    "--mode=root",
    "--variant=minbase",
    "--format=directory",
    `--components=${inputs.components.join(",")}`,
    `--include=${[...inputs.packages].sort().join(",")}`,
    '--aptopt=APT::Install-Recommends "false"',
    // one --include per file: a path is never split on commas; the
    // automount hook bind-mounts the .deb's folder so the chrooted dpkg sees it
    ...extras.localDebs.map((d) => `--include=${d}`),
    ...(extras.localDebs.length ? [`--hook-dir=${AUTOMOUNT_HOOKS}`] : []),
    ...DPKG_EXCLUDES.map((o) => `--dpkgopt=${o}`),
    inputs.suite,
    dir,
    inputs.mirror,
  ];
}

/** Runs mmdebstrap; each output line goes to `onLine` (progress). */
export async function runMmdebstrap(
  inputs: RootInputs,
  extras: RootExtras,
  dir: string,
  onLine: (line: string) => void,
): Promise<void> {
  const args = mmdebstrapArgs(inputs, extras, dir);
  const proc = execa("mmdebstrap", args, {
    all: true,
    buffer: { all: true },
    reject: false,
    lines: true,
  });
  for await (const line of proc.iterable({ from: "all" })) onLine(String(line));
  const r = await proc;
  const failed = commandErrorFrom(["mmdebstrap", ...args], r);
  if (failed)
    throw new Error(`mmdebstrap ${inputs.suite} -> ${dir}: ${failed.message}`, { cause: failed });
}
