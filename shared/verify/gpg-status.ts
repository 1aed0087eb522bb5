// Parses gpg's machine-readable `--status-fd` output and decides whether a
// signature is acceptable. Pure: no gpg runs here.
//
// Why status lines and not the exit code: gpg exits 0 for a good signature
// from ANY key in the keyring, including one an attacker got imported, and
// some wrappers mask non-zero codes (oddlama/gentoo-install#148). What we
// trust is a GOODSIG whose VALIDSIG names a pinned PRIMARY key fingerprint.
// Format reference: GnuPG doc/DETAILS, "Format of the --status-fd output".

/** One signature as gpg reported it (a NEWSIG line starts each one). */
export interface SignatureStatus {
  /** GOODSIG: cryptographically good, key not expired/revoked. */
  good: boolean;
  /** BADSIG: the data or signature was altered. */
  bad: boolean;
  /** EXPSIG: good, but the signature itself has expired. */
  expiredSig: boolean;
  /** EXPKEYSIG: good, but made by a key that has expired. */
  expiredKey: boolean;
  /** REVKEYSIG: good, but made by a revoked key. */
  revokedKey: boolean;
  /** ERRSIG: gpg could not check it; `errsigRc` 9 means the public key is missing. */
  errsig: boolean;
  errsigRc?: number;
  /** Long key id from GOODSIG/BADSIG/EXPKEYSIG/ERRSIG (the signing (sub)key). */
  keyId?: string;
  /** User id text from GOODSIG and friends, for messages only. */
  userId?: string;
  /** VALIDSIG field 1: fingerprint of the key (often a subkey) that signed. */
  signingFingerprint?: string;
  /** VALIDSIG field 10: fingerprint of the primary key. What we pin. */
  primaryFingerprint?: string;
  /** VALIDSIG signature creation time, seconds since the epoch. */
  created?: number;
}

/** Everything gpg said about one verification. */
export interface GpgStatus {
  signatures: SignatureStatus[];
  /** NO_PUBKEY key ids. */
  noPubkey: string[];
  /** NODATA / BADARMOR / other "nothing to verify" conditions. */
  noData: boolean;
  badArmor: boolean;
  /** Raw tokens seen, for error messages and debugging. */
  tokens: string[];
}

const PREFIX = "[GNUPG:] ";

function emptySig(): SignatureStatus {
  return {
    good: false,
    bad: false,
    expiredSig: false,
    expiredKey: false,
    revokedKey: false,
    errsig: false,
  };
}

/** Parses the text gpg wrote to its status fd. Unknown lines are kept in `tokens` only. */
export function parseGpgStatus(text: string): GpgStatus {
  const out: GpgStatus = {
    signatures: [],
    noPubkey: [],
    noData: false,
    badArmor: false,
    tokens: [],
  };
  let cur: SignatureStatus | undefined;
  // gpg emits NEWSIG before each signature, but older versions and gpgv may
  // omit it for the first one, so a signature token without one opens a new entry.
  const sig = (): SignatureStatus => {
    if (!cur) {
      cur = emptySig();
      out.signatures.push(cur);
    }
    return cur;
  };
  for (const raw of text.split("\n")) {
    const line = raw.replace(/\r$/, "");
    if (!line.startsWith(PREFIX)) continue;
    const [token = "", ...args] = line.slice(PREFIX.length).split(" ");
    out.tokens.push(token);
    const rest = args.slice(1).join(" ");
    switch (token) {
      case "NEWSIG":
        cur = emptySig();
        out.signatures.push(cur);
        break;
      case "GOODSIG":
        Object.assign(sig(), { good: true, keyId: args[0], userId: rest });
        break;
      case "BADSIG":
        Object.assign(sig(), { bad: true, keyId: args[0], userId: rest });
        break;
      case "EXPSIG":
        Object.assign(sig(), { expiredSig: true, keyId: args[0], userId: rest });
        break;
      case "EXPKEYSIG":
        Object.assign(sig(), { expiredKey: true, keyId: args[0], userId: rest });
        break;
      case "REVKEYSIG":
        Object.assign(sig(), { revokedKey: true, keyId: args[0], userId: rest });
        break;
      case "ERRSIG": {
        const rc = Number(args[5]);
        Object.assign(sig(), {
          errsig: true,
          keyId: args[0],
          errsigRc: Number.isFinite(rc) ? rc : undefined,
        });
        break;
      }
      case "VALIDSIG": {
        const s = sig();
        s.signingFingerprint = args[0]?.toUpperCase();
        // Field 10 (primary-key-fpr) is present in every gpg 2.x; without it
        // we cannot tell which primary key vouches, so it stays undefined.
        s.primaryFingerprint = args[9]?.toUpperCase();
        const created = Number(args[2]);
        if (Number.isFinite(created)) s.created = created;
        break;
      }
      case "NO_PUBKEY":
        if (args[0]) out.noPubkey.push(args[0].toUpperCase());
        break;
      case "NODATA":
        out.noData = true;
        break;
      case "BADARMOR":
        out.badArmor = true;
        break;
      default:
        break;
    }
  }
  return out;
}

export type SignatureDecision =
  | { ok: true; primaryFingerprint: string; signingFingerprint: string; created?: number }
  | { ok: false; reason: string };

const FPR = /^[0-9A-F]{40}$/;

/** Normalises "13EB BDBE ..." / lower-case fingerprints to 40 upper-case hex digits. */
export function normalizeFingerprint(fpr: string): string {
  const n = fpr.replace(/\s+/g, "").toUpperCase();
  if (!FPR.test(n)) throw new Error(`fingerprint ${JSON.stringify(fpr)}: not 40 hex digits`);
  return n;
}

/**
 * Accepts only when every signature gpg saw is good, and at least one has
 * GOODSIG + VALIDSIG whose PRIMARY key fingerprint is in `trusted`. Any bad,
 * expired, revoked or uncheckable signature rejects the whole file: a
 * mirror has no reason to serve such a thing beside a good one.
 */
export function acceptSignature(status: GpgStatus, trusted: readonly string[]): SignatureDecision {
  const pins = new Set(trusted.map(normalizeFingerprint));
  if (pins.size === 0) return { ok: false, reason: "no trusted fingerprints configured" };
  if (status.badArmor) return { ok: false, reason: "BADARMOR: the signature's armor is damaged" };
  if (status.signatures.length === 0) {
    return {
      ok: false,
      reason: status.noData ? "NODATA: no signature found" : "no signature in gpg status output",
    };
  }
  let accepted: SignatureDecision | undefined;
  for (const s of status.signatures) {
    const who = s.keyId ? `key ${s.keyId}${s.userId ? ` (${s.userId})` : ""}` : "unknown key";
    if (s.bad) return { ok: false, reason: `BADSIG from ${who}: data or signature altered` };
    if (s.expiredKey) return { ok: false, reason: `EXPKEYSIG: signing ${who} has expired` };
    if (s.expiredSig) return { ok: false, reason: `EXPSIG: signature by ${who} has expired` };
    if (s.revokedKey) return { ok: false, reason: `REVKEYSIG: signing ${who} is revoked` };
    if (s.errsig) {
      const why =
        s.errsigRc === 9 ? "public key not available (NO_PUBKEY)" : `rc=${s.errsigRc ?? "?"}`;
      return { ok: false, reason: `ERRSIG for ${who}: ${why}` };
    }
    if (!s.good) return { ok: false, reason: `no GOODSIG for ${who}` };
    if (!s.signingFingerprint || !s.primaryFingerprint) {
      return { ok: false, reason: `GOODSIG from ${who} without a VALIDSIG naming the primary key` };
    }
    // The GOODSIG key id is the low 64 bits of the signing key's fingerprint;
    // a mismatch means the lines do not describe the same signature.
    if (s.keyId && !s.signingFingerprint.endsWith(s.keyId.toUpperCase())) {
      return {
        ok: false,
        reason: `GOODSIG key ${s.keyId} does not match VALIDSIG ${s.signingFingerprint}`,
      };
    }
    if (!pins.has(s.primaryFingerprint)) {
      return {
        ok: false,
        reason: `VALIDSIG primary key ${s.primaryFingerprint} is not pinned (trusted: ${[...pins].join(", ")})`,
      };
    }
    accepted ??= {
      ok: true,
      primaryFingerprint: s.primaryFingerprint,
      signingFingerprint: s.signingFingerprint,
      ...(s.created !== undefined ? { created: s.created } : {}),
    };
  }
  return accepted ?? { ok: false, reason: "no acceptable signature" };
}
