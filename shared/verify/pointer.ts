// The `latest-stage3-amd64-<variant>.txt` pointer file, after gpg verified
// it. Gentoo's format (releng scripts/copy_buildsync.sh):
//   # Latest as of Sun, 10 Nov 2024 17:01:46 +0000
//   # ts=1731258106
//   20241110T170333Z/stage3-amd64-openrc-20241110T170333Z.tar.xz 283688292
// Pure. Feed it the text gpg printed for the clearsigned file, never the raw
// file: text outside the signed block is not covered by the signature.

export interface Stage3Pointer {
  /** Relative to releases/amd64/autobuilds/, e.g. "20241110T170333Z/stage3-amd64-openrc-20241110T170333Z.tar.xz". */
  path: string;
  /** File name part of `path`. */
  fileName: string;
  /** Size in bytes as published. */
  size: number;
  /** Epoch seconds from "# ts=", when present. */
  ts?: number;
}

const STAMP = /^\d{8}T\d{6}Z$/;

/** Throws with `source: line N: reason` when the text is not a pointer for `variant`. */
export function parseLatestPointer(
  text: string,
  variant: string,
  source = "latest-stage3",
): Stage3Pointer {
  if (/^-----BEGIN PGP /m.test(text)) {
    throw new Error(
      `${source}: still clearsigned; pass the text gpg verified (verifyClearsigned().text)`,
    );
  }
  let ts: number | undefined;
  const entries: Stage3Pointer[] = [];
  const lines = text.split("\n");
  lines.forEach((raw, i) => {
    const line = raw.trim();
    if (line === "") return;
    if (line.startsWith("#")) {
      const m = /^#\s*ts=(\d+)$/.exec(line);
      if (m) ts = Number(m[1]);
      return;
    }
    const m = /^(\S+)\s+(\d+)$/.exec(line);
    if (!m)
      throw new Error(
        `${source}: line ${i + 1}: expected "<path> <bytes>", got ${JSON.stringify(line)}`,
      );
    const path = m[1] as string;
    const bad = unsafeStagePath(path, variant);
    if (bad) throw new Error(`${source}: line ${i + 1}: ${bad}: ${JSON.stringify(path)}`);
    const size = Number(m[2]);
    if (!Number.isSafeInteger(size) || size <= 0)
      throw new Error(`${source}: line ${i + 1}: bad size ${m[2]}`);
    entries.push({ path, fileName: path.slice(path.lastIndexOf("/") + 1), size });
  });
  if (entries.length !== 1) {
    throw new Error(`${source}: expected exactly one stage3 line, found ${entries.length}`);
  }
  const entry = entries[0] as Stage3Pointer;
  return ts === undefined ? entry : { ...entry, ts };
}

/** Why a pointer path is not a plain `<stamp>/stage3-amd64-<variant>-<stamp>.tar.xz`, or undefined. */
export function unsafeStagePath(path: string, variant: string): string | undefined {
  const parts = path.split("/");
  if (parts.length !== 2) return "path must be <build-stamp>/<file>";
  const [dir = "", file = ""] = parts;
  if (!STAMP.test(dir)) return "directory is not a YYYYMMDDTHHMMSSZ build stamp";
  const prefix = `stage3-amd64-${variant}-`;
  if (!file.startsWith(prefix)) return `file is not a stage3-amd64-${variant} tarball`;
  const rest = file.slice(prefix.length);
  const m = /^(\d{8}T\d{6}Z)\.tar\.xz$/.exec(rest);
  if (!m) return "file name must end in <build-stamp>.tar.xz";
  return undefined;
}
