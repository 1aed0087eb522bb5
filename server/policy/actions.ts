// Next-boot actions (DESIGN.md "Next-boot actions"): the one vocabulary the
// CLI, the API, the store and the iPXE renderer share. Stored as text.

/** `local` boots the disk; every other action boots the RAM image in that mode. */
export type Action = "local" | "install" | "capture" | "rescue" | `deploy:${string}`;

const IMAGE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

export class ActionError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "ActionError";
  }
}

/** Parses "local", "install", "capture", "rescue" or "deploy:<image>"; throws naming the input. */
export function parseAction(text: string): Action {
  const t = text.trim();
  if (t === "local" || t === "install" || t === "capture" || t === "rescue") return t;
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
    `action "${text}": expected local, install, capture, rescue or deploy:<image>`,
  );
}
