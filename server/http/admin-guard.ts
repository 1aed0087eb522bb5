// Who may use /api/v1/admin. Three checks, in this order:
//  1. Host: a browser tricked by DNS rebinding sends the attacker's name
//     (Host: evil.example) to our address; only names we know are served.
//  2. Origin: a page of another origin (a cross-site form POST to `wake`)
//     is refused; the CLI sends no Origin.
//  3. The bearer token. `serve` always has one (configured, or generated
//     into the state folder); without one (tests that build the app as a
//     value) only loopback clients are served.
// A loopback client that sent a nonce and no token is told where the token
// file is, with a proof that this server holds that token (see tokenProof),
// so the CLI on the server host needs no configuration.
import { createHmac, timingSafeEqual } from "node:crypto";
import { isIP } from "node:net";
import type { Request, RequestHandler } from "express";
import { HttpError } from "./errors.ts";

export interface AdminAccess {
  /** When set, every admin request needs `Authorization: Bearer <token>`. */
  token?: string;
  /** The file `token` was read from; told to loopback clients (see above). */
  tokenFile?: string;
  /** Host names served besides loopback names and IP addresses (http.allowedHosts, serverUrl's). */
  allowedHosts?: readonly string[];
}

/** The header a client without a token sends to ask where the token is. */
export const NONCE_HEADER = "x-automagic-nonce";

export function isLoopback(addr: string | undefined): boolean {
  if (!addr) return false;
  return addr === "::1" || addr.startsWith("127.") || addr.startsWith("::ffff:127.");
}

/** "Example.org:8080" -> "example.org", "[::1]:80" -> "::1". */
export function hostnameOf(host: string): string {
  const h = host.trim().toLowerCase();
  if (h.startsWith("[")) return h.slice(1).split("]")[0]!;
  return h.replace(/:\d*$/, "").replace(/\.$/, "");
}

/**
 * An IP address as Host is safe: DNS rebinding needs a name the attacker
 * controls, and a page can only send our address as Host by being on our
 * own origin. Names are served only when loopback or listed.
 */
export function hostAllowed(hostname: string, allowed: readonly string[] = []): boolean {
  if (isIP(hostname) !== 0) return true;
  if (hostname === "localhost" || hostname.endsWith(".localhost")) return true;
  return allowed.some((a) => hostnameOf(a) === hostname);
}

/** Why a request carrying `origin` is refused, or undefined when it is ours (or absent). */
export function originProblem(origin: string | undefined, host: string): string | undefined {
  if (origin === undefined) return undefined;
  let from: string | undefined;
  try {
    from = new URL(origin).host;
  } catch {
    from = undefined;
  }
  if (from !== undefined && from === host.toLowerCase()) return undefined;
  return `admin API: refusing a request from the web page at ${origin}; nothing was changed`;
}

/** HMAC of the client's nonce and the port it connected to, keyed by the token. */
export function tokenProof(token: string, nonce: string, port: number): string {
  return createHmac("sha256", token).update(`${nonce}:${port}`).digest("hex");
}

function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

function checkHost(req: Request, allowed: readonly string[]): void {
  const host = req.headers.host;
  if (!host) throw new HttpError(403, "admin API: the request has no Host header");
  const name = hostnameOf(host);
  if (!hostAllowed(name, allowed))
    throw new HttpError(
      403,
      `admin API: Host "${name}" is not served; add it to http.allowedHosts in the serve config ` +
        "(loopback names, IP addresses and the serverUrl host are always served)",
    );
  const bad = originProblem(req.headers.origin, host);
  if (bad) throw new HttpError(403, bad);
}

export function adminGuard(access: AdminAccess): RequestHandler {
  const { token, tokenFile, allowedHosts = [] } = access;
  return (req, res, next) => {
    checkHost(req, allowedHosts);
    const loopback = isLoopback(req.socket.remoteAddress);
    if (!token) {
      if (!loopback)
        throw new HttpError(
          403,
          "admin API is loopback-only; configure an admin token to expose it",
        );
      return next();
    }
    const h = req.headers.authorization ?? "";
    const given = h.startsWith("Bearer ") ? h.slice(7).trim() : "";
    if (sameSecret(given, token)) return next();
    const nonce = req.headers[NONCE_HEADER];
    if (loopback && tokenFile && typeof nonce === "string" && nonce.length >= 16 && !given) {
      res.status(401).json({
        error: `admin API: bearer token required; it is in ${tokenFile} on this host`,
        tokenFile,
        proof: tokenProof(token, nonce, req.socket.localPort ?? 0),
      });
      return;
    }
    throw new HttpError(
      401,
      "admin API: bearer token required (--admin-token or AUTOMAGIC_ADMIN_TOKEN)",
    );
  };
}
