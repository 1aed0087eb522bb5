// Phase 2 against a chroot made from the fixture stage3 by phase 1's own
// steps (planInstall's extract-stage3, portage, chroot-mounts, system-files,
// system-config, accounts and ssh, run by phase 1's executor and handlers):
// the snapshot at /var/db/repos/gentoo, the profile link, make.conf and
// binrepos.conf pointing at the fixture binhost through the server's mirror
// router, getuto's keyring. Phase 2 then runs real Portage in it: the host's
// packages arrive as signed gpkgs, land in /var/db/pkg and the world file,
// bring the services it enables and the login shell it sets; a second run
// merges nothing; a USE change rebuilds what it touches. On OpenRC the first
// boot asks for a masked atom (keyword, then licence) and fails with emerge's
// own reason, merging nothing. Every run mounts what Portage needs (phase 1's
// chroot-mounts) and unmounts it afterwards, also on failure. Traffic stays
// on 127.0.0.1.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import {
  chmodSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  readlinkSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import path from "node:path";
import { runPhase2, type Phase2Summary } from "../../../payload/phase2/index.ts";
import { renderPortageFiles } from "../../../payload/phase2/portage.ts";
import { planInstall } from "../../../payload/plan/plan.ts";
import type { Step } from "../../../payload/plan/types.ts";
import type { ProbedSystem } from "../../../payload/probe/types.ts";
import type { RunContext } from "../../../payload/run/context.ts";
import { execute } from "../../../payload/run/executor.ts";
import { execaRunner } from "../../../payload/run/runner.ts";
import { Reporter } from "../../../payload/run/reporter.ts";
import { eventBatchSchema, type RunEvent } from "../../../payload/spec/events.ts";
import type { InstallSpec } from "../../../payload/spec/schema.ts";
import { cleanupFor, handlers } from "../../../payload/steps/index.ts";
import { unmountAll, mountsUnder } from "../../../payload/steps/chroot.ts";
import { AUTOBUILDS } from "../../../shared/verify/layout.ts";
import { packOverlay } from "../../../server/overlay/pack.ts";
import { requireTool } from "../../lib/tools.ts";
import { phase2Spec } from "../../unit/phase2/spec.ts";
import { serveFixture, type ServedFixture } from "../mirror/helpers.ts";

const REPO = path.resolve(import.meta.dirname, "../../..");
const TOKEN = "p2tok-0123456789";
const BINHOST = "releases/amd64/binpackages/23.0/x86-64";
const debug = (l: string) => void (process.env.P2_DEBUG && console.error(l));

/** The host's packages; the world file holds exactly these afterwards (Portage sorts it). */
const PACKAGES = [
  "app-editors/vim",
  "app-admin/sudo",
  "net-misc/chrony",
  "net-misc/dhcpcd",
  "sys-fs/btrfs-progs",
  "app-shells/zsh",
];
const ALICE = { name: "alice", uid: 1000, gid: 1000, shell: "/bin/zsh", password: "!" };

/** The e2e BIOS machine's probe: alice owns /home/alice there, as the spec says. */
const probe = (): ProbedSystem =>
  JSON.parse(readFileSync(path.join(REPO, "test/fixtures/probe/qemu-bios.json"), "utf8"));

let served: ServedFixture;

before(async () => {
  for (const t of ["tar", "xz", "chroot", "mount", "umount"]) requireTool(t);
  served = await serveFixture("phase2");
});

after(async () => {
  await served?.close();
});

function stage3(variant: string): string {
  const pointer = readFileSync(
    path.join(served.fx.dir, AUTOBUILDS, `latest-stage3-amd64-${variant}.txt`),
    "utf8",
  );
  const rel = /^(\S+\.tar\.xz) \d+$/m.exec(pointer)?.[1];
  if (!rel) throw new Error(`latest-stage3-amd64-${variant}.txt names no stage3`);
  return path.join(served.fx.dir, AUTOBUILDS, rel);
}

for (const variant of ["openrc", "systemd"] as const) {
  describe(`phase 2 on the ${variant} fixture stage3 with real Portage`, () => {
    let root = "";
    let overlayDir = "";
    let server: Server;
    let url = "";
    const events: RunEvent[] = [];
    let ctx: RunContext;
    let chrootMounts: Step;
    /** alice's passwd line as phase 1 left it, and whether /bin/zsh existed then. */
    let afterPhase1 = { alice: "", zsh: false };

    const at = (p: string) => path.join(root, p);
    /** Services the host enables: chronyd and dhcpcd come with their packages, sshd with phase 1. */
    const enable = ["dhcpcd", "chronyd", "sshd"];

    /** The host spec: the mirror and binhost are the server's cache of the fixture. */
    const spec = (portage: Partial<InstallSpec["portage"]> = {}, packages = PACKAGES) =>
      phase2Spec({
        init: variant,
        macs: [probe().bootNic!.mac],
        disk: { serial: "AM-SYS-BIOS" },
        layout: { mode: "keep", root: { partlabel: "gentoo-root" } },
        stage3: { variant, mirror: served.mirror.url, trustedKeys: [served.fx.fingerprint] },
        portage: {
          profile:
            variant === "openrc" ? "default/linux/amd64/23.0" : "default/linux/amd64/23.0/systemd",
          binhostUrl: `${served.mirror.url}${BINHOST}/`,
          packageUse: ["app-editors/vim -X"],
          acceptKeywords: [],
          license: [],
          mask: [">=dev-lang/python-3.14"],
          ...portage,
        },
        kernel: { linuxFirmware: false, intelMicrocode: false },
        users: [ALICE],
        packages,
        services: { enable, disable: [] },
      });

    function overlayFile(rel: string, content: string, mode = 0o644) {
      const p = path.join(overlayDir, rel);
      mkdirSync(path.dirname(p), { recursive: true });
      writeFileSync(p, content);
      chmodSync(p, mode);
    }

    before(async () => {
      root = mkdtempSync("/var/tmp/p2-root-");
      const s = spec();
      // Phase 1's own plan for this spec, its steps that make the root phase 2 boots into.
      const plan = planInstall(s, probe(), { target: root });
      const step = (id: string) => {
        const found = plan.find((x) => x.id === id);
        assert.ok(found, `phase 1 plans ${id}`);
        return found;
      };
      chrootMounts = step("chroot-mounts");
      const tarball = stage3(variant);
      ctx = {
        spec: s,
        probe: probe(),
        runner: execaRunner(),
        reporter: new Reporter({ phase: 1, write: debug }),
        fetch,
        selfBinary: "",
        step: "",
        staged: {
          stage3: tarball,
          stage3Bytes: statSync(tarball).size,
          snapshot: path.join(served.fx.dir, "snapshots/gentoo-latest.tar.xz"),
          dir: served.work,
          cleanup: async () => {},
        },
        kept: { hashes: {}, hostKeys: [] },
        uuids: new Map(),
        mounts: [],
        createdLinks: [],
        log: debug,
      };
      // mount-root: the target is a mountpoint in phase 1, and unmountAll relies on that.
      await ctx.runner.run(["mount", "--bind", root, root]);
      await execute(
        [
          "extract-stage3",
          "portage",
          "chroot-mounts",
          "system-files",
          "system-config",
          "accounts",
          "ssh",
          "unmount",
        ].map(step),
        ctx,
        handlers,
        cleanupFor(root),
      );
      afterPhase1 = {
        alice: readFileSync(at("etc/passwd"), "utf8").match(/^alice:.*$/m)?.[0] ?? "",
        zsh: existsSync(at("bin/zsh")),
      };
      overlayDir = mkdtempSync("/var/tmp/p2-overlay-");
      overlayFile("etc/portage/package.use", "app-editors/vim -gpm\n");
      overlayFile("etc/portage/env/nobuildpkg.conf", 'FEATURES="-buildpkg"\n');
      overlayFile("etc/motd", "Welcome to web1 (automagic)\n");
      overlayFile("etc/automagic-test/secret.conf", "token=abc\n", 0o640);
      overlayFile("usr/local/bin/hello", "#!/bin/sh\necho hello\n", 0o755);
      overlayFile("etc/ssh/sshd_config", "# overlay must not replace this\n");
      symlinkSync("../usr/share/zoneinfo/UTC", path.join(overlayDir, "etc/localtime-automagic"));
      server = createServer((req, res) => {
        if (req.method === "GET" && req.url === `/api/v1/run/${TOKEN}/overlay.tar`) {
          res.setHeader("content-type", "application/x-tar");
          const s = packOverlay(overlayDir, {
            attrs: { "etc/automagic-test/secret.conf": { group: "adm" } },
          });
          s.on("error", () => res.destroy());
          s.pipe(res);
          return;
        }
        if (req.method === "POST" && req.url === `/api/v1/run/${TOKEN}/events`) {
          const chunks: Buffer[] = [];
          req.on("data", (c: Buffer) => chunks.push(c));
          req.on("end", () => {
            const batch = eventBatchSchema.parse(
              JSON.parse(Buffer.concat(chunks).toString("utf8")),
            );
            events.push(...batch.events);
            res.end("{}");
          });
          return;
        }
        res.statusCode = 404;
        res.end();
      });
      await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
      url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    });

    after(async () => {
      server?.closeAllConnections();
      server?.close();
      if (root) {
        // Never remove a tree that still has /dev or /proc bound into it.
        if (ctx) await unmountAll(ctx, root).catch((e: unknown) => debug(String(e)));
        if ((await mountsUnder(root)).length === 0) rmSync(root, { recursive: true, force: true });
      }
      if (overlayDir) rmSync(overlayDir, { recursive: true, force: true });
    });

    /** One phase-2 run in the chroot with phase 1's chroot mounts, unmounted afterwards even when it fails. */
    async function run(s: InstallSpec = spec()): Promise<Phase2Summary> {
      events.length = 0;
      const report = new Reporter({
        server: url,
        token: TOKEN,
        phase: 2,
        batchDelayMs: 10,
        write: debug,
      });
      await ctx.runner.run(["mount", "--bind", root, root]);
      try {
        await execute([chrootMounts], ctx, handlers, cleanupFor(root));
        return await runPhase2({
          spec: s,
          server: url,
          token: TOKEN,
          root,
          runner: ctx.runner,
          report,
        });
      } finally {
        await report.flush();
        await unmountAll(ctx, root);
      }
    }

    /** cat/pf of every package in /var/db/pkg. */
    function vdb(): string[] {
      const base = at("var/db/pkg");
      return readdirSync(base)
        .flatMap((c) => readdirSync(path.join(base, c)).map((p) => `${c}/${p}`))
        .sort();
    }
    const vdbEntry = (pn: string) => vdb().find((e) => new RegExp(`^${pn}-\\d`).test(e));
    const useOf = (cpv: string) =>
      readFileSync(at(`var/db/pkg/${cpv}/USE`), "utf8")
        .trim()
        .split(/\s+/);
    const completedMerges = () =>
      (readFileSync(at("var/log/emerge.log"), "utf8").match(/::: completed emerge /g) ?? []).length;
    const packagesLog = () =>
      events.filter((e) => e.kind === "log" && e.step === "packages").map((e) => e.message ?? "");

    /** path -> mode/uid/gid/size/mtime/link for everything phase 2 may touch. */
    function snapshot(): Map<string, string> {
      const out = new Map<string, string>();
      const walk = (rel: string) => {
        // chroot-mounts copies the host's resolv.conf in for every run (the harness, not phase 2).
        if (rel === "etc/resolv.conf") return;
        const abs = at(rel);
        const st = lstatSync(abs);
        const link = st.isSymbolicLink() ? readlinkSync(abs) : "";
        if (st.isDirectory()) {
          // A directory's own mtime moves with lock files Portage makes and
          // removes (var/lib/portage/.world.lock); its entries are compared one by one.
          out.set(rel, `${st.mode.toString(8)} ${st.uid}:${st.gid} dir`);
          for (const n of readdirSync(abs)) walk(`${rel}/${n}`);
        } else
          out.set(
            rel,
            `${st.mode.toString(8)} ${st.uid}:${st.gid} ${st.size} ${st.mtimeMs} ${link}`,
          );
      };
      for (const top of ["etc", "usr", "var/lib/automagic", "var/db/pkg", "var/lib/portage"]) {
        if (existsSync(at(top))) walk(top);
      }
      return out;
    }

    let firstSnapshot: Map<string, string> | undefined;
    let firstSummary: Phase2Summary | undefined;

    test("phase 1's steps left what Portage needs: snapshot, profile, binhost through the server, signed packages, getuto's keyring", () => {
      const s = spec();
      assert.ok(existsSync(at("var/db/repos/gentoo/profiles/profiles.desc")), "the snapshot");
      assert.equal(
        readlinkSync(at("etc/portage/make.profile")),
        `../../var/db/repos/gentoo/profiles/${s.portage.profile}`,
      );
      assert.match(
        readFileSync(at("etc/portage/binrepos.conf/gentoo.conf"), "utf8"),
        new RegExp(`^sync-uri = ${served.mirror.url}${BINHOST}/$`, "m"),
      );
      assert.match(
        readFileSync(at("etc/portage/make.conf"), "utf8"),
        /^FEATURES="\$\{FEATURES\} getbinpkg binpkg-request-signature"$/m,
      );
      assert.ok(existsSync(at("etc/portage/gnupg/trustdb.gpg")), "getuto's keyring");
      assert.deepEqual(vdb(), [], "Portage has merged nothing yet");
    });

    // On OpenRC the first boot fails first: the host asks for a masked atom.
    // Nothing is merged; the hook would retry after the host file is fixed.
    if (variant === "openrc")
      for (const [what, atom, reason] of [
        [
          "keyword-masked (~amd64 only, no accept_keywords)",
          "app-editors/neovim",
          /masked by: ~amd64 keyword/,
        ],
        [
          "license-masked (linux-fw-redistributable, no package.license)",
          "sys-kernel/linux-firmware",
          /masked by: linux-fw-redistributable license/,
        ],
      ] as const) {
        test(`first boot: a ${what} atom fails phase 2 with emerge's own reason in step-fail`, async () => {
          const before = vdb();
          await assert.rejects(run(spec({}, [...PACKAGES, atom])), reason);
          const fail = events.find((e) => e.kind === "step-fail" && e.step === "packages");
          assert.ok(
            fail,
            `step-fail for packages: ${JSON.stringify(events.filter((e) => e.kind === "step-fail"))}`,
          );
          assert.match(fail.message ?? "", reason);
          assert.match(fail.message ?? "", new RegExp(`asked for @world .*${atom}`));
          assert.equal(fail.exitCode, 1);
          assert.ok(!events.some((e) => e.kind === "run-done"), "the run did not finish");
          assert.deepEqual(vdb(), before, "nothing was merged");
          // Keep-going: the overlay and services still ran; a service whose
          // package did not arrive waits for the retry instead of failing the step.
          assert.ok(events.some((e) => e.kind === "step-end" && e.step === "overlay"));
          const services = events.find((e) => e.step === "services" && e.kind !== "step-start");
          assert.equal(services?.kind, "step-end", JSON.stringify(services));
          assert.match(services.message ?? "", /waiting for packages: dhcpcd, chronyd/);
          assert.deepEqual(
            await mountsUnder(root),
            [],
            "the chroot mounts are gone after the failure",
          );
        });
      }

    test("first run: the host's packages from the signed binhost, world file, portage files, overlay, services from the packages, run-done", async () => {
      assert.deepEqual(
        vdb(),
        [],
        "neither phase 1 (without system-packages) nor a failed boot merged anything",
      );
      const summary = await run();
      firstSummary = summary;

      // Every host package came as a binary package from the fixture binhost.
      const merged = PACKAGES.map((pn) => vdbEntry(pn));
      assert.ok(merged.every(Boolean), `vdb: ${vdb().join(" ")}`);
      assert.deepEqual([...summary.packages.installed].sort(), [...merged].sort());
      for (const cpv of merged)
        assert.ok(existsSync(at(`var/db/pkg/${cpv}/BINPKGMD5`)), `${cpv} merged from a gpkg`);
      assert.equal(
        readFileSync(at("var/lib/portage/world"), "utf8"),
        [...PACKAGES].sort().join("\n") + "\n",
      );
      assert.ok(
        packagesLog().some((l) => /^>>> Emerging binary \(\d of 6\) app-admin\/sudo-/.test(l)),
        packagesLog().join("\n"),
      );
      assert.ok(existsSync(at("usr/bin/sudo")));
      const cached = readdirSync(path.join(served.cacheDir, BINHOST, "app-admin/sudo"));
      assert.ok(
        cached.some((f) => f.endsWith(".gpkg.tar")),
        "the gpkg came through the server's mirror cache",
      );
      assert.ok(
        existsSync(at("usr/bin/btrfs-convert")),
        "btrfs-progs with its default USE=convert",
      );
      const end = events.find((e) => e.kind === "step-end" && e.step === "packages");
      assert.equal(end?.message, "6 merged (6 binary)");
      const progress = events.filter((e) => e.kind === "progress" && e.step === "packages");
      assert.deepEqual(progress.at(-1)?.progress, { done: 6, total: 6, unit: "packages" });

      for (const f of renderPortageFiles(spec()))
        assert.equal(readFileSync(at(f.path), "utf8"), f.content, f.path);
      assert.equal(
        readFileSync(at("etc/portage/package.use/50-overlay"), "utf8"),
        "app-editors/vim -gpm\n",
      );
      assert.equal(
        readFileSync(at("etc/portage/env/nobuildpkg.conf"), "utf8"),
        'FEATURES="-buildpkg"\n',
      );

      assert.equal(readFileSync(at("etc/motd"), "utf8"), "Welcome to web1 (automagic)\n");
      const secret = lstatSync(at("etc/automagic-test/secret.conf"));
      assert.equal(secret.mode & 0o7777, 0o640);
      const adm = readFileSync(at("etc/group"), "utf8").match(/^adm:[^:]*:(\d+):/m);
      assert.ok(adm, "the fixture has group adm");
      assert.equal(secret.gid, Number(adm[1]));
      assert.equal(secret.uid, 0);
      assert.equal(lstatSync(at("usr/local/bin/hello")).mode & 0o7777, 0o755);
      assert.equal(readlinkSync(at("etc/localtime-automagic")), "../usr/share/zoneinfo/UTC");
      assert.notEqual(
        readFileSync(at("etc/ssh/sshd_config"), "utf8"),
        "# overlay must not replace this\n",
      );
      assert.deepEqual(summary.overlay.protected, ["/etc/ssh/sshd_config"]);

      const manifest = readFileSync(at("var/lib/automagic/overlay.manifest"), "utf8");
      assert.match(manifest, /^file\t0644\t0:0\t[0-9a-f]{64}\t\/etc\/motd$/m);
      assert.match(
        manifest,
        /^symlink\t0777\t0:0\t-> \.\.\/usr\/share\/zoneinfo\/UTC\t\/etc\/localtime-automagic$/m,
      );
      assert.match(manifest, /\/etc\/portage\/package\.use\/50-overlay$/m);
      assert.doesNotMatch(manifest, /sshd_config/);

      // The services' scripts and units came with their packages; sshd was phase 1's.
      if (variant === "openrc") assert.deepEqual(enable, ["dhcpcd", "chronyd", "sshd"]);
      assert.deepEqual(
        summary.services.enabled,
        enable.filter((x) => x !== "sshd"),
      );
      assert.deepEqual(summary.services.unchanged, ["sshd"]);
      // Links point at the chroot's own paths: read them, never follow them on the host.
      if (variant === "openrc") {
        for (const svc of ["dhcpcd", "chronyd"]) {
          assert.ok(existsSync(at(`etc/init.d/${svc}`)), `${svc} script from its package`);
          assert.equal(readlinkSync(at(`etc/runlevels/default/${svc}`)), `/etc/init.d/${svc}`);
        }
        assert.equal(readlinkSync(at("etc/runlevels/default/sshd")), "/etc/init.d/sshd");
      } else {
        for (const unit of enable.map((x) => `${x}.service`))
          assert.match(
            readlinkSync(at(`etc/systemd/system/multi-user.target.wants/${unit}`)),
            new RegExp(`/${unit.replace(".", "\\.")}$`),
          );
      }

      const done = events.find((e) => e.kind === "run-done");
      assert.ok(done, "run-done reached the server");
      assert.equal(done.phase, 2);
      const s = done.summary as { packages: { installed: string[] }; steps: { step: string }[] };
      assert.equal(s.packages.installed.length, 6);
      assert.deepEqual(
        s.steps.map((x) => x.step),
        ["overlay-fetch", "portage", "packages", "shells", "overlay", "services", "sshd"],
      );
      firstSnapshot = snapshot();
    });

    test("a user whose shell is /bin/zsh gets it once app-shells/zsh is installed", () => {
      assert.ok(firstSummary, "first run passed");
      // Phase 1 had no zsh: alice logged in with bash until phase 2 brought it.
      assert.equal(afterPhase1.zsh, false);
      assert.match(afterPhase1.alice, /^alice:x:1000:1000:.*:\/bin\/bash$/);
      assert.ok(vdbEntry("app-shells/zsh"));
      assert.match(readFileSync(at("etc/passwd"), "utf8"), /^alice:x:1000:1000:.*:\/bin\/zsh$/m);
      assert.match(readFileSync(at("etc/shells"), "utf8"), /^\/bin\/zsh$/m, "zsh's pkg_postinst");
      const shells = firstSummary.steps.find((x) => x.step === "shells");
      assert.ok(shells, "the shells step ran");
      const out = execFileSync("chroot", [root, "/bin/zsh", "-c", "echo $ZSH_NAME"], {
        env: { PATH: "/usr/sbin:/usr/bin:/sbin:/bin" },
      });
      assert.equal(out.toString(), "zsh\n");
    });

    test("second run merges nothing and changes nothing", async () => {
      assert.ok(firstSnapshot, "first run passed");
      const world = readFileSync(at("var/lib/portage/world"), "utf8");
      const merges = completedMerges();
      const summary = await run();
      assert.deepEqual(summary.packages.installed, []);
      assert.ok(packagesLog().includes("Calculating dependencies ... done!"), "emerge ran");
      assert.equal(completedMerges(), merges, "emerge.log: no new merge");
      assert.ok(!packagesLog().some((l) => l.startsWith(">>> Emerging")), packagesLog().join("\n"));
      assert.equal(readFileSync(at("var/lib/portage/world"), "utf8"), world);
      assert.deepEqual(summary.portage.written, []);
      assert.deepEqual(summary.overlay.written, []);
      assert.deepEqual(summary.services.enabled, []);
      assert.deepEqual(summary.services.unchanged, enable);
      const second = snapshot();
      const diff = [...new Set([...firstSnapshot.keys(), ...second.keys()])].filter(
        (k) => firstSnapshot!.get(k) !== second.get(k),
      );
      assert.deepEqual(diff, []);
      assert.ok(events.some((e) => e.kind === "run-done"));
    });

    if (variant !== "openrc") return;

    test("a USE change in the host spec rebuilds the package it affects on the next run", async () => {
      const before = vdbEntry("sys-fs/btrfs-progs")!;
      assert.ok(useOf(before).includes("convert"));
      assert.ok(existsSync(at("usr/bin/btrfs-convert")));
      const world = readFileSync(at("var/lib/portage/world"), "utf8");
      const summary = await run(
        spec({ packageUse: ["app-editors/vim -X", "sys-fs/btrfs-progs -convert"] }),
      );
      assert.deepEqual(summary.packages.installed, [before], "only btrfs-progs is merged again");
      assert.ok(!useOf(before).includes("convert"), "its USE no longer has convert");
      assert.ok(!existsSync(at("usr/bin/btrfs-convert")), "btrfs-convert is gone with -convert");
      assert.ok(existsSync(at("usr/bin/btrfs")), "the rest of btrfs-progs stays");
      assert.equal(readFileSync(at("var/lib/portage/world"), "utf8"), world);
      assert.match(
        readFileSync(at("etc/portage/package.use/zz-automagic"), "utf8"),
        /^sys-fs\/btrfs-progs -convert$/m,
      );
    });
  });
}
