// Pure renderers for /etc/portage: make.conf, repos.conf, binrepos.conf and
// the package.* files. Golden-tested in test/unit/payload/render.test.ts.
import type { InstallSpec } from "../spec/schema.ts";
import type { PlannedFile } from "../plan/types.ts";
import { grubPlatform } from "../spec/needs.ts";

/** What a 2026 stage3 ships, so a spec only states what it changes. */
const STAGE_DEFAULTS: [string, string][] = [
  ["COMMON_FLAGS", "-O2 -pipe"],
  ["CFLAGS", "${COMMON_FLAGS}"],
  ["CXXFLAGS", "${COMMON_FLAGS}"],
  ["FCFLAGS", "${COMMON_FLAGS}"],
  ["FFLAGS", "${COMMON_FLAGS}"],
  ["LC_MESSAGES", "C.UTF-8"],
];

export function renderMakeConf(spec: InstallSpec): string {
  const vars = new Map<string, string>(STAGE_DEFAULTS);
  for (const [k, v] of Object.entries(spec.portage.makeConf)) vars.set(k, v);
  if (spec.portage.binhost) {
    // Appended, so a FEATURES the spec sets is extended rather than replaced.
    const own = vars.get("FEATURES")?.split(/\s+/).filter(Boolean) ?? ["${FEATURES}"];
    const extra = ["getbinpkg", "binpkg-request-signature"].filter((f) => !own.includes(f));
    vars.set("FEATURES", [...own, ...extra].join(" "));
  }
  // Distfiles come through the server's verifying mirror, like the stage3.
  if (!vars.has("GENTOO_MIRRORS"))
    vars.set("GENTOO_MIRRORS", spec.stage3.mirror.replace(/\/+$/, ""));
  // grub-install works only for a platform sys-boot/grub was built for.
  if (!vars.has("GRUB_PLATFORMS")) vars.set("GRUB_PLATFORMS", grubPlatform(spec.firmware));
  const lines = [
    "# Written by automagic-install from the host spec; phase 2 keeps it.",
    `# host: ${spec.host}`,
    "",
  ];
  for (const [k, v] of vars) lines.push(`${k}="${escapeValue(v)}"`);
  return lines.join("\n") + "\n";
}

function escapeValue(v: string): string {
  // make.conf is bash-like: keep ${VAR} expansion working, escape quotes and backslashes.
  return v.replace(/\\/g, "\\\\").replace(/"/g, '\\"');
}

/**
 * The tree was installed from the verified snapshot; `emerge --sync` (phase
 * 2 when the spec asks, and the owner later) fetches the daily snapshots
 * through the server's verifying mirror: emerge-webrsync reads GENTOO_MIRRORS
 * (make.conf: the server), checks the .md5sum and, with gemato, the
 * signature against Gentoo's key. No public URL: the machine needs no route
 * to the Internet, and a fleet fetches each day's snapshot once.
 */
export function renderReposConf(spec: InstallSpec): string {
  return [
    "# Written by automagic-install: the daily snapshots through the server (GENTOO_MIRRORS).",
    "[DEFAULT]",
    "main-repo = gentoo",
    "",
    "[gentoo]",
    "location = /var/db/repos/gentoo",
    "sync-type = webrsync",
    `sync-uri = ${spec.stage3.mirror}`,
    "auto-sync = yes",
    "sync-webrsync-verify-signature = yes",
    "sync-openpgp-key-path = /usr/share/openpgp-keys/gentoo-release.asc",
    "",
  ].join("\n");
}

/** The binhost as the payload reaches it (the server's verifying cache), never a public URL. */
export function renderBinreposConf(spec: InstallSpec): string {
  const uri = spec.portage.binhostUrl;
  if (!uri) throw new Error("portage.binhostUrl: binhost is on but the spec names no binhost URL");
  return [
    "# Written by automagic-install: Gentoo's binary packages through the server.",
    "[gentoo]",
    "priority = 9999",
    `sync-uri = ${uri}`,
    "verify-signature = true",
    "location = /var/cache/binhost/gentoo",
    "",
  ].join("\n");
}

function listFile(path: string, lines: string[]): PlannedFile[] {
  if (lines.length === 0) return [];
  return [
    {
      path,
      content: ["# Written by automagic-install from the host spec.", ...lines, ""].join("\n"),
      mode: 0o644,
    },
  ];
}

/** Every /etc/portage file the plan writes, in a fixed order. */
export function portageFiles(spec: InstallSpec): PlannedFile[] {
  const p = spec.portage;
  return [
    { path: "/etc/portage/make.conf", content: renderMakeConf(spec), mode: 0o644 },
    { path: "/etc/portage/repos.conf/gentoo.conf", content: renderReposConf(spec), mode: 0o644 },
    ...(p.binhost
      ? [
          {
            path: "/etc/portage/binrepos.conf/gentoo.conf",
            content: renderBinreposConf(spec),
            mode: 0o644,
          },
        ]
      : []),
    // installkernel builds the initramfs with dracut and reruns grub-mkconfig
    // after every kernel install, so a kernel update keeps grub.cfg current.
    ...listFile("/etc/portage/package.use/installkernel", ["sys-kernel/installkernel dracut grub"]),
    ...listFile("/etc/portage/package.use/automagic", p.packageUse),
    ...listFile("/etc/portage/package.accept_keywords/automagic", p.acceptKeywords),
    ...listFile("/etc/portage/package.license/automagic", p.license),
    ...listFile("/etc/portage/package.mask/automagic", p.mask),
  ];
}
