// The in-image kernel command line parser (a POSIX sh script, run here with
// the host's /bin/sh against a file standing in for /proc/cmdline).
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { execa } from "execa";

const SCRIPT = fileURLToPath(
  new URL("../../../image-builder/rootfs/usr/lib/automagic/cmdline", import.meta.url),
);

async function parse(cmdline: string): Promise<Record<string, string>> {
  const dir = await mkdtemp(join(tmpdir(), "automagic-cmdline-"));
  try {
    const file = join(dir, "cmdline");
    await writeFile(file, cmdline + "\n");
    // eval the output the way the boot scripts do, then print the values back
    const { stdout } = await execa(
      "sh",
      [
        "-c",
        `eval "$(sh "$1")" && printf '%s\\n' "$AUTOMAGIC_URL" "$AUTOMAGIC_TOKEN" "$AUTOMAGIC_ACTION" "$BOOTIF_MAC"`,
        "t",
        SCRIPT,
      ],
      {
        env: { AUTOMAGIC_CMDLINE_FILE: file },
        stripFinalNewline: false,
      },
    );
    const [url, token, action, mac] = stdout.split("\n");
    return { url: url!, token: token!, action: action!, mac: mac! };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

test("reads url, token, action and BOOTIF (iPXE's 01-aa-bb-... form, any case)", async () => {
  assert.deepEqual(
    await parse(
      "BOOT_IMAGE=vmlinuz console=ttyS0 automagic.url=http://10.0.0.1:8080 automagic.token=abc-123 automagic.action=capture BOOTIF=01-52-54-00-AB-cd-0F quiet",
    ),
    { url: "http://10.0.0.1:8080", token: "abc-123", action: "capture", mac: "52:54:00:ab:cd:0f" },
  );
});

test("action defaults to install when url and token are given", async () => {
  assert.equal((await parse("automagic.url=http://s automagic.token=t")).action, "install");
});

test("no automagic arguments, or a url without a token: rescue (all empty)", async () => {
  assert.deepEqual(await parse("console=ttyS0 quiet"), { url: "", token: "", action: "", mac: "" });
  assert.deepEqual(await parse("automagic.url=http://s automagic.action=install"), {
    url: "",
    token: "",
    action: "",
    mac: "",
  });
});

test("a malformed BOOTIF is ignored, not half-used", async () => {
  assert.equal((await parse("BOOTIF=01-52-54-00-12 automagic.url=u automagic.token=t")).mac, "");
  assert.equal((await parse("BOOTIF=zz-52-54-00-12-34-56")).mac, "");
});

test("quotes and shell syntax in values stay data", async () => {
  const r = await parse("automagic.url=http://x/'$(touch${IFS}/tmp/pwned)' automagic.token=a';b");
  assert.equal(r.url, "http://x/'$(touch${IFS}/tmp/pwned)'");
  assert.equal(r.token, "a';b");
});
