// Pure: parse `efibootmgr` output and decide the BootOrder after adding our
// entry. Decision (docs/INSTALLER.md): the new entry goes AFTER the existing
// order, so whatever booted first before (netboot) stays first; the server's
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

/** The order to set: the previous order with our entry appended (and not duplicated). */
export function orderWithEntryLast(before: string[], ours: string): string[] {
  return [...before.filter((n) => n !== ours), ours];
}

/** Entries carrying our label, to delete before creating a fresh one. */
export const staleEntries = (b: EfiBoot, label: string): string[] =>
  b.entries.filter((e) => e.label === label).map((e) => e.num);
