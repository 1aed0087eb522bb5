// The single-file payload is the Node SEA runtime (node + a fixed loader,
// cached) with the JS bundle appended after the ELF image and a 32-byte
// trailer at the very end: a magic and the bundle's length. The loader
// (loader.cjs) reads its own file back, finds the bundle and imports it.
// Appending instead of re-injecting with postject makes a payload rebuild
// a copy and a write (< 1 s) instead of ~8 s of ELF surgery.

export const TRAILER_MAGIC = "AUTOMAGIC-BUNDLE"; // 16 bytes
export const TRAILER_LEN = 32;

/** Pure: the trailer for a bundle of `length` bytes. */
export function bundleTrailer(length: number): Buffer {
  if (!Number.isSafeInteger(length) || length < 0) throw new RangeError(`bundle length ${length}`);
  return Buffer.from(TRAILER_MAGIC + length.toString(16).padStart(16, "0"), "latin1");
}

/** Pure: the bundle length from a file's last 32 bytes, or undefined when there is no trailer. */
export function parseTrailer(tail: Uint8Array): number | undefined {
  if (tail.length !== TRAILER_LEN) return undefined;
  const text = Buffer.from(tail).toString("latin1");
  if (!text.startsWith(TRAILER_MAGIC)) return undefined;
  const hex = text.slice(TRAILER_MAGIC.length);
  return /^[0-9a-f]{16}$/.test(hex) ? parseInt(hex, 16) : undefined;
}
