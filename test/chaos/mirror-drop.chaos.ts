// mirror-drop: `automagic serve` from a config file inside a namespace pair
// made here; its mirror's upstream is a small HTTP server over the fixture
// mirror (var/fixture-mirror, read only) in the server's namespace, the
// "target" is the payload's own fetch-and-verify (shared/verify, run
// standalone by mirror-drop/client.ts) in the other namespace, behind a
// 100 Mbit/s veth (tc tbf) so a 60 MB stage3 takes a few seconds.
//   0. a variant no host file uses, asked for without a token;
//   1. the upstream stalls 60 s in the middle of the openrc stage3;
//   2. the target's link goes down for 60 s in the middle of its systemd
//      stage3 download from the server (ip link set down);
//   3. serve is killed (SIGKILL) in the middle of an upstream fetch and
//      started again.
// Measured: status and time at the client, the sha512 it ended with against
// the fixture's file, what the server's cache and .staging hold afterwards.
// Verdict ok: the client has exactly the verified file or nothing, the cache
// holds no partial unit and no staging is left behind.
//   npx tsx test/chaos/mirror-drop.chaos.ts    (or: bash test/chaos/run.sh mirror-drop)
import { createHash } from "node:crypto";
import { existsSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import type { ResultPromise } from "execa";
import { createTestNet, nsExec, type TestNet } from "../lib/netns.ts";
import { makeWorld, startServe, REPO, type Served } from "../integration/control/serve-process.ts";
import { row } from "./row.ts";

const FX = join(REPO, "var/fixture-mirror");
const AUTOBUILDS = "releases/amd64/autobuilds";
const SNAPSHOT = "snapshots/gentoo-latest.tar.xz";
const SERVER_IP = "10.78.0.1";
const CLIENT_IP = "10.78.0.2";
const UP_PORT = 8081;
const DROP_MS = 60_000;
const MIRROR = `http://${SERVER_IP}:8080/mirror/`;

const sha512 = (path: string) => createHash("sha512").update(readFileSync(path)).digest("hex");
const secs = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function walk(root: string): string[] {
  if (!existsSync(root)) return [];
  const out: string[] = [];
  for (const e of readdirSync(root, { withFileTypes: true, recursive: true }))
    if (e.isFile()) out.push(relative(root, join(e.parentPath, e.name)));
  return out.sort();
}

function stageOf(variant: string): string {
  const pointer = readFileSync(join(FX, AUTOBUILDS, `latest-stage3-amd64-${variant}.txt`), "utf8");
  const path = /^(\d{8}T\d{6}Z\/\S+\.tar\.xz) \d+$/m.exec(pointer)?.[1];
  if (!path) throw new Error(`${FX}: ${variant} pointer has no stage line`);
  return `${AUTOBUILDS}/${path}`;
}

/** A child whose stdout is kept as lines, with a wait for the first line matching. */
function lines(proc: ResultPromise) {
  const seen: string[] = [];
  let buf = "";
  proc.stdout!.on("data", (c: Buffer) => {
    buf += c.toString();
    const parts = buf.split("\n");
    buf = parts.pop() ?? "";
    seen.push(...parts);
  });
  return {
    seen,
    async waitFor(re: RegExp, ms: number): Promise<string | undefined> {
      for (const end = Date.now() + ms; Date.now() < end; await sleep(50)) {
        const hit = seen.find((l) => re.test(l));
        if (hit) return hit;
      }
      return undefined;
    },
  };
}

interface ClientResult {
  ok: boolean;
  sha512?: string;
  bytes?: number;
  error?: string;
  ms: number;
}

/** The cache holds whole units only (every stage3 with .asc and .DIGESTS, matching the fixture) and no staging. */
function cacheState(cacheDir: string): { ok: boolean; text: string } {
  const files = walk(cacheDir);
  const staging = files.filter((f) => f.startsWith(".staging/"));
  const tarballs = files.filter((f) => /stage3-.*\.tar\.xz$/.test(f));
  const partial = tarballs.filter(
    (t) =>
      !files.includes(`${t}.asc`) ||
      !files.includes(`${t}.DIGESTS`) ||
      sha512(join(cacheDir, t)) !== sha512(join(FX, t)),
  );
  const names = tarballs.map((t) => t.replace(/^.*\/stage3-amd64-(\w+)-.*$/, "$1"));
  return {
    ok: staging.length === 0 && partial.length === 0,
    text: `cache: ${names.join(" + ") || "no stage3"} whole${partial.length ? `, PARTIAL ${partial.join(", ")}` : ""}; .staging: ${staging.length ? staging.join(", ") : "empty"}`,
  };
}

/** The client-side verdict: exactly the fixture's file, or nothing at all. */
function clientState(r: ClientResult, dest: string, rel: string): { ok: boolean; text: string } {
  const want = sha512(join(FX, rel));
  const left = walk(dest).filter((f) => /\.tar\.xz(\.part)?$/.test(f));
  if (r.ok)
    return {
      ok: r.sha512 === want,
      text: `verified, ${r.bytes} bytes, sha512 ${r.sha512 === want ? "= fixture" : "DIFFERS"}`,
    };
  return {
    ok: left.length === 0,
    text: `failed (${r.error}); left: ${left.join(", ") || "nothing"}`,
  };
}

function runClient(net: TestNet, variant: string, dest: string) {
  const proc = nsExec(
    net.client,
    "node",
    ["--import", "tsx", "test/chaos/mirror-drop/client.ts", MIRROR, variant, fpr(), dest],
    { cwd: REPO, reject: false, buffer: false },
  );
  const out = lines(proc);
  const result = (async (): Promise<ClientResult> => {
    await proc;
    const r = out.seen.find((l) => l.startsWith("R "));
    return r ? (JSON.parse(r.slice(2)) as ClientResult) : { ok: false, error: "no result", ms: 0 };
  })();
  return { out, result };
}

let fingerprint = "";
const fpr = () => fingerprint;

async function main(): Promise<void> {
  if (!existsSync(join(FX, "TEST-KEY-FPR"))) {
    row(
      "mirror-drop",
      "needs var/fixture-mirror",
      "missing: build it with test/fixture-mirror/build.ts",
      false,
    );
    return;
  }
  fingerprint = readFileSync(join(FX, "TEST-KEY-FPR"), "utf8").trim();
  const openrc = stageOf("openrc");
  const systemd = stageOf("systemd");
  const undo: Array<() => Promise<void> | void> = [];
  try {
    const net = await createTestNet("am-mdrop", { subnet: "10.78.0.0", serverIp: SERVER_IP });
    undo.push(() => net.close());
    await net.inClient("ip", ["addr", "add", `${CLIENT_IP}/24`, "dev", net.clientIf]);
    // 100 Mbit/s from the server to the target: the 60 MB stage3 takes ~5 s.
    await net.inServer("tc", [
      ...["qdisc", "add", "dev", net.serverIf, "root", "tbf"],
      ...["rate", "100mbit", "burst", "256kb", "latency", "200ms"],
    ]);
    const world = makeWorld();
    undo.push(() => world.close());
    const cacheDir = join(world.dir, "mirror-cache");

    const upProc = nsExec(
      net.server,
      "node",
      [
        ...["--import", "tsx", "test/chaos/mirror-drop/upstream.ts", FX, String(UP_PORT)],
        ...["--stall", `stage3-amd64-openrc-.*\\.tar\\.xz$=${DROP_MS}`],
        ...["--hang", "gentoo-latest\\.tar\\.xz$"],
      ],
      { cwd: REPO, reject: false, buffer: false },
    );
    undo.push(() => void upProc.kill("SIGKILL"));
    const up = lines(upProc);
    if (!(await up.waitFor(/^listening/, 15_000))) throw new Error("upstream did not start");

    const cfg = join(world.dir, "serve.yaml");
    writeFileSync(
      cfg,
      [
        `listen: ${SERVER_IP}`,
        "tftp: { enabled: false }",
        `trustedKeys: [${fingerprint}]`,
        "mirror:",
        `  upstream: http://127.0.0.1:${UP_PORT}/`,
        `  cacheDir: ${cacheDir}`,
        `  keysDir: ${join(FX, "keys")}`,
        "  maxCacheGiB: 1",
        "",
      ].join("\n"),
    );
    let served: Served = await startServe(world, ["--config", cfg], net.server);
    undo.push(() => served.stop());

    // 0. A variant no host file uses (the world's hosts/ use openrc and systemd).
    const unused = await net.inClient(
      "curl",
      [
        "-sS",
        "-w",
        "\n%{http_code}",
        `${MIRROR}${AUTOBUILDS}/latest-stage3-amd64-desktop-openrc.txt`,
      ],
      { reject: false },
    );
    const [body0 = "", code0 = ""] = String(unused.stdout).split(/\n(?=\d+$)/);
    const asked0 = up.seen.filter((l) => l.includes("desktop-openrc")).length;
    row(
      "mirror-drop: unused variant, no token",
      "curl of latest-stage3-amd64-desktop-openrc.txt from the target namespace",
      `HTTP ${code0} "${body0.trim()}"; upstream requests for it: ${asked0}`,
      code0 === "404" && /no host file uses it/.test(body0) && asked0 === 0,
    );

    // 1. Upstream stalls 60 s mid-body while the target waits for the stage3.
    const dest1 = join(world.dir, "target-openrc");
    const c1 = runClient(net, "openrc", dest1);
    const r1 = await c1.result;
    const stalled = up.seen.some((l) => l.startsWith("PAUSE") && l.includes("openrc"));
    const s1 = clientState(r1, dest1, openrc);
    const k1 = cacheState(cacheDir);
    const gets1 = up.seen.filter((l) => l === `GET ${openrc}`).length;
    row(
      "mirror-drop: upstream stalls 60 s mid-stage3",
      `payload fetchStage3("openrc") through serve; the upstream sends half the tarball, pauses ${DROP_MS / 1000} s, sends the rest`,
      `${stalled ? "stall happened" : "NO STALL"}; client ${s1.text} after ${secs(r1.ms)}; upstream GETs of the tarball: ${gets1}; ${k1.text}`,
      stalled && r1.ok && s1.ok && k1.ok,
    );

    // 2. The target's link goes down for 60 s in the middle of its download.
    const dest2 = join(world.dir, "target-systemd");
    const c2 = runClient(net, "systemd", dest2);
    const at = await c2.out.waitFor(/^P (2\d|[3-9]\d) /, 60_000);
    let dropped = "link never dropped (download did not reach 20 %)";
    if (at) {
      const t0 = performance.now();
      await net.inClient("ip", ["link", "set", net.clientIf, "down"]);
      await sleep(DROP_MS);
      await net.inClient("ip", ["link", "set", net.clientIf, "up"]);
      await c2.result;
      dropped = `down at ${at.split(" ")[1]} % for ${DROP_MS / 1000} s; done ${secs(performance.now() - t0)} after the drop began`;
    }
    const r2 = await c2.result;
    const s2 = clientState(r2, dest2, systemd);
    const k2 = cacheState(cacheDir);
    row(
      "mirror-drop: target link down 60 s mid-stage3",
      `payload fetchStage3("systemd") from serve over 100 Mbit/s; ip link set down on the target's veth for ${DROP_MS / 1000} s`,
      `${dropped}; client ${s2.text}, ${secs(r2.ms)} in all; ${k2.text}`,
      at !== undefined && s2.ok && k2.ok,
    );

    // 3. serve killed mid-fetch (the upstream hangs on the snapshot), then started again.
    const hanging = nsExec(net.client, "curl", ["-sS", "-o", "/dev/null", `${MIRROR}${SNAPSHOT}`], {
      reject: false,
    });
    let leftover: string[] = [];
    for (let i = 0; i < 100 && leftover.length === 0; i++) {
      await sleep(100);
      leftover = walk(join(cacheDir, ".staging"));
    }
    await served.kill9();
    hanging.kill("SIGKILL");
    await hanging;
    served = await startServe(world, ["--config", cfg], net.server);
    // The cleanup starts with the mirror and runs beside the HTTP start-up; every mirror request waits for it.
    for (let i = 0; i < 50 && !served.log().includes("removed stale staging"); i++)
      await sleep(100);
    const cleaned = served
      .log()
      .split("\n")
      .filter((l) => l.includes("removed stale staging"))
      .map((l) => /"staging":"([^"]+)"/.exec(l)?.[1]?.replace(`${cacheDir}/`, "") ?? l);
    const afterStart = walk(join(cacheDir, ".staging"));
    const snap = await net.inClient(
      "curl",
      ["-sS", "-o", join(world.dir, "snap"), "-w", "%{http_code}", `${MIRROR}${SNAPSHOT}`],
      { reject: false },
    );
    const snapOk =
      snap.stdout === "200" && sha512(join(world.dir, "snap")) === sha512(join(FX, SNAPSHOT));
    const k3 = cacheState(cacheDir);
    row(
      "mirror-drop: serve SIGKILLed mid-fetch, restarted",
      "snapshot requested while the upstream hangs half-way; kill -9 serve; start it again; request again",
      `staging at the kill: ${leftover.join(", ") || "none"}; removed at start: ${cleaned.join(", ") || "nothing"}; after start: ${afterStart.join(", ") || "empty"}; snapshot again: HTTP ${snap.stdout}${snapOk ? ", sha512 = fixture" : ""}; ${k3.text}`,
      leftover.length > 0 && cleaned.length > 0 && afterStart.length === 0 && snapOk && k3.ok,
    );
  } finally {
    for (const u of undo.reverse()) await Promise.resolve(u()).catch(() => {});
  }
}

main().catch((err: unknown) => {
  row("mirror-drop", "scenario setup", String((err as Error).stack ?? err), false);
});
