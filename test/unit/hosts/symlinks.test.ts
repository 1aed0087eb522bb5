// A host folder or its files/ that is a symlink would pack whatever it points
// at (`hosts/web1/files -> /root/.ssh`) into the host's overlay: refused at
// load, by `hosts validate`, with `file: path: reason`.
import { test } from "node:test";
import assert from "node:assert/strict";
import { cp, mkdtemp, mkdir, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { execa } from "execa";
import { HostFileError, loadHostRegistry } from "../../../server/hosts/index.ts";

const root = fileURLToPath(new URL("../../../", import.meta.url));

/** A copy of the example hosts/ (qemu-bios has files/), and a "secret" folder outside it. */
async function world(t: { after(fn: () => Promise<void>): void }) {
  const dir = await mkdtemp(join(tmpdir(), "am-hosts-link-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const hosts = join(dir, "hosts");
  const secret = join(dir, "root-ssh");
  await mkdir(secret);
  await writeFile(join(secret, "id_ed25519"), "PRIVATE KEY");
  await cp(join(root, "hosts"), hosts, { recursive: true });
  return { hosts, secret };
}

async function problems(dir: string): Promise<string[]> {
  const err = await loadHostRegistry(dir).catch((e: unknown) => e);
  assert.ok(err instanceof HostFileError, "the folder is refused");
  return err.messages;
}

test("a host's files/ that is a symlink is refused, naming the link and its target", async (t) => {
  const { hosts, secret } = await world(t);
  await rm(join(hosts, "qemu-bios", "files"), { recursive: true });
  await symlink(secret, join(hosts, "qemu-bios", "files"));
  assert.deepEqual(await problems(hosts), [
    `${hosts}/qemu-bios/files: (root): a symlink (to ${secret}); the overlay must be a real folder`,
  ]);
});

test("a host folder that is a symlink is refused, with or without its host file", async (t) => {
  const { hosts, secret } = await world(t);
  await rm(join(hosts, "qemu-bios"), { recursive: true });
  await symlink(secret, join(hosts, "qemu-bios"));
  await symlink(secret, join(hosts, "web2"));
  assert.deepEqual(await problems(hosts), [
    `${hosts}/qemu-bios: (root): a symlink (to ${secret}); host folders must be real folders`,
    `${hosts}/web2: (root): a symlink (to ${secret}); host folders must be real folders`,
  ]);
});

test("hosts validate names the symlinked files/ and exits 1", async (t) => {
  const { hosts, secret } = await world(t);
  await rm(join(hosts, "qemu-bios", "files"), { recursive: true });
  await symlink(secret, join(hosts, "qemu-bios", "files"));
  const r = await execa(join(root, "bin/automagic"), ["hosts", "validate", hosts], {
    cwd: root,
    reject: false,
  });
  assert.equal(r.exitCode, 1);
  assert.match(r.stderr, /\/qemu-bios\/files: \(root\): a symlink \(to .*root-ssh\)/);
});

test("a real host folder and files/ still load", async (t) => {
  const { hosts } = await world(t);
  const reg = await loadHostRegistry(hosts);
  assert.equal(reg.byName("qemu-bios")?.overlayDir, join(hosts, "qemu-bios", "files"));
});
