// Pure: parse `efibootmgr` output and decide the BootOrder after adding our
// entry. Decision (docs/INSTALLER.md): the new entry goes right AFTER the
// entry that netbooted this run, so netboot stays first and the server's
// `local` action makes iPXE exit to the next entry, which is then Gentoo.
export interface EfiBoot {
  bootCurrent?: string;
  order: string[];
  entries: { num: string; label: string; active: boolean }[];
}

export function parseEfibootmgr(text: string): EfiBoot {
  const out: EfiBoot = { order: [], entries: [] };
  for (const line of text.split("\n")) {
    const cur = /^BootCurrent:\s*([0-9A-Fa-f]{4})/.exec(line);
    if (cur) out.bootCurrent = cur[1]!.toUpperCase();
    const ord = /^BootOrder:\s*([0-9A-Fa-f,]*)/.exec(line);
    if (ord)
      out.order = ord[1]!
        .split(",")
        .filter(Boolean)
        .map((x) => x.toUpperCase());
    const ent = /^Boot([0-9A-Fa-f]{4})(\*?)\s+(.*?)(\t|\s{2,}|$)/.exec(line);
    if (ent)
      out.entries.push({
        num: ent[1]!.toUpperCase(),
        active: ent[2] === "*",
        label: ent[3]!.trim(),
      });
  }
  return out;
}

/**
 * The order to set: our entry right after the one that booted this run
 * (BootCurrent: the netboot entry), else right after the first. Appending at
 * the end is not enough: OVMF lists UiApp (its setup screen) after the NIC,
 * and iPXE's `exit` for a `local` boot then lands in the setup screen, not
 * in Gentoo (seen in the UEFI e2e install).
 */
export function orderWithEntryAfterCurrent(
  before: string[],
  ours: string,
  current?: string,
): string[] {
  const rest = before.filter((n) => n !== ours);
  const at =
    current && rest.includes(current) ? rest.indexOf(current) + 1 : Math.min(1, rest.length);
  return [...rest.slice(0, at), ours, ...rest.slice(at)];
}

/** Entries carrying our label, to delete before creating a fresh one. */
export const staleEntries = (b: EfiBoot, label: string): string[] =>
  b.entries.filter((e) => e.label === label).map((e) => e.num);
