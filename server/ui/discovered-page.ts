// Machines that netbooted without a host file, each with the start of one
// to paste into hosts/<name>.yaml (defaults.yaml fills in the rest).
import type { Discovered } from "../state/observations.ts";
import { html, page, row, table, when, type PageOptions } from "./html.ts";

/** A host file for `d` that validates once the disk's serial is filled in. */
export function hostFileYaml(d: Discovered): string {
  const seen = [`seen ${d.seen}×`, d.ip ? `last from ${d.ip}` : "", d.arch ? `arch ${d.arch}` : ""];
  return [
    `# NAME.yaml in the host folder: ${seen.filter(Boolean).join(", ")}`,
    `macs: ["${d.mac}"]`,
    "firmware: uefi # or bios: how this machine netboots",
    "disk:",
    "  serial: CHANGE-ME # the target disk's serial (lsblk -o NAME,SERIAL,SIZE under rescue)",
    "layout:",
    "  mode: keep # reformat only root; mode: create wipes the disk (see example-workstation.yaml)",
    "  root: { partlabel: gentoo-root }",
    "  esp: { partlabel: esp } # the EFI system partition (uefi)",
    "home:",
    "  ref: { label: home }",
    "  fs: ext4",
    "init: openrc",
    "",
  ].join("\n");
}

export function discoveredPage(list: Discovered[], o: Omit<PageOptions, "title" | "nav">): string {
  const body = list.length
    ? html`<p>
          Machines that asked for a boot script but have no host file. To manage one, save the YAML
          as <code>NAME.yaml</code> in the host folder (<code>/etc/automagic/hosts</code>, or
          <code>hosts/</code> in a checkout), fill in the disk, check it with
          <code>automagic hosts validate</code>; the server reloads host files by itself.
        </p>
        ${table(
          ["MAC", "First seen", "Last seen", "Boots", "Arch", "Address"],
          list.map(
            (d) =>
              html`${row([
                  html`<span class="mono">${d.mac}</span>`,
                  when(d.firstSeen),
                  when(d.lastSeen),
                  d.seen,
                  d.arch ?? "-",
                  d.ip ?? "-",
                ])}
                <tr class="yaml">
                  <td colspan="6">
                    <details>
                      <summary>Create host file for ${d.mac}</summary>
                      <pre class="copy">${hostFileYaml(d)}</pre>
                    </details>
                  </td>
                </tr>`,
          ),
        )}`
    : html`<p>No unknown machines seen.</p>`;
  return page(
    { ...o, title: "Discovered", nav: "discovered" },
    html`<h1>Discovered MACs</h1>
      ${body}`,
  );
}
