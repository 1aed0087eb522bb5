// /ui/: the operator's web console. Pages are rendered on the server from
// what the admin API computes (views.ts, the store, the catalogs); the one
// script (static/console.js) follows runs over the admin API's SSE stream
// and arms through its POST. Who may see a page is admin-guard.ts's
// decision, with the session cookie standing for the token (session.ts).
//
// Unauthenticated requests cost little and the same each time: the two
// static files come from memory, the login page is fixed text, a login body
// is at most 2 KB, and nothing reads the store before the guard has passed.
import { readFileSync } from "node:fs";
import express, { Router, type ErrorRequestHandler, type Request, type Response } from "express";
import type { HostEntry } from "../hosts/index.ts";
import type { AppDeps } from "../http/deps.ts";
import { HttpError } from "../http/errors.ts";
import { hostStatus, inventory } from "../http/views.ts";
import { isLoopback } from "../http/admin-guard.ts";
import { armChoices, disarmText } from "./arm.ts";
import { discoveredPage } from "./discovered-page.ts";
import { hostPage } from "./host-page.ts";
import { hostsPage } from "./hosts-page.ts";
import { html, page } from "./html.ts";
import { imagesPage } from "./images-page.ts";
import { loginPage } from "./login-page.ts";
import {
  admitted,
  csrfFor,
  issueSession,
  sessionAuth,
  sessionCookie,
  sessionOf,
  SESSION_MS,
} from "./session.ts";

const STATIC: Record<string, { type: string; body: Buffer }> = Object.fromEntries(
  (
    [
      ["console.js", "text/javascript; charset=utf-8"],
      ["console.css", "text/css; charset=utf-8"],
    ] as const
  ).map(([name, type]) => [
    name,
    { type, body: readFileSync(new URL(`./static/${name}`, import.meta.url)) },
  ]),
);

// No inline script or style, no other origin, never in a frame (the arm
// button must not be clickjacked).
const HEADERS = {
  "Content-Security-Policy":
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
  "X-Frame-Options": "DENY",
  "X-Content-Type-Options": "nosniff",
  // Not no-referrer: with it Chromium sends `Origin: null` on our own form
  // POSTs, which admin-guard.ts refuses as a foreign page.
  "Referrer-Policy": "same-origin",
  "Cache-Control": "no-store",
};

const form = express.urlencoded({ extended: false, limit: "2kb", parameterLimit: 4 });

/** Where to go after the login: only a console page of ours. */
function nextPage(v: unknown): string {
  return typeof v === "string" && /^\/ui\/[\w./:%-]{0,200}$/.test(v) && !v.includes("..")
    ? v
    : "/ui/";
}

export function consoleRouter(deps: AppDeps): Router {
  const r = Router();
  const { config, store } = deps;
  const session = sessionAuth(config);
  /** What every page gets: the CSRF value of the session, and whether to offer a logout. */
  const pageOpts = (req: Request) => {
    const s = sessionOf(config, req);
    return s ? { csrf: csrfFor(config.adminToken!, s), loggedIn: true } : {};
  };
  const hostNamed = (name: string): HostEntry => {
    const h = deps.hosts().byName(name);
    if (!h)
      throw new HttpError(404, `no host "${name}" in ${deps.hosts().hosts.length} host files`);
    return h;
  };
  // As admin.ts computes a host's status row.
  const statusOf = (h: HostEntry) =>
    hostStatus(h, store.hostFacts(h.name), Date.now(), config.stallMs);
  const addresses = (hosts: HostEntry[]) =>
    inventory(hosts, (mac) => store.obs.ipFor(mac), new Map())._meta.hostvars;
  const sysimgs = async () => (deps.sysimgs ? await deps.sysimgs.list() : []);

  r.use((_req, res, next) => {
    res.set(HEADERS);
    next();
  });
  r.get("/static/:file", (req, res) => {
    const f = STATIC[String(req.params.file)];
    if (!f) throw new HttpError(404, `no console file ${String(req.params.file)}`);
    res.set("Cache-Control", "no-cache").type(f.type).send(f.body);
  });
  const showLogin = (req: Request, res: Response, error?: string) =>
    res.type("html").send(
      loginPage({
        error,
        next: nextPage(req.body?.next ?? req.query.next),
        tokenFile: isLoopback(req.socket.remoteAddress) ? config.adminTokenFile : undefined,
      }),
    );
  r.get("/login", (req, res) => {
    if (admitted(config, req, res)) return res.redirect(303, nextPage(req.query.next));
    showLogin(req, res);
  });
  r.post("/login", form, (req, res) => {
    const given = (req.body as { token?: unknown } | undefined)?.token;
    // The token is checked by the admin API's own guard, as if sent as a bearer token.
    if (typeof given === "string" && given && config.adminToken) {
      req.headers.authorization = `Bearer ${given.trim()}`;
      if (admitted(config, req, res)) {
        const now = Date.now();
        res.set(
          "Set-Cookie",
          sessionCookie(issueSession(config.adminToken, now), req, SESSION_MS / 1000),
        );
        deps.log.info({ ip: req.socket.remoteAddress }, "console: logged in");
        return res.redirect(303, nextPage(req.body.next));
      }
      deps.log.warn({ ip: req.socket.remoteAddress }, "console: wrong token at login");
    }
    res.status(401);
    showLogin(
      req,
      res,
      config.adminToken ? "That is not the admin token." : "No login is needed here.",
    );
  });
  r.post("/logout", form, session, (req, res) => {
    res.set("Set-Cookie", sessionCookie("", req, 0));
    res.redirect(303, "/ui/login");
  });

  // Everything below needs what the admin API needs.
  r.use(session, (req, res, next) => {
    if (admitted(config, req, res)) return next();
    if (req.method !== "GET") throw new HttpError(401, "console: log in first");
    res.redirect(303, `/ui/login?next=${encodeURIComponent(req.originalUrl)}`);
  });
  r.get("/", async (req, res) => {
    const hosts = deps.hosts().hosts;
    const addr = addresses(hosts);
    const imgs = await sysimgs();
    const rows = hosts.map((h) => ({
      status: statusOf(h),
      address: addr[h.name]?.ansible_host as string | undefined,
      image: imgs.find((i) => i.host === h.name)?.name,
    }));
    res.type("html").send(hostsPage(rows, pageOpts(req)));
  });
  r.get("/hosts/:name", async (req, res) => {
    const h = hostNamed(String(req.params.name));
    const all = await sysimgs();
    const view = {
      host: h,
      status: statusOf(h),
      runs: store.runs(h.name),
      trace: store.obs.traceFor(h.macs),
      images: all.filter((i) => i.host === h.name),
      address: addresses([h])[h.name]?.ansible_host as string | undefined,
      choices: armChoices(
        h,
        all.map((i) => i.name),
      ),
      disarm: disarmText(h),
    };
    res.type("html").send(hostPage(view, pageOpts(req)));
  });
  r.get("/discovered", (req, res) => {
    const reg = deps.hosts();
    const list = store.obs.discovered((mac) => reg.byMac(mac) !== undefined);
    res.type("html").send(discoveredPage(list, pageOpts(req)));
  });
  r.get("/images", async (req, res) => {
    const cur = await deps.images.current();
    res.type("html").send(imagesPage(cur, await sysimgs(), pageOpts(req)));
  });
  r.use(errorPage);
  return r;
}

/** A refusal or a missing page as HTML; anything else goes on to the app's error handler. */
const errorPage: ErrorRequestHandler = (err, _req, res, next) => {
  if (!(err instanceof HttpError) || res.headersSent) return next(err);
  res
    .status(err.status)
    .type("html")
    .send(
      page(
        { title: `${err.status}` },
        html`<h1>${err.status}</h1>
          <p class="failure">${err.message}</p>
          <p><a href="/ui/">Hosts</a></p>`,
      ),
    );
};
