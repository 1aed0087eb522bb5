// Pure renderers for the small /etc files: hostname, locale, keymap,
// timezone. OpenRC and systemd differ in where they look (Handbook table).
import type { InstallSpec } from "../spec/schema.ts";
import type { PlannedFile } from "../plan/types.ts";

const f = (path: string, lines: string[], mode = 0o644): PlannedFile => ({
  path,
  content: lines.join("\n") + "\n",
  mode,
});

export function systemFiles(spec: InstallSpec): PlannedFile[] {
  const files = [
    f("/etc/hostname", [spec.hostname]),
    f("/etc/hosts", ["127.0.0.1\tlocalhost", "::1\t\tlocalhost", `127.0.1.1\t${spec.hostname}`]),
    f("/etc/locale.gen", ["# Written by automagic-install.", ...spec.locale.locales]),
  ];
  if (spec.init === "openrc") {
    files.push(
      f("/etc/conf.d/hostname", [`hostname="${spec.hostname}"`]),
      f("/etc/conf.d/keymaps", [`keymap="${spec.keymap}"`, 'windowkeys="YES"']),
      f("/etc/timezone", [spec.timezone]),
      f("/etc/env.d/02locale", [`LANG="${spec.locale.lang}"`, 'LC_COLLATE="C.UTF-8"']),
    );
  } else {
    files.push(
      f("/etc/vconsole.conf", [`KEYMAP=${spec.keymap}`]),
      f("/etc/locale.conf", [`LANG=${spec.locale.lang}`]),
    );
  }
  return files;
}

/** Commands run inside the chroot after the files above are written. */
export function systemCommands(spec: InstallSpec): string[][] {
  const cmds: string[][] = [
    // getuto sets up the keyring that verifies binary packages (Handbook, binhost).
    ...(spec.portage.binhost ? [["getuto"]] : []),
    ["eselect", "profile", "set", spec.portage.profile],
    ["ln", "-sfn", `../usr/share/zoneinfo/${spec.timezone}`, "/etc/localtime"],
    ["locale-gen"],
  ];
  if (spec.init === "openrc") cmds.push(["eselect", "locale", "set", spec.locale.lang]);
  cmds.push(["env-update"]);
  return cmds;
}
