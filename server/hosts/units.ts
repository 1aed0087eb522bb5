// Pure normalisers for sizes people write by hand in host files ("512MiB",
// "20G", 1048576). MACs have one parser for everything: server/policy/mac.ts.

const BINARY: Record<string, number> = { "": 1, k: 2 ** 10, m: 2 ** 20, g: 2 ** 30, t: 2 ** 40 };
const DECIMAL: Record<string, number> = { k: 1e3, m: 1e6, g: 1e9, t: 1e12 };

/**
 * Bytes from "512MiB", "20G", "1.5T", "500GB" or a plain number of bytes.
 * Bare K/M/G/T and KiB/MiB/GiB/TiB are powers of 1024 (as sgdisk and parted's
 * "+20G" read them); KB/MB/GB/TB are powers of 1000 (as disks are sold).
 * Returns a reason string on failure so the caller can name the field.
 */
export function parseSize(value: unknown): number | string {
  if (typeof value === "number") {
    return Number.isSafeInteger(value) && value >= 0 ? value : "a whole number of bytes";
  }
  if (typeof value !== "string") return 'a size such as "512MiB", "20G" or a number of bytes';
  const m = /^\s*(\d+(?:\.\d+)?)\s*([kmgt]?)(i?b?)\s*$/i.exec(value);
  if (!m) return `"${value}" is not a size such as "512MiB", "20G" or "500GB"`;
  const [, num = "", prefix = "", suffix = ""] = m;
  const p = prefix.toLowerCase();
  const s = suffix.toLowerCase();
  // "B" alone after a prefix means decimal (GB); "iB" or nothing means binary.
  const factor = s === "b" && p !== "" ? DECIMAL[p] : BINARY[p];
  if (factor === undefined || (s === "ib" && p === "") || (s === "i" && p !== "")) {
    return `"${value}" has an unknown unit (use K/M/G/T, KiB/MiB/GiB/TiB or KB/MB/GB/TB)`;
  }
  const bytes = Math.round(Number(num) * factor);
  return Number.isSafeInteger(bytes) ? bytes : `"${value}" is too large`;
}

/** Human form of a byte count for listings: 536870912 -> "512MiB", 9e11 -> "900GB". */
export function formatSize(bytes: number): string {
  const binary = ["B", "KiB", "MiB", "GiB", "TiB"];
  let v = bytes;
  let i = 0;
  while (v >= 1024 && i < binary.length - 1 && v % 1024 === 0) {
    v /= 1024;
    i++;
  }
  if (i >= 2 || bytes < 1000) return `${v}${binary[i]}`;
  // Not a round binary size: probably written in decimal units (disks).
  const decimal = ["B", "KB", "MB", "GB", "TB"];
  let d = bytes;
  let j = 0;
  while (d >= 1000 && j < decimal.length - 1) {
    d /= 1000;
    j++;
  }
  return `${Number(d.toFixed(1))}${decimal[j]}`;
}
