// The console's login. The admin token, typed once into the login form,
// becomes a cookie (HttpOnly, SameSite=Strict) that stands for the bearer
// token: a request carrying a valid one is given `Authorization: Bearer
// <token>` and admin-guard.ts then decides as for any client (Host, Origin,
// token). So the console and the admin API have one rule for who may ask.
//
// The cookie is not the token: "<issued ms>.<HMAC(token, issued)>", good for
// SESSION_MS and dead when the token changes. A change (any method but GET
// and HEAD) made with the cookie must also carry CSRF_HEADER (or, for the
// logout form, a `csrf` field) equal to HMAC(token, cookie), which only a
// page of ours was given: a cross-site page can neither read it nor, without
// a CORS preflight we never answer, send a custom header.
import { createHash, createHmac, timingSafeEqual } from "node:crypto";
import type { Request, RequestHandler, Response } from "express";
import { adminGuard } from "../http/admin-guard.ts";
import type { AppConfig } from "../http/deps.ts";
import { HttpError } from "../http/errors.ts";

export const SESSION_COOKIE = "automagic_session";
export const CSRF_HEADER = "x-automagic-csrf";
export const SESSION_MS = 12 * 3600_000;

type Access = Pick<AppConfig, "adminToken" | "adminTokenFile" | "allowedHosts">;

function mac(token: string, what: string): string {
  return createHmac("sha256", token).update(what).digest("base64url");
}

/** Equal-length digests, so the comparison takes the same time whatever is given. */
function same(a: string, b: string): boolean {
  const d = (s: string) => createHash("sha256").update(s).digest();
  return timingSafeEqual(d(a), d(b));
}

export function issueSession(token: string, now: number): string {
  return `${now}.${mac(token, `session:${now}`)}`;
}

export function sessionValid(token: string, cookie: string, now: number): boolean {
  const [t = "", sig = ""] = cookie.split(".", 2);
  const issued = Number(t);
  if (!/^\d{1,15}$/.test(t) || issued > now + 60_000 || now - issued > SESSION_MS) return false;
  return same(sig, mac(token, `session:${issued}`));
}

export function csrfFor(token: string, cookie: string): string {
  return mac(token, `csrf:${cookie}`);
}

/** One cookie's value out of a Cookie header (the header is bounded by Node's header limit). */
export function cookieValue(header: string | undefined, name: string): string | undefined {
  for (const part of (header ?? "").split(";")) {
    const eq = part.indexOf("=");
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

export function sessionCookie(value: string, req: Request, maxAgeS: number): string {
  const secure = req.secure ? "; Secure" : "";
  return `${SESSION_COOKIE}=${value}; Path=/; Max-Age=${maxAgeS}; HttpOnly; SameSite=Strict${secure}`;
}

/** The session a request carries, when valid for this server's token. */
export function sessionOf(access: Access, req: Request, now = Date.now()): string | undefined {
  const token = access.adminToken;
  const cookie = cookieValue(req.headers.cookie, SESSION_COOKIE);
  if (!token || !cookie || cookie.length > 200) return undefined;
  return sessionValid(token, cookie, now) ? cookie : undefined;
}

const SAFE = new Set(["GET", "HEAD"]);

/**
 * Mounted in front of the admin API and the console's pages: a valid session
 * cookie becomes the bearer token; a change made with it needs the CSRF value.
 * Requests without the cookie (the CLI) pass untouched.
 */
export function sessionAuth(config: Access): RequestHandler {
  return (req, _res, next) => {
    const session = sessionOf(config, req);
    if (!session || req.headers.authorization) return next();
    if (!SAFE.has(req.method)) {
      const given = req.headers[CSRF_HEADER] ?? (req.body as { csrf?: unknown } | undefined)?.csrf;
      if (typeof given !== "string" || !same(given, csrfFor(config.adminToken!, session)))
        throw new HttpError(
          403,
          "console: this change did not come with the page's CSRF value; reload the page; nothing was changed",
        );
    }
    req.headers.authorization = `Bearer ${config.adminToken}`;
    next();
  };
}

/**
 * admin-guard.ts's verdict for a console request: true (served), false (the
 * token is needed: show the login), or its 403 thrown (Host, Origin).
 */
export function admitted(config: Access, req: Request, res: Response): boolean {
  let ok = false;
  try {
    adminGuard({
      token: config.adminToken,
      tokenFile: config.adminTokenFile,
      allowedHosts: config.allowedHosts,
    })(req, res, () => (ok = true));
  } catch (err) {
    if (err instanceof HttpError && err.status === 401) return false;
    throw err;
  }
  return ok;
}
