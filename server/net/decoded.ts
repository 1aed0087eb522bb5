// What every wire codec's decode() returns. Bytes from the network are
// untrusted: a datagram that does not parse is an ordinary outcome on the
// receive path, not an exceptional one, so it comes back as a value the loop
// counts and drops. No throw/catch per bad packet (a fuzzer or a broken ROM
// sends thousands), no stack captured, and the type makes every caller
// handle the failure instead of hoping an outer catch does.
export type Decoded<P, Detail = unknown> =
  { ok: true; packet: P } | ({ ok: false; reason: string } & Detail);
