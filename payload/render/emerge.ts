// Pure: the emerge command lines automagic runs. Every one gets the same
// output flags, so the progress and failure parsers
// (phase2/emerge-progress.ts) read the same text in phase 1 and phase 2.
import type { InstallSpec } from "../spec/schema.ts";

const OUTPUT = ["--color=n", "--nospinner", "--quiet-build=y"];

const binpkgs = (spec: InstallSpec): string[] => (spec.portage.binhost ? ["--getbinpkg"] : []);

/** Keeps the first of duplicated atoms: a repeated line in the spec is one argument. */
function unique(atoms: readonly string[]): string[] {
  return [...new Set(atoms.map((a) => a.trim()).filter(Boolean))];
}

/** Phase 1: install what the stage3 lacks; what is installed stays (a rerun merges nothing). */
export function emergeInstallArgv(spec: InstallSpec, atoms: readonly string[]): string[] {
  return ["emerge", ...OUTPUT, "--noreplace", ...binpkgs(spec), ...unique(atoms)];
}

/**
 * Phase 2: converge @world and the host's packages on the spec. --newuse
 * rebuilds what a changed USE flag touches; what is current is left alone.
 */
export function emergeWorldArgv(spec: InstallSpec): string[] {
  return [
    "emerge",
    ...OUTPUT,
    "--update",
    "--deep",
    "--newuse",
    ...binpkgs(spec),
    ...(spec.portage.keepGoing ? ["--keep-going=y"] : []),
    "@world",
    ...unique(spec.packages),
  ];
}

/** The atoms and sets of an emerge command line (chroot prefix and options dropped). */
export function emergeTargets(argv: readonly string[]): string[] {
  return argv.slice(argv.indexOf("emerge") + 1).filter((a) => !a.startsWith("-"));
}
