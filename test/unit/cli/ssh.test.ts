// The ssh side of `reinstall` as text: options (no silent host-key bypass),
// quoting, and the remote commands (server/cli/ssh.ts); the payload's
// --token-file check (payload/run/token-file.ts).
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import { kexecCommand, shq, sshArgv, startPayloadCommand } from "../../../server/cli/ssh.ts";
import { REMOTE } from "../../../server/policy/reinstall.ts";
import { readTokenFile } from "../../../payload/run/token-file.ts";

test("ssh argv: BatchMode always; accept-new, key and -o only when asked", () => {
  assert.deepEqual(sshArgv({ address: "10.0.0.5" }, "true"), [
    "-o",
    "BatchMode=yes",
    "-l",
    "root",
    "10.0.0.5",
    "true",
  ]);
  const all = sshArgv(
    { address: "10.0.0.5", identity: "/k", acceptNew: true, options: ["Port=2222"] },
    "true",
  );
  assert.deepEqual(all.slice(0, 10), [
    "-o",
    "BatchMode=yes",
    "-o",
    "StrictHostKeyChecking=accept-new",
    "-i",
    "/k",
    "-o",
    "IdentitiesOnly=yes",
    "-o",
    "Port=2222",
  ]);
  assert.ok(!all.some((a) => /StrictHostKeyChecking=no/.test(a)));
});

test("shq: one shell word, whatever the text", async () => {
  for (const s of ["plain", "a b", "it's", "$(reboot)", "x;y", ""]) {
    const r = await execa("sh", ["-c", `printf %s ${shq(s)}`]);
    assert.equal(r.stdout, s);
  }
});

test("remote commands: the payload detached with its log; kexec with the exact command line", () => {
  const start = startPayloadCommand([REMOTE.payload, "--action", "deploy:a b"]);
  assert.ok(start.includes(`cat > ${REMOTE.token} && chmod 0600`), start);
  // Not /run: OpenRC, Debian and systemd mount it noexec.
  assert.ok(REMOTE.payload.startsWith("/var/lib/automagic/"), REMOTE.payload);
  assert.match(
    start,
    /\(setsid nohup \/var\/lib\/automagic\/reinstall\/automagic-install --action 'deploy:a b' >> \/var\/log\/automagic-reinstall\.log 2>&1 < \/dev\/null &\)/,
  );
  const k = kexecCommand({
    kernelUrl: "http://s/api/v1/run/T/image/vmlinuz",
    initrdUrl: "http://s/api/v1/run/T/image/initrd.img",
    kernelSha256: "a".repeat(64),
    initrdSha256: "b".repeat(64),
    cmdline: "initrd=initrd.img automagic.url=http://s console=ttyS0,115200",
  });
  assert.match(
    k,
    /^kexec -l vmlinuz --initrd=initrd\.img --command-line='initrd=initrd\.img automagic\.url=http:\/\/s console=ttyS0,115200'$/m,
  );
  assert.match(k, /sha256sum -c/);
});

test("--token-file: a private regular file; a readable one is refused", (t) => {
  const dir = mkdtempSync(join(tmpdir(), "am-token-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const f = join(dir, "token");
  writeFileSync(f, "tok-123\n", { mode: 0o600 });
  assert.equal(readTokenFile(f), "tok-123");
  writeFileSync(join(dir, "open"), "tok", { mode: 0o644 });
  assert.throws(() => readTokenFile(join(dir, "open")), /mode 644, expected 600/);
  assert.throws(() => readTokenFile(dir), /not a regular file/);
});
