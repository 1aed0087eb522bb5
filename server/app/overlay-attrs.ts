// The host file's `overlay.modes` (git keeps only the executable bit) as the
// packer's per-path attributes: "/etc/sudoers.d/wheel": "0440" ->
// { "etc/sudoers.d/wheel": { mode: 0o440 } }.
import type { HostEntry } from "../hosts/index.ts";
import type { OverlayAttrs } from "../overlay/scan.ts";

export function overlayAttrs(host: HostEntry): Record<string, OverlayAttrs> {
  const out: Record<string, OverlayAttrs> = {};
  for (const [path, mode] of Object.entries(host.raw.overlay?.modes ?? {})) {
    out[path.replace(/^\/+/, "")] = { mode: parseInt(mode, 8) };
  }
  return out;
}
