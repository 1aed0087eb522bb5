// Run tokens: 192 random bits, base64url (safe on a kernel command line and
// in a URL path). Only the SHA-256 is stored, so a copy of the state file
// does not hand out live credentials.
import { randomBytes } from "node:crypto";
import { sha256 } from "../../shared/hash.ts";

export function mintToken(): string {
  return randomBytes(24).toString("base64url");
}

export function hashToken(token: string): string {
  return sha256(token);
}

/** Shape check before touching the store: anything else is simply unknown. */
export function looksLikeToken(text: string): boolean {
  return /^[A-Za-z0-9_-]{32}$/.test(text);
}
