// What a spec's choices need from Gentoo beyond a stage3: licences a host
// must accept for the firmware it asks for, the GRUB platform, and the
// package behind a login shell. Pure; the host-file checks (server/hosts/checks.ts) and the planner
// both ask these, so `hosts validate` and a --spec run refuse alike.

/** The firmware packages a host may turn off, with the licence Gentoo's `-* @FREE` does not accept. */
export const FIRMWARE = {
  linuxFirmware: { atom: "sys-kernel/linux-firmware", license: "linux-fw-redistributable" },
  intelMicrocode: { atom: "sys-firmware/intel-microcode", license: "intel-ucode" },
} as const;
export type FirmwareToggle = keyof typeof FIRMWARE;

/** The GRUB platform a firmware mode boots with (sys-boot/grub's GRUB_PLATFORMS). */
export const grubPlatform = (firmware: "bios" | "uefi"): string =>
  firmware === "uefi" ? "efi-64" : "pc";

/** Login shells every stage3 has (merged-usr: /usr/bin/bash is the same file). */
export const STAGE3_SHELLS = ["/bin/bash", "/bin/sh", "/sbin/nologin", "/bin/false"];
/** Shells a package brings, by the path a passwd entry names. */
export const SHELL_PACKAGES: Record<string, string> = {
  "/bin/zsh": "app-shells/zsh",
  "/bin/fish": "app-shells/fish",
  "/bin/tcsh": "app-shells/tcsh",
  "/bin/dash": "app-shells/dash",
};
/** What phase 1 gives a user whose shell is not installed yet; phase 2 sets the real one. */
export const FALLBACK_SHELL = "/bin/bash";

const VERSION = /-\d+(\.\d+)*[a-z]?(_(alpha|beta|pre|rc|p)\d*)*(-r\d+)?\*?$/;

/** cat/pkg of an atom: `>=sys-kernel/linux-firmware-2025:0::gentoo[foo]` -> `sys-kernel/linux-firmware`. */
export function packageName(atom: string): string | undefined {
  // [use], then ::repo, then :slot (in that order they can follow the name).
  let a = atom.trim().replace(/\[.*$/, "").replace(/::.*$/, "").replace(/:.*$/, "");
  if (a === "*/*") return a;
  const op = /^(<=|>=|=|~|<|>)/.exec(a)?.[0];
  if (op) {
    // An operator needs a version; without one there is none (names may hold -<digit>).
    a = a.slice(op.length);
    if (!VERSION.test(a)) return undefined;
    a = a.replace(VERSION, "");
  }
  return /^[\w+][\w+.-]*\/[\w+][\w+-]*$/.test(a) ? a : undefined;
}

/**
 * Whether package.license lines accept `license` for `atom`: a line whose
 * atom names the package (or every package) and lists the licence (or `*`);
 * a later `-licence` on a matching line takes it back, as in Portage.
 */
export function licenseAccepted(lines: readonly string[], atom: string, license: string): boolean {
  let ok = false;
  for (const raw of lines) {
    const [who, ...tokens] = raw.replace(/#.*/, "").trim().split(/\s+/);
    if (!who) continue;
    const name = packageName(who);
    if (name !== atom && name !== "*/*") continue;
    for (const t of tokens) {
      if (t === license || t === "*") ok = true;
      else if (t === `-${license}` || t === "-*") ok = false;
    }
  }
  return ok;
}

/** The firmware toggles that are on but whose licence the host has not accepted. */
export function unacceptedFirmware(
  toggles: Partial<Record<FirmwareToggle, boolean | undefined>>,
  licenseLines: readonly string[],
): FirmwareToggle[] {
  return (Object.keys(FIRMWARE) as FirmwareToggle[]).filter(
    (k) =>
      toggles[k] !== false && !licenseAccepted(licenseLines, FIRMWARE[k].atom, FIRMWARE[k].license),
  );
}

/** Why a firmware toggle cannot be installed as the host stands, and the two ways out. */
export function firmwareLicenseProblem(k: FirmwareToggle): string {
  const { atom, license } = FIRMWARE[k];
  return `kernel.${k} is on but ${atom}'s licence ${license} is not accepted (Gentoo accepts only "-* @FREE" by default): add "${atom} ${license}" to portage.license, or set kernel.${k}: false`;
}

/** /usr/bin/zsh and /bin/zsh are one file on a merged-usr system; compare without /usr. */
const unmerged = (shell: string): string => shell.replace(/^\/usr(?=\/s?bin\/)/, "");

/**
 * Why a login shell cannot work after the install, or undefined when it can:
 * it is in every stage3, or a listed package provides it.
 */
export function shellProblem(shell: string, packages: readonly string[]): string | undefined {
  const s = unmerged(shell);
  if (STAGE3_SHELLS.includes(s)) return undefined;
  const pkg = SHELL_PACKAGES[s];
  if (!pkg) {
    const known = Object.entries(SHELL_PACKAGES).map(([p, a]) => `${p} from ${a}`);
    return `${shell} is not in a stage3 (${STAGE3_SHELLS.join(", ")}) and automagic knows no package for it; known: ${known.join(", ")}`;
  }
  if (packages.some((a) => packageName(a) === pkg)) return undefined;
  return `${shell} is not in a stage3: add ${pkg} to packages`;
}
