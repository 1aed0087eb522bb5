// Pure: merge the spec's groups and users into the stage3's account files.
// Done by editing the files rather than useradd so the result is golden-
// testable, and before any package is emerged so no acct-* package can take
// a UID or GID the spec (and /home's ownership) needs. A login shell that
// is not in the new root yet (it comes with a phase-2 package) is replaced
// by /bin/bash until phase 2 sets the real one.
import type { InstallSpec } from "../spec/schema.ts";
import { FALLBACK_SHELL } from "../spec/needs.ts";
import {
  formatGroup,
  formatPasswd,
  formatShadow,
  parseGroup,
  parsePasswd,
  parseShadow,
  type GroupEntry,
} from "../keep/accounts.ts";

export interface AccountFiles {
  passwd: string;
  shadow: string;
  group: string;
  gshadow?: string;
}

export function mergeAccounts(
  base: AccountFiles,
  spec: Pick<InstallSpec, "users" | "groups">,
  keptHashes: Record<string, string>,
  missingShells: ReadonlySet<string> = new Set(),
): AccountFiles {
  const passwd = parsePasswd(base.passwd, "/etc/passwd");
  const shadow = parseShadow(base.shadow, "/etc/shadow");
  const group = parseGroup(base.group, "/etc/group");
  const gshadow =
    base.gshadow === undefined ? undefined : parseShadow(base.gshadow, "/etc/gshadow");

  const addGroup = (name: string, gid: number, field: string): void => {
    const byName = group.find((g) => g.name === name);
    const byGid = group.find((g) => g.gid === gid);
    if (byName && byName.gid === gid) return;
    if (byName)
      throw new Error(
        `${field}: group '${name}' exists in the stage3 with gid ${byName.gid}, the spec says ${gid}`,
      );
    if (byGid)
      throw new Error(
        `${field}: gid ${gid} for '${name}' is already group '${byGid.name}' in the stage3`,
      );
    group.push({ name, password: "x", gid, members: [] });
    gshadow?.push({ name, hash: "!", rest: ["", ""] });
  };

  spec.groups.forEach((g, i) => addGroup(g.name, g.gid, `groups[${i}]`));

  spec.users.forEach((u, i) => {
    const field = `users[${i}]`;
    if (!group.some((g) => g.gid === u.gid)) addGroup(u.name, u.gid, `${field}.gid`);
    const byName = passwd.find((p) => p.name === u.name);
    const byUid = passwd.find((p) => p.uid === u.uid);
    if (byName && byName.uid !== u.uid) {
      throw new Error(
        `${field}: user '${u.name}' exists in the stage3 with uid ${byName.uid}, the spec says ${u.uid}`,
      );
    }
    if (!byName && byUid)
      throw new Error(
        `${field}: uid ${u.uid} for '${u.name}' is already user '${byUid.name}' in the stage3`,
      );
    const home = u.home ?? (u.name === "root" ? "/root" : `/home/${u.name}`);
    const entry = {
      name: u.name,
      password: "x",
      uid: u.uid,
      gid: u.gid,
      gecos: "",
      home,
      shell: missingShells.has(u.shell) ? FALLBACK_SHELL : u.shell,
    };
    if (byName) Object.assign(byName, { ...entry, gecos: byName.gecos });
    else passwd.push(entry);

    const hash = u.password === "keep" ? keptHashes[u.name] : u.password;
    if (hash === undefined)
      throw new Error(`${field}.password: 'keep' but the old root had no hash for '${u.name}'`);
    const sh = shadow.find((s) => s.name === u.name);
    if (sh) sh.hash = hash;
    // Empty "last change" disables password aging: the hash came from a person.
    else shadow.push({ name: u.name, hash, rest: ["", "0", "99999", "7", "", "", ""] });

    for (const gname of u.groups) {
      const g: GroupEntry | undefined = group.find((x) => x.name === gname);
      if (!g)
        throw new Error(
          `${field}.groups: group '${gname}' exists neither in the stage3 nor in the spec`,
        );
      if (!g.members.includes(u.name)) g.members.push(u.name);
      const gs = gshadow?.find((x) => x.name === gname);
      if (gs) {
        const members = gs.rest[1] ? gs.rest[1].split(",") : [];
        if (!members.includes(u.name)) members.push(u.name);
        gs.rest[1] = members.join(",");
      }
    }
  });

  return {
    passwd: formatPasswd(passwd),
    shadow: formatShadow(shadow),
    group: formatGroup(group),
    ...(gshadow ? { gshadow: formatShadow(gshadow) } : {}),
  };
}
