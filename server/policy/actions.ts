// Next-boot actions (DESIGN.md "Next-boot actions"): the one vocabulary the
// CLI, the API, the store and the iPXE renderer share. Stored as text.

/** `local` boots the disk; every other action boots the RAM image in that mode. */
export type Action =
  | "local"
  | "install"
  | "capture"
  | `capture:${string}`
  | "rescue"
  | "discover"
  | `deploy:${string}`;

export type SysimgStore = "home" | "server";

/**
 * Where a capture run writes: `capture:home`, `capture:server`,
 * `capture:home,server`; plain `capture` takes the host file's
 * postInstall.capture stores, else the server.
 */
export function captureStoresOf(
  action: Action,
  fallback: SysimgStore[] | undefined,
): SysimgStore[] | undefined {
  if (action === "capture") return fallback?.length ? fallback : ["server"];
  if (!action.startsWith("capture:")) return undefined;
  return action.slice("capture:".length).split(",") as SysimgStore[];
}

export const isCapture = (a: Action): boolean => a === "capture" || a.startsWith("capture:");

const IMAGE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

export class ActionError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "ActionError";
  }
}

/** Parses "local", "install", "capture", "rescue", "discover" or "deploy:<image>"; throws naming the input. */
export function parseAction(text: string): Action {
  const t = text.trim();
  if (t === "local" || t === "install" || t === "capture" || t === "rescue" || t === "discover")
    return t;
  if (t.startsWith("capture:")) {
    const to = t.slice("capture:".length).split(",");
    if (to.some((s) => s !== "home" && s !== "server") || new Set(to).size !== to.length)
      throw new ActionError(
        `action "${text}": capture stores are home, server or home,server (each once)`,
      );
    return `capture:${to.join(",")}`;
  }
  if (t.startsWith("deploy:")) {
    const image = t.slice("deploy:".length);
    // The image name travels on a kernel command line and into a path on the
    // target: no spaces, no slashes, no leading dot.
    if (!IMAGE_NAME.test(image)) {
      throw new ActionError(
        `action "${text}": deploy needs an image name of letters, digits, '.', '_' or '-'`,
      );
    }
    return `deploy:${image}`;
  }
  throw new ActionError(
    `action "${text}": expected local, install, capture[:home,server], rescue, discover or deploy:<image|latest|previous>`,
  );
}

/**
 * The run of a machine no host file claims (commissioning, serve.yaml
 * `commission.unknown`) is filed under this name: no host file name can
 * contain a colon, so it never meets a real host's runs.
 */
export const discoveredHost = (mac: string): string => `discovered:${mac}`;

/** The MAC of a discoveredHost() name; undefined for a real host. */
export function discoveredMac(host: string): string | undefined {
  return host.startsWith("discovered:") ? host.slice("discovered:".length) : undefined;
}
