// Gentoo `.DIGESTS` files (clearsigned), after gpg verified them:
//   # BLAKE2B HASH
//   <128 hex>  stage3-amd64-openrc-20241110T170333Z.tar.xz
//   # SHA512 HASH
//   <128 hex>  stage3-amd64-openrc-20241110T170333Z.tar.xz
// Older builds list the .CONTENTS.gz too, and some lines carry "./" or the
// sha512sum binary marker "*". Pure.

export type DigestAlgo = "SHA512" | "BLAKE2B";

export interface DigestEntry {
  algo: DigestAlgo;
  /** Lower-case hex. */
  hex: string;
  /** Base name of the file the digest is for. */
  file: string;
}

/** What a file must hash to. SHA512 is always present (we refuse a DIGESTS without it). */
export interface ExpectedDigests {
  sha512: string;
  blake2b?: string;
}

const HEX128 = /^[0-9a-f]{128}$/;

export function parseDigests(text: string, source = "DIGESTS"): DigestEntry[] {
  if (/^-----BEGIN PGP /m.test(text)) {
    throw new Error(
      `${source}: still clearsigned; pass the text gpg verified (verifyClearsigned().text)`,
    );
  }
  const out: DigestEntry[] = [];
  let algo: DigestAlgo | "other" | undefined;
  text.split("\n").forEach((raw, i) => {
    const line = raw.trim();
    if (line === "") return;
    const h = /^#\s*(\S+)\s+HASH\s*$/i.exec(line);
    if (h) {
      const name = (h[1] as string).toUpperCase();
      // Other algorithms (old builds had SHA1/MD5/WHIRLPOOL) are skipped, not trusted.
      algo = name === "SHA512" || name === "BLAKE2B" ? name : "other";
      return;
    }
    if (line.startsWith("#")) return;
    if (algo === undefined)
      throw new Error(`${source}: line ${i + 1}: digest before any "# <ALGO> HASH" header`);
    if (algo === "other") return;
    const m = /^([0-9a-fA-F]+)\s+\*?(\S+)$/.exec(line);
    if (!m)
      throw new Error(
        `${source}: line ${i + 1}: expected "<hex>  <file>", got ${JSON.stringify(line)}`,
      );
    const hex = (m[1] as string).toLowerCase();
    if (!HEX128.test(hex))
      throw new Error(`${source}: line ${i + 1}: ${algo} digest is not 128 hex digits`);
    const path = m[2] as string;
    out.push({ algo, hex, file: path.slice(path.lastIndexOf("/") + 1) });
  });
  return out;
}

/** The digests listed for `fileName`; throws when SHA512 is missing or two entries disagree. */
export function expectedDigests(
  entries: readonly DigestEntry[],
  fileName: string,
  source = "DIGESTS",
): ExpectedDigests {
  let sha512: string | undefined;
  let blake2b: string | undefined;
  for (const e of entries) {
    if (e.file !== fileName) continue;
    const prev = e.algo === "SHA512" ? sha512 : blake2b;
    if (prev !== undefined && prev !== e.hex)
      throw new Error(`${source}: two different ${e.algo} digests for ${fileName}`);
    if (e.algo === "SHA512") sha512 = e.hex;
    else blake2b = e.hex;
  }
  if (sha512 === undefined) throw new Error(`${source}: no SHA512 digest for ${fileName}`);
  return blake2b === undefined ? { sha512 } : { sha512, blake2b };
}

/** Undefined when `actual` matches every expected digest, else which one differs. */
export function digestMismatch(
  expected: ExpectedDigests,
  actual: { sha512: string; blake2b: string },
  fileName: string,
): string | undefined {
  if (expected.sha512 !== actual.sha512) {
    return `${fileName}: SHA512 mismatch: expected ${expected.sha512.slice(0, 16)}..., got ${actual.sha512.slice(0, 16)}...`;
  }
  if (expected.blake2b !== undefined && expected.blake2b !== actual.blake2b) {
    return `${fileName}: BLAKE2B mismatch: expected ${expected.blake2b.slice(0, 16)}..., got ${actual.blake2b.slice(0, 16)}...`;
  }
  return undefined;
}
