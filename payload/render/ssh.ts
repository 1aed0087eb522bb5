// Pure: authorized keys outside /home, and the sshd setting that reads them.
import type { User } from "../spec/schema.ts";

export const AUTHORIZED_KEYS_DIR = "/etc/ssh/authorized_keys";

export function renderAuthorizedKeys(u: User): string {
  return [`# ${u.name}: from the host spec (automagic-install)`, ...u.authorizedKeys, ""].join(
    "\n",
  );
}

export function sshdAuthorizedKeysConf(): string {
  return [
    "# automagic: keys from the host spec live outside /home; users' own files still count.",
    `AuthorizedKeysFile .ssh/authorized_keys ${AUTHORIZED_KEYS_DIR}/%u`,
    "",
  ].join("\n");
}
