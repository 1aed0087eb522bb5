// MACs arrive as iPXE prints them (aa:bb:..), as BOOTIF (01-aa-bb-..), with
// hyphens or in upper case. One canonical form: lower case, colons.

const SIX =
  /^([0-9a-f]{2})[:-]?([0-9a-f]{2})[:-]?([0-9a-f]{2})[:-]?([0-9a-f]{2})[:-]?([0-9a-f]{2})[:-]?([0-9a-f]{2})$/;

/** Canonical "aa:bb:cc:dd:ee:ff", or undefined when `text` is not a MAC. */
export function normalizeMac(text: string): string | undefined {
  let t = text.trim().toLowerCase();
  // BOOTIF carries the ARP hardware type first: 01 = Ethernet.
  if (/^01-([0-9a-f]{2}-){5}[0-9a-f]{2}$/.test(t)) t = t.slice(3);
  const m = SIX.exec(t);
  return m ? m.slice(1, 7).join(":") : undefined;
}
