// The web console in a real browser: log in with the admin token, arm a host
// from its page (the confirmation names the disk it will pave), watch the run
// move as a fake machine posts events, and see the failure with its reason.
// It takes the screenshots docs/CONSOLE.md shows (see SHOTS).
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import { join, resolve } from "node:path";
import type { Page } from "playwright-core";
import { KNOWN, UNKNOWN } from "../../unit/http/harness.ts";
import { DISK, FakeMachine, launch, startBed, TOKEN } from "./bed.ts";

// Into var/ (ignored by git) on every run, so a test run leaves no changed
// files; CONSOLE_SHOTS=docs/console refreshes the ones docs/CONSOLE.md shows.
const REPO = resolve(import.meta.dirname, "../../..");
const SHOTS = resolve(REPO, process.env.CONSOLE_SHOTS ?? "var/console-shots");

async function shot(page: Page, name: string): Promise<void> {
  mkdirSync(SHOTS, { recursive: true });
  await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
}

/**
 * Waits for `selector` to match a visible element. Selectors, not functions
 * run in the page: the console's CSP forbids eval, which Playwright's string
 * predicates need.
 */
async function until(page: Page, selector: string, what: string): Promise<void> {
  await page
    .locator(selector)
    .waitFor({ timeout: 10_000 })
    .catch((err: Error) => {
      throw new Error(`console: ${what}: nothing matched ${selector}`, { cause: err });
    });
}

test("console: login, arm with the disk named, live progress, the failure and its reason", async (t) => {
  const h = await startBed();
  t.after(() => h.close());
  const browser = await launch();
  t.after(() => browser.close());
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  const errors: string[] = [];
  page.on("pageerror", (err) => errors.push(err.message));

  // Boot activity to show: a traced DHCP exchange and an unknown machine.
  h.store.obs.trace(KNOWN, "dhcp", "DISCOVER", { arch: "x86-64 UEFI", xid: "0x1234" });
  h.store.obs.trace(KNOWN, "dhcp", "OFFER", { ip: "10.77.0.50", file: "snponly.efi" });
  h.store.obs.trace(KNOWN, "tftp", "snponly.efi sent", { bytes: 212_992 });
  await fetch(`${h.url}/boot.ipxe?mac=${UNKNOWN}&arch=x86_64`);

  // Not logged in: every page sends the browser to the login.
  await page.goto(`${h.url}/ui/hosts/ws1`);
  assert.match(page.url(), /\/ui\/login\?next=%2Fui%2Fhosts%2Fws1$/);
  await page.fill("input[name=token]", "not-the-token-at-all");
  await page.click("form.login button");
  await page.locator("p.failure", { hasText: "That is not the admin token." }).waitFor();
  await shot(page, "login");
  await page.fill("input[name=token]", TOKEN);
  await page.click("form.login button");
  await page.waitForURL(`${h.url}/ui/hosts/ws1`);
  const cookie = (await context.cookies()).find((c) => c.name === "automagic_session");
  assert.ok(cookie, "a session cookie");
  assert.equal(cookie.httpOnly, true);
  assert.equal(cookie.sameSite, "Strict");
  assert.ok(!cookie.value.includes(TOKEN), "the cookie is not the token");

  // Arming: the confirmation names the disk the install will pave.
  await until(page, "h1 .live:text-is('live')", "SSE open");
  await page.selectOption("#arm-action", "install");
  await page.click("#arm");
  const dialog = page.locator("dialog#confirm");
  await dialog.waitFor({ state: "visible" });
  const text = await page.locator("#confirm-text").textContent();
  assert.match(text ?? "", new RegExp(`Arm install on ws1: .*PAVE disk serial=${DISK}`));
  assert.match(text ?? "", /everything on that disk is erased/);
  await shot(page, "arm-confirm");
  await page.click("#confirm-ok");
  await page.locator("#arm-result", { hasText: "ws1: armed:install" }).waitFor();
  assert.equal(h.store.hostFacts("ws1").armed, "install");
  await page.locator("h1 [data-state]", { hasText: "armed:install" }).waitFor();

  // The machine boots and reports; the page follows over SSE.
  const m = new FakeMachine(h, KNOWN);
  await m.boot();
  await m.send(
    { kind: "run-start", message: "AUTOMAGIC-PAYLOAD-START" },
    { kind: "step-start", step: "partition" },
    { kind: "step-end", step: "partition" },
    { kind: "step-start", step: "fetch-verify" },
    { kind: "progress", step: "fetch-verify", progress: { done: 25, total: 100, unit: "bytes" } },
  );
  await until(page, '#run-bar[value="25"]', "progress at 25%");
  assert.equal(await page.locator("#steps li[data-step=partition]").getAttribute("class"), "done");
  assert.equal(await page.locator("#run-step").textContent(), "fetch-verify");
  await m.send({
    kind: "progress",
    step: "fetch-verify",
    progress: { done: 70, total: 100, unit: "bytes" },
  });
  await until(page, '#run-bar[value="70"]', "progress moved to 70%");
  assert.equal(await page.locator("#run-pct").textContent(), "70%");
  await page.locator("h1 [data-state]", { hasText: "running:install" }).waitFor();
  await m.send(
    { kind: "step-end", step: "fetch-verify" },
    { kind: "step-start", step: "extract-stage3" },
    {
      kind: "progress",
      step: "extract-stage3",
      progress: { done: 1_200_000_000, total: 2_000_000_000 },
    },
    { kind: "log", step: "extract-stage3", message: "tar: extracting into /mnt/gentoo" },
  );
  await until(page, "#run-pct:text-is('60%')", "extract at 60%");
  await shot(page, "host-running");

  // A failed step: the reason, the device, the command, its exit code and stderr.
  await m.send({
    kind: "step-fail",
    step: "extract-stage3",
    device: "/dev/sda3",
    command: "tar -xpf stage3.tar.xz -C /mnt/gentoo",
    exitCode: 2,
    message: "extracting the stage3 failed",
    stderrTail: "tar: write error: No space left on device",
  });
  await page.locator("#failure:not([hidden])").waitFor();
  await page.locator("h1 [data-state]", { hasText: "failed:install" }).waitFor();
  const failure = (await page.locator("#failure-text").textContent()) ?? "";
  assert.match(failure, /step extract-stage3, device \/dev\/sda3, command "tar -xpf/);
  assert.match(failure, /exit code 2: extracting the stage3 failed/);
  assert.match(failure, /No space left on device/);
  assert.equal(
    await page.locator("#steps li[data-step=extract-stage3]").getAttribute("class"),
    "failed",
  );
  await shot(page, "host-failed");

  // The other pages.
  await page.goto(`${h.url}/ui/`);
  await page.locator("tr[data-host=ws1] [data-state]", { hasText: "failed:install" }).waitFor();
  assert.match(
    (await page.locator("tr[data-host=ws1]").textContent()) ?? "",
    /ws1-20261201T090000Z/,
  );
  await shot(page, "hosts");
  await page.goto(`${h.url}/ui/discovered`);
  await page.click("summary");
  const yaml = (await page.locator("pre.copy").textContent()) ?? "";
  assert.match(yaml, new RegExp(`macs: \\["${UNKNOWN}"\\]`));
  await shot(page, "discovered");
  await page.goto(`${h.url}/ui/images`);
  await page.locator("td", { hasText: "ws1-20261201T090000Z" }).waitFor();
  await shot(page, "images");
  assert.deepEqual(errors, [], "no script errors on any page");
});

test("console: a host with more stored events than one page shows its latest run whole", async (t) => {
  const h = await startBed();
  t.after(() => h.close());
  // Run 1: 1,200 events (more than one page of the API and of the stream's replay), done.
  h.store.arm("ws1", "install");
  const first = new FakeMachine(h, KNOWN);
  await first.boot();
  await first.send({ kind: "run-start" }, { kind: "step-start", step: "emerge" });
  for (let batch = 0; batch < 2; batch++)
    await first.send(
      ...Array.from({ length: 600 }, (_, i) => ({
        kind: "log",
        step: "emerge",
        message: `>>> Emerging (${batch * 600 + i + 1} of 1200)`,
      })),
    );
  await first.send({ kind: "step-end", step: "emerge" }, { kind: "run-done" });
  // Run 2: a few events, then a failure.
  h.store.arm("ws1", "install");
  const second = new FakeMachine(h, KNOWN);
  await second.boot();
  await second.send(
    { kind: "run-start" },
    { kind: "step-start", step: "probe" },
    { kind: "step-fail", step: "probe", message: "no disk with serial WS1-SYSTEM-DISK" },
  );

  const browser = await launch();
  t.after(() => browser.close());
  const page = await browser.newPage();
  await page.goto(`${h.url}/ui/login?next=/ui/hosts/ws1`);
  await page.fill("input[name=token]", TOKEN);
  await page.click("form.login button");
  await until(page, "h1 .live:text-is('live')", "SSE open");
  assert.equal(await page.locator("#run-title").textContent(), "#2 install, phase 1");
  assert.equal(await page.locator("#steps li").count(), 1);
  assert.equal(await page.locator("#steps li[data-step=probe]").getAttribute("class"), "failed");
  assert.equal(await page.locator("#events tr").count(), 3, "only run 2's events");
  await page.locator("#failure-text", { hasText: "no disk with serial WS1-SYSTEM-DISK" }).waitFor();
  assert.equal(await page.locator("#runs tr").count(), 2);
});
