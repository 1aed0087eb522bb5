// Range request parsing (RFC 9110 section 14). One range is served as 206;
// several ranges are answered with the whole file (allowed by the RFC, and
// no netboot client asks for multipart).

export type RangeResult =
  | { kind: "none" }
  | { kind: "range"; start: number; end: number } // inclusive
  | { kind: "unsatisfiable" };

export function parseRange(header: string | undefined, size: number): RangeResult {
  if (!header) return { kind: "none" };
  const m = /^bytes=\s*(\d*)\s*-\s*(\d*)\s*$/.exec(header.trim());
  if (!m) return { kind: "none" }; // unknown unit or a list: ignore, serve all
  const [, a = "", b = ""] = m;
  if (a === "" && b === "") return { kind: "none" };
  if (a === "") {
    // suffix: the last N bytes
    const n = Number(b);
    if (n === 0 || size === 0) return { kind: "unsatisfiable" };
    return { kind: "range", start: Math.max(0, size - n), end: size - 1 };
  }
  const start = Number(a);
  if (start >= size) return { kind: "unsatisfiable" };
  const end = b === "" ? size - 1 : Math.min(Number(b), size - 1);
  if (end < start) return { kind: "none" }; // syntactically invalid: ignore the header
  return { kind: "range", start, end };
}
