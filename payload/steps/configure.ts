// configure: fstab by UUID, accounts with the spec's IDs, SSH, machine-id.
import { randomBytes } from "node:crypto";
import {
  access,
  chmod,
  chown,
  constants,
  mkdir,
  readFile,
  readdir,
  rm,
  stat,
  writeFile,
} from "node:fs/promises";
import path from "node:path";
import type { Handler } from "../run/executor.ts";
import { renderFstab } from "../render/fstab.ts";
import { mergeAccounts } from "../render/accounts.ts";
import {
  renderAuthorizedKeys,
  sshdAuthorizedKeysConf,
  AUTHORIZED_KEYS_DIR,
} from "../render/ssh.ts";
import { inChroot } from "../run/runner.ts";
import { FALLBACK_SHELL } from "../spec/needs.ts";
import { readUuid } from "./disk.ts";
import { inTarget, writeTargetFile } from "./target-fs.ts";

export const fstab: Handler<"fstab"> = async (a, ctx) => {
  const text = renderFstab({
    root: { uuid: await readUuid(ctx, a.root.device), fs: a.root.fs },
    ...(a.esp ? { esp: { uuid: await readUuid(ctx, a.esp.device) } } : {}),
    ...(a.abBoot
      ? { abBoot: { uuid: await readUuid(ctx, a.abBoot.device), fs: a.abBoot.fs } }
      : {}),
    home: { uuid: await readUuid(ctx, a.home.device), fs: a.home.fs, options: a.home.options },
    ...(a.swap ? { swap: { uuid: await readUuid(ctx, a.swap.device) } } : {}),
  });
  await writeTargetFile(a.target, { path: "/etc/fstab", content: text, mode: 0o644 });
};

const readIf = (p: string) => readFile(p, "utf8").catch(() => undefined);

export const accounts: Handler<"accounts"> = async (a, ctx) => {
  const etc = (f: string) => inTarget(a.target, `/etc/${f}`);
  const [passwd, shadow, group, gshadow] = await Promise.all(
    ["passwd", "shadow", "group", "gshadow"].map((f) => readIf(etc(f))),
  );
  if (passwd === undefined || group === undefined)
    throw new Error(`${etc("passwd")} or ${etc("group")} missing: the stage3 is incomplete`);
  const missingShells = new Set<string>();
  for (const shell of new Set(ctx.spec.users.map((u) => u.shell))) {
    if (
      await access(inTarget(a.target, shell), constants.X_OK).then(
        () => false,
        () => true,
      )
    )
      missingShells.add(shell);
  }
  for (const shell of missingShells)
    ctx.log(`${shell} is not in the new root yet: ${FALLBACK_SHELL} until phase 2 installs it`);
  const merged = mergeAccounts(
    { passwd, shadow: shadow ?? "", group, ...(gshadow !== undefined ? { gshadow } : {}) },
    ctx.spec,
    ctx.kept.hashes,
    missingShells,
  );
  // writeFile onto the existing files keeps the stage3's owners and modes (shadow 0640/0600).
  await writeFile(etc("passwd"), merged.passwd);
  await writeFile(etc("group"), merged.group);
  await writeFile(etc("shadow"), merged.shadow, { mode: 0o600 });
  if (merged.gshadow !== undefined) await writeFile(etc("gshadow"), merged.gshadow);
  // Keys live in /etc/ssh/authorized_keys/<user> (root-owned, 0644) so the
  // installer never writes inside a user's /home; sshd reads both places.
  const withKeys = ctx.spec.users.filter((u) => u.authorizedKeys.length);
  if (withKeys.length) {
    await mkdir(inTarget(a.target, AUTHORIZED_KEYS_DIR), { recursive: true, mode: 0o755 });
    for (const u of withKeys)
      await writeTargetFile(a.target, {
        path: `${AUTHORIZED_KEYS_DIR}/${u.name}`,
        content: renderAuthorizedKeys(u),
        mode: 0o644,
      });
    await configureSshd(a.target);
  }
  // A user new to this machine gets an empty home directory; existing ones are not touched.
  for (const u of ctx.spec.users) {
    const home = inTarget(a.target, u.home ?? (u.name === "root" ? "/root" : `/home/${u.name}`));
    if (await stat(home).catch(() => null)) continue;
    await mkdir(home, { recursive: true, mode: 0o700 });
    await chown(home, u.uid, u.gid);
    await chmod(home, 0o700);
    ctx.log(`created ${home} for ${u.name}`);
  }
};

async function configureSshd(target: string): Promise<void> {
  const conf = inTarget(target, "/etc/ssh/sshd_config");
  const text = (await readIf(conf)) ?? "";
  if (/^\s*Include\s+.*sshd_config\.d/m.test(text)) {
    await writeTargetFile(target, {
      path: "/etc/ssh/sshd_config.d/50-automagic.conf",
      content: sshdAuthorizedKeysConf(),
      mode: 0o644,
    });
  } else {
    await writeFile(conf, `${text.trimEnd()}\n\n${sshdAuthorizedKeysConf()}`);
  }
}

export const ssh: Handler<"ssh"> = async (a, ctx) => {
  const dir = inTarget(a.target, "/etc/ssh");
  await mkdir(dir, { recursive: true });
  for (const f of await readdir(dir)) if (/^ssh_host_/.test(f)) await rm(path.join(dir, f));
  if (a.keepHostKeys) {
    for (const k of ctx.kept.hostKeys) {
      await writeFile(path.join(dir, k.name), k.data, { mode: k.mode });
      await chmod(path.join(dir, k.name), k.mode);
    }
  } else {
    await ctx.runner.run(inChroot(a.target, ["ssh-keygen", "-A"]));
  }
  await ctx.runner.run(
    inChroot(
      a.target,
      a.init === "openrc"
        ? ["rc-update", "add", "sshd", "default"]
        : ["systemctl", "enable", "sshd.service"],
    ),
  );
};

export const machineId: Handler<"machine-id"> = async (a) => {
  // Fresh per install: a cloned machine-id gives duplicate DHCP leases (systemd#9609).
  await writeTargetFile(a.target, {
    path: "/etc/machine-id",
    content: randomBytes(16).toString("hex") + "\n",
    mode: 0o444,
  });
};
