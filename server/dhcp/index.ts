// Public face of server/dhcp: `automagic serve` calls startDhcpServer(cfg, hooks).
export { startDhcpServer } from "./server.ts";
export type { DhcpHooks, DhcpServer, DhcpStats, DhcpTraceEvent } from "./hooks.ts";
export type { DhcpConfig } from "./config.ts";
export { parseDhcpConfig } from "./config.ts";
export { decode, encode, type DhcpPacket } from "./codec.ts";
