// Reads a host folder from disk and hands the texts to the pure builder.
import { lstat, readdir, readFile, readlink, stat } from "node:fs/promises";
import { join, resolve } from "node:path";
import { HostFileError } from "./errors.ts";
import { buildHosts, isHostName, SECRETS_NAME, type SourceFile } from "./registry.ts";
import { createRegistry, type HostEntry, type HostRegistry } from "./types.ts";

export interface LoadOptions {
  /** Default: $AUTOMAGIC_SECRETS, else <dir>/secrets.yaml if it exists. */
  secretsFile?: string;
}

export async function loadHostRegistry(dir: string, opts: LoadOptions = {}): Promise<HostRegistry> {
  let names: string[];
  try {
    names = (await readdir(dir)).sort();
  } catch (err) {
    throw new HostFileError([`${dir}: (root): cannot read the host folder`], { cause: err });
  }
  const files: SourceFile[] = [];
  const errors: string[] = [];
  for (const entry of names) {
    const m = /^(.+)\.ya?ml$/.exec(entry);
    if (!m || m[1] === SECRETS_NAME) continue;
    const file = join(dir, entry);
    files.push({ name: m[1]!, file, text: await readFile(file, "utf8") });
  }
  const secrets = await readSecrets(dir, opts);
  const built = buildHosts(files, secrets);
  errors.push(...built.errors);
  // An overlay folder whose host file is missing (renamed host, typo) would
  // otherwise be silently ignored; one that is a symlink is never followed.
  const hostNames = new Set(files.map((f) => f.name));
  const linked = new Set<string>();
  for (const entry of names) {
    if (entry.startsWith(".")) continue;
    const path = join(dir, entry);
    // web1.yaml may be a link to a file; a link to a folder stands in for one.
    const isDir = (await statOrUndefined(path))?.isDirectory() ?? false;
    const link = isDir ? await linkTarget(path) : undefined;
    if (link !== undefined) {
      linked.add(entry);
      errors.push(`${path}: (root): a symlink (to ${link}); host folders must be real folders`);
    } else if (isDir && !hostNames.has(entry)) {
      errors.push(`${path}/: (root): a folder without ${path}.yaml`);
    }
  }
  const hosts: HostEntry[] = [];
  for (const b of built.hosts) {
    if (!isHostName(b.name) || linked.has(b.name)) continue;
    const overlay = resolve(dir, b.name, "files");
    const link = await linkTarget(overlay);
    if (link !== undefined) {
      errors.push(`${overlay}: (root): a symlink (to ${link}); the overlay must be a real folder`);
      continue;
    }
    const isDir = (await lstatOrUndefined(overlay))?.isDirectory() ?? false;
    for (const p of Object.keys(b.host.overlay?.modes ?? {})) {
      if (!(await statOrUndefined(join(overlay, p)))?.isFile()) {
        errors.push(`${b.file}: overlay.modes.${p}: no such file in ${join(dir, b.name, "files")}`);
      }
    }
    hosts.push({
      name: b.name,
      file: b.file,
      macs: b.host.macs,
      firmware: b.host.firmware,
      ...(isDir ? { overlayDir: overlay } : {}),
      groups: b.host.inventory?.groups ?? [],
      raw: b.host,
    });
  }
  if (errors.length > 0) throw new HostFileError(errors);
  return createRegistry(resolve(dir), hosts);
}

async function readSecrets(
  dir: string,
  opts: LoadOptions,
): Promise<{ file: string; text: string } | undefined> {
  const explicit = opts.secretsFile ?? process.env.AUTOMAGIC_SECRETS;
  const file = explicit ?? join(dir, `${SECRETS_NAME}.yaml`);
  try {
    return { file, text: await readFile(file, "utf8") };
  } catch (err) {
    if (explicit === undefined && (err as NodeJS.ErrnoException).code === "ENOENT")
      return undefined;
    throw new HostFileError([`${file}: (root): cannot read the secrets file`], { cause: err });
  }
}

/**
 * Where `p` points if it is a symlink. Host folders and files/ that are links
 * are refused, never followed: `hosts/web1/files -> /root/.ssh` would pack
 * the server's own files into web1's overlay.
 */
async function linkTarget(p: string): Promise<string | undefined> {
  return (await lstatOrUndefined(p))?.isSymbolicLink() ? readlink(p) : undefined;
}

async function lstatOrUndefined(p: string) {
  try {
    return await lstat(p);
  } catch {
    return undefined;
  }
}

async function statOrUndefined(p: string) {
  try {
    return await stat(p);
  } catch {
    return undefined;
  }
}
