// Pure: GRUB's environment block (grub-editenv, load_env, save_env), as
// grub-core/lib/envblk.c reads and writes it: exactly 1024 bytes, the header
// line, `key=value` lines, '#' up to the end. A backslash or newline in a
// value is written with a backslash before it. GRUB's save_env rewrites the
// block in place and cannot grow the file, which is why its size is fixed.

export const GRUBENV_SIZE = 1024;
export const GRUBENV_HEADER = "# GRUB Environment Block\n";

export type GrubEnv = Record<string, string>;

/** The variables of a block, in file order; throws on a block GRUB would not load. */
export function parseGrubEnv(block: Buffer | string): GrubEnv {
  const text = typeof block === "string" ? block : block.toString("utf8");
  if (!text.startsWith(GRUBENV_HEADER))
    throw new Error(`grubenv: no "${GRUBENV_HEADER.trim()}" header`);
  const env: GrubEnv = {};
  let i = GRUBENV_HEADER.length;
  while (i < text.length) {
    if (text[i] === "#") {
      // A comment or the padding: skip to the next line.
      const nl = text.indexOf("\n", i);
      if (nl < 0) break;
      i = nl + 1;
      continue;
    }
    const eq = text.indexOf("=", i);
    if (eq < 0) break;
    const name = text.slice(i, eq);
    let value = "";
    let j = eq + 1;
    for (; j < text.length && text[j] !== "\n"; j++) {
      if (text[j] === "\\" && j + 1 < text.length) j++;
      value += text[j];
    }
    env[name] = value;
    i = j + 1;
  }
  return env;
}

/** A block of exactly GRUBENV_SIZE bytes holding `env`; throws when it does not fit. */
export function renderGrubEnv(env: GrubEnv): Buffer {
  let body = GRUBENV_HEADER;
  for (const [k, v] of Object.entries(env)) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(k)) throw new Error(`grubenv: bad variable name ${k}`);
    body += `${k}=${v.replace(/[\\\n]/g, (c) => `\\${c}`)}\n`;
  }
  const bytes = Buffer.from(body, "utf8");
  if (bytes.length > GRUBENV_SIZE)
    throw new Error(`grubenv: ${bytes.length} bytes do not fit in ${GRUBENV_SIZE}`);
  return Buffer.concat([bytes, Buffer.alloc(GRUBENV_SIZE - bytes.length, "#")]);
}
