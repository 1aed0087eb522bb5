// Who may use the console, over plain HTTP: the login sets a cookie that
// stands for the admin token; admin-guard.ts's Host and Origin checks apply
// to the console as to the API; a change made with the cookie needs the
// page's CSRF value; what machines send is escaped on every page.
import { test } from "node:test";
import assert from "node:assert/strict";
import { KNOWN, raw } from "../../unit/http/harness.ts";
import { issueSession, SESSION_MS, sessionValid } from "../../../server/ui/session.ts";
import { escapeHtml, html } from "../../../server/ui/html.ts";
import { startBed, TOKEN } from "./bed.ts";

async function login(url: string): Promise<string> {
  const r = await fetch(`${url}/ui/login`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: `token=${encodeURIComponent(TOKEN)}`,
    redirect: "manual",
  });
  assert.equal(r.status, 303);
  const cookie = r.headers.get("set-cookie") ?? "";
  assert.match(
    cookie,
    /^automagic_session=\d+\.[\w-]+; Path=\/; Max-Age=43200; HttpOnly; SameSite=Strict$/,
  );
  return cookie.split(";")[0]!;
}

test("console: pages need a login; the login is the admin token; Host and Origin are checked", async (t) => {
  const h = await startBed();
  t.after(() => h.close());
  const page = await fetch(`${h.url}/ui/hosts/ws1`, { redirect: "manual" });
  assert.equal(page.status, 303);
  assert.equal(page.headers.get("location"), "/ui/login?next=%2Fui%2Fhosts%2Fws1");
  const js = await fetch(`${h.url}/ui/static/console.js`);
  assert.equal(js.status, 200, "the script and stylesheet need no login");
  assert.equal(js.headers.get("content-type"), "text/javascript; charset=utf-8");
  const shown = await fetch(`${h.url}/ui/login`);
  assert.match(shown.headers.get("content-security-policy") ?? "", /frame-ancestors 'none'/);
  assert.match(
    await shown.text(),
    /\/var\/lib\/automagic\/admin-token/,
    "loopback is told the file",
  );

  const wrong = await fetch(`${h.url}/ui/login`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: "token=guess",
    redirect: "manual",
  });
  assert.equal(wrong.status, 401);
  assert.equal(wrong.headers.get("set-cookie"), null);
  const big = await fetch(`${h.url}/ui/login`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: `token=${"x".repeat(4096)}`,
  });
  assert.equal(big.status, 413, "a login body is at most 2 KB");

  const form = { "content-type": "application/x-www-form-urlencoded" };
  const body = `token=${encodeURIComponent(TOKEN)}`;
  const cross = await raw(h.url, "/ui/login", { ...form, origin: "http://evil.example" }, "POST", {
    body,
  });
  assert.equal(cross.status, 403, "a cross-site login is refused");
  assert.equal(cross.headers["set-cookie"], undefined);
  const rebound = await raw(h.url, "/ui/login", { ...form, host: "evil.example" }, "POST", {
    body,
  });
  assert.equal(rebound.status, 403);
  assert.match(rebound.body.toString(), /Host &quot;evil\.example&quot; is not served/);

  const cookie = await login(h.url);
  const hosts = await fetch(`${h.url}/ui/`, { headers: { cookie } });
  assert.equal(hosts.status, 200);
  assert.match(await hosts.text(), /data-host="ws1"/);
  assert.equal(
    (await raw(h.url, "/ui/", { cookie, host: `evil.example:80` })).status,
    403,
    "the cookie does not lift the Host check",
  );
  const api = await fetch(`${h.url}/api/v1/admin/hosts`, { headers: { cookie } });
  assert.equal(api.status, 200, "the cookie stands for the token at the admin API");
  assert.equal((await fetch(`${h.url}/api/v1/admin/hosts`)).status, 401);

  // A forged or stale cookie is no session.
  const [, sig] = cookie.split(".");
  for (const bad of [
    `automagic_session=${Date.now()}.${sig}`,
    `automagic_session=${issueSession("another-token-0123456789", Date.now())}`,
  ]) {
    const r = await fetch(`${h.url}/ui/`, { headers: { cookie: bad }, redirect: "manual" });
    assert.equal(r.status, 303, bad);
  }
  const now = Date.now();
  assert.ok(sessionValid(TOKEN, issueSession(TOKEN, now), now));
  assert.ok(!sessionValid(TOKEN, issueSession(TOKEN, now - SESSION_MS - 1), now), "expired");
});

test("console: a change made with the cookie needs the page's CSRF value", async (t) => {
  const h = await startBed();
  t.after(() => h.close());
  const cookie = await login(h.url);
  const pageText = await (await fetch(`${h.url}/ui/hosts/ws1`, { headers: { cookie } })).text();
  const csrf = /<body data-csrf="([\w-]+)">/.exec(pageText)?.[1];
  assert.ok(csrf, "the page carries its CSRF value");
  const arm = (headers: Record<string, string>) =>
    fetch(`${h.url}/api/v1/admin/hosts/ws1/next`, {
      method: "POST",
      headers: { cookie, "content-type": "application/json", ...headers },
      body: JSON.stringify({ action: "install" }),
    });
  for (const headers of [{}, { "x-automagic-csrf": "forged" }] as Array<Record<string, string>>) {
    const r = await arm(headers);
    assert.equal(r.status, 403);
    assert.match(
      ((await r.json()) as { error: string }).error,
      /CSRF value; reload the page; nothing was changed/,
    );
  }
  assert.equal(h.store.hostFacts("ws1").armed, "local");
  const ok = await arm({ "x-automagic-csrf": csrf });
  assert.equal(ok.status, 200);
  assert.equal(h.store.hostFacts("ws1").armed, "install");

  const logout = (extra: string) =>
    fetch(`${h.url}/ui/logout`, {
      method: "POST",
      headers: { cookie, "content-type": "application/x-www-form-urlencoded" },
      body: extra,
      redirect: "manual",
    });
  assert.equal((await logout("")).status, 403);
  const out = await logout(`csrf=${csrf}`);
  assert.equal(out.status, 303);
  assert.match(out.headers.get("set-cookie") ?? "", /^automagic_session=; Path=\/; Max-Age=0;/);
});

test("console: what machines and host files say is escaped on every page", async (t) => {
  const h = await startBed();
  t.after(() => h.close());
  assert.equal(escapeHtml(`<a href="x">'&`), "&lt;a href=&quot;x&quot;&gt;&#39;&amp;");
  assert.equal(
    html`<p title="${'"><b>'}">${["<i>", html`<b>ok</b>`]}</p>`.text,
    '<p title="&quot;&gt;&lt;b&gt;">&lt;i&gt;<b>ok</b></p>',
  );
  const evil = `<script>alert(1)</script>`;
  h.store.obs.trace(KNOWN, "http", evil, { [evil]: evil });
  await fetch(`${h.url}/boot.ipxe?mac=52:54:00:ff:ff:fe&arch=${encodeURIComponent(evil)}`);
  const cookie = await login(h.url);
  for (const path of ["/ui/hosts/ws1", "/ui/discovered"]) {
    const text = await (await fetch(h.url + path, { headers: { cookie } })).text();
    assert.ok(!text.includes(evil), path);
    assert.match(text, /&lt;script&gt;alert\(1\)&lt;\/script&gt;/, path);
  }
  const missing = await fetch(`${h.url}/ui/hosts/${encodeURIComponent(evil)}`, {
    headers: { cookie },
  });
  assert.equal(missing.status, 404);
  assert.ok(!(await missing.text()).includes(evil));
});
