// The one MAC parser. MACs arrive as iPXE prints them (aa:bb:..), as BOOTIF
// (01-aa-bb-..), in host files in any common notation (hyphens, Cisco's
// 5254.00ab.cdef, bare hex), in upper case. One canonical form: lower case,
// colons. Mixed separators are a typo, not a MAC.

const FORMS = [
  /^([0-9a-f]{2}):([0-9a-f]{2}):([0-9a-f]{2}):([0-9a-f]{2}):([0-9a-f]{2}):([0-9a-f]{2})$/,
  /^([0-9a-f]{2})-([0-9a-f]{2})-([0-9a-f]{2})-([0-9a-f]{2})-([0-9a-f]{2})-([0-9a-f]{2})$/,
  /^([0-9a-f]{2})([0-9a-f]{2})\.([0-9a-f]{2})([0-9a-f]{2})\.([0-9a-f]{2})([0-9a-f]{2})$/,
  /^([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/,
];

/** Canonical "aa:bb:cc:dd:ee:ff", or undefined when `text` is not a MAC. */
export function normalizeMac(text: string): string | undefined {
  let t = text.trim().toLowerCase();
  // BOOTIF carries the ARP hardware type first: 01 = Ethernet.
  if (/^01-([0-9a-f]{2}-){5}[0-9a-f]{2}$/.test(t)) t = t.slice(3);
  for (const re of FORMS) {
    const m = re.exec(t);
    if (m) return m.slice(1).join(":");
  }
  return undefined;
}
