// Phase 2 against a chroot made from the fixture stage3 (Debian dressed as
// Gentoo, with recording emerge/eselect stand-ins and real OpenRC):
// portage files and overlay land exactly, the emerge stand-in is asked for
// the spec's packages, services get enabled, run-done reaches a local HTTP
// recorder, and a second run changes nothing. Traffic stays on 127.0.0.1.
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
  symlinkSync,
  writeFileSync,
} from "node:fs";
import path from "node:path";
import { runPhase2 } from "../../../payload/phase2/index.ts";
import { renderPortageFiles } from "../../../payload/phase2/portage.ts";
import { execaRunner } from "../../../payload/run/runner.ts";
import { Reporter } from "../../../payload/run/reporter.ts";
import { eventBatchSchema, type RunEvent } from "../../../payload/spec/events.ts";
import { packOverlay } from "../../../server/overlay/pack.ts";
import { requireTool } from "../../lib/tools.ts";
import { phase2Spec } from "../../unit/phase2/spec.ts";

const REPO = path.resolve(import.meta.dirname, "../../..");
const TOKEN = "p2tok-0123456789";

function stage3(variant: string): string {
  // A developer may point at another root tarball (any compression tar reads).
  if (process.env.PHASE2_STAGE3) return path.resolve(process.env.PHASE2_STAGE3);
  const base = path.join(REPO, "var/fixture-mirror/releases/amd64/autobuilds");
  const hits = (existsSync(base) ? readdirSync(base) : []).flatMap((d) =>
    existsSync(path.join(base, d)) && lstatSync(path.join(base, d)).isDirectory()
      ? readdirSync(path.join(base, d))
          .filter((f) => f.startsWith(`stage3-amd64-${variant}-`) && f.endsWith(".tar.xz"))
          .map((f) => `var/fixture-mirror/releases/amd64/autobuilds/${d}/${f}`)
      : [],
  );
  if (hits.length === 0) {
    throw new Error(
      `fixture stage3 (${variant}) missing under var/fixture-mirror: build it with \`npx tsx test/fixture-mirror/build.ts\``,
    );
  }
  return path.join(REPO, hits.sort().at(-1)!);
}

for (const variant of ["openrc", "systemd"] as const) {
  describe(`phase 2 on the ${variant} fixture stage3`, () => {
    let root = "";
    let overlayDir = "";
    let server: Server;
    let url = "";
    const events: RunEvent[] = [];

    function overlayFile(rel: string, content: string, mode = 0o644) {
      const p = path.join(overlayDir, rel);
      mkdirSync(path.dirname(p), { recursive: true });
      writeFileSync(p, content);
      chmodSync(p, mode);
    }

    before(async () => {
      requireTool("tar");
      requireTool("xz");
      requireTool("chroot");
      const tarball = stage3(variant);
      root = mkdtempSync("/var/tmp/p2-root-");
      execFileSync("tar", ["-xf", tarball, "--numeric-owner", "--xattrs-include=*.*", "-C", root]);
      overlayDir = mkdtempSync("/var/tmp/p2-overlay-");
      overlayFile("etc/portage/package.use", "www-servers/nginx -http2\n");
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

    after(() => {
      server?.closeAllConnections();
      server?.close();
      if (root) rmSync(root, { recursive: true, force: true });
      if (overlayDir) rmSync(overlayDir, { recursive: true, force: true });
    });

    const enable = variant === "openrc" ? ["dhcpcd", "sshd"] : ["sshd"];
    const spec = () =>
      phase2Spec({
        init: variant,
        packages: ["app-editors/vim", "www-servers/nginx", "app-misc/tmux"],
        services: { enable, disable: [] },
      });

    async function run() {
      const report = new Reporter({
        server: url,
        token: TOKEN,
        phase: 2,
        batchDelayMs: 10,
        write: (l: string) => void (process.env.P2_DEBUG && console.error(l)),
      });
      const summary = await runPhase2({
        spec: spec(),
        server: url,
        token: TOKEN,
        root,
        runner: execaRunner(),
        report,
      });
      await report.flush();
      return summary;
    }

    /** path -> mode/uid/gid/size/mtime/link for everything phase 2 may touch. */
    function snapshot(): Map<string, string> {
      const out = new Map<string, string>();
      const walk = (rel: string) => {
        const abs = path.join(root, rel);
        const st = lstatSync(abs);
        const link = st.isSymbolicLink() ? readlinkSync(abs) : "";
        out.set(rel, `${st.mode.toString(8)} ${st.uid}:${st.gid} ${st.size} ${st.mtimeMs} ${link}`);
        if (st.isDirectory()) for (const n of readdirSync(abs)) walk(`${rel}/${n}`);
      };
      for (const top of [
        "etc",
        "usr/local",
        "var/lib/automagic",
        "var/db/pkg",
        "var/lib/portage",
      ]) {
        if (existsSync(path.join(root, top))) walk(top);
      }
      return out;
    }

    const standins = () =>
      readFileSync(path.join(root, "var/log/automagic-standins.jsonl"), "utf8")
        .trim()
        .split("\n")
        .map((l) => JSON.parse(l) as { tool: string; argv: string[]; exit: number });

    let firstSnapshot: Map<string, string>;

    test("first run: portage files, packages, overlay, services, run-done", async () => {
      const summary = await run();
      const at = (p: string) => path.join(root, p);

      for (const f of renderPortageFiles(spec()))
        assert.equal(readFileSync(at(f.path), "utf8"), f.content, f.path);
      assert.equal(
        readFileSync(at("etc/portage/package.use/50-overlay"), "utf8"),
        "www-servers/nginx -http2\n",
      );
      assert.equal(
        readFileSync(at("etc/portage/env/nobuildpkg.conf"), "utf8"),
        'FEATURES="-buildpkg"\n',
      );

      const emerges = standins().filter((s) => s.tool === "emerge");
      assert.equal(emerges.length, 1);
      assert.deepEqual(emerges[0]!.argv.slice(-3), [
        "app-editors/vim",
        "www-servers/nginx",
        "app-misc/tmux",
      ]);
      assert.ok(
        emerges[0]!.argv.includes("--noreplace") && emerges[0]!.argv.includes("--getbinpkg"),
      );
      assert.equal(emerges[0]!.exit, 0);
      assert.deepEqual(summary.packages.installed, [
        "app-editors/vim-9.1.1652",
        "www-servers/nginx-1.0",
        "app-misc/tmux-1.0",
      ]);

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

      // Links point at the chroot's own paths: read them, never follow them on the host.
      if (variant === "openrc") {
        assert.equal(readlinkSync(at("etc/runlevels/default/dhcpcd")), "/etc/init.d/dhcpcd");
        assert.equal(readlinkSync(at("etc/runlevels/default/sshd")), "/etc/init.d/sshd");
      } else {
        assert.match(
          readlinkSync(at("etc/systemd/system/multi-user.target.wants/sshd.service")),
          /\/sshd\.service$/,
        );
      }

      const done = events.find((e) => e.kind === "run-done");
      assert.ok(done, "run-done reached the server");
      assert.equal(done.phase, 2);
      const s = done.summary as {
        packages: { installed: string[] };
        steps: Array<{ step: string }>;
      };
      assert.equal(s.packages.installed.length, 3);
      assert.deepEqual(
        s.steps.map((x) => x.step),
        ["overlay-fetch", "portage", "packages", "overlay", "services", "sshd"],
      );
      const progress = events.filter((e) => e.kind === "progress" && e.step === "packages");
      assert.deepEqual(progress.at(-1)?.progress, { done: 3, total: 3, unit: "packages" });
      firstSnapshot = snapshot();
    });

    test("second run changes nothing", async () => {
      assert.ok(firstSnapshot, "first run passed");
      events.length = 0;
      const summary = await run();
      assert.deepEqual(summary.packages.installed, []);
      assert.deepEqual(summary.portage.written, []);
      assert.deepEqual(summary.overlay.written, []);
      assert.deepEqual(summary.services.enabled, []);
      assert.deepEqual(summary.services.unchanged, enable);
      const second = snapshot();
      const diff = [...new Set([...firstSnapshot.keys(), ...second.keys()])].filter(
        (k) => firstSnapshot.get(k) !== second.get(k),
      );
      assert.deepEqual(diff, []);
      const emerges = standins().filter((s) => s.tool === "emerge");
      assert.ok(emerges.length <= 2);
      assert.ok(events.some((e) => e.kind === "run-done"));
    });
  });
}
