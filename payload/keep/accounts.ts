// Pure parsing of passwd/shadow/group files. Used twice: on the old root
// (what to keep) and on the freshly extracted stage3 (what to merge into).
export interface PasswdEntry {
  name: string;
  password: string;
  uid: number;
  gid: number;
  gecos: string;
  home: string;
  shell: string;
}
export interface ShadowEntry {
  name: string;
  hash: string;
  /** Fields 3..9 kept verbatim (last change, min, max, warn, ...). */
  rest: string[];
}
export interface GroupEntry {
  name: string;
  password: string;
  gid: number;
  members: string[];
}

function lines(text: string): string[] {
  return text.split("\n").filter((l) => l.trim() !== "" && !l.startsWith("#"));
}

function num(v: string | undefined, file: string, n: number, field: string): number {
  const x = Number(v);
  if (v === undefined || v === "" || !Number.isInteger(x) || x < 0) {
    throw new Error(`${file}: line ${n}: ${field} '${v ?? ""}' is not a number`);
  }
  return x;
}

export function parsePasswd(text: string, file = "passwd"): PasswdEntry[] {
  return lines(text).map((l, i) => {
    const p = l.split(":");
    if (p.length < 7) throw new Error(`${file}: line ${i + 1}: expected 7 fields, got ${p.length}`);
    return {
      name: p[0]!,
      password: p[1]!,
      uid: num(p[2], file, i + 1, "uid"),
      gid: num(p[3], file, i + 1, "gid"),
      gecos: p[4]!,
      home: p[5]!,
      shell: p.slice(6).join(":"),
    };
  });
}

export function parseShadow(text: string, file = "shadow"): ShadowEntry[] {
  return lines(text).map((l, i) => {
    const p = l.split(":");
    if (p.length < 2) throw new Error(`${file}: line ${i + 1}: expected at least 2 fields`);
    return { name: p[0]!, hash: p[1]!, rest: p.slice(2) };
  });
}

export function parseGroup(text: string, file = "group"): GroupEntry[] {
  return lines(text).map((l, i) => {
    const p = l.split(":");
    if (p.length < 4) throw new Error(`${file}: line ${i + 1}: expected 4 fields, got ${p.length}`);
    return {
      name: p[0]!,
      password: p[1]!,
      gid: num(p[2], file, i + 1, "gid"),
      members: p[3]! === "" ? [] : p[3]!.split(","),
    };
  });
}

export const formatPasswd = (es: PasswdEntry[]): string =>
  es
    .map((e) => [e.name, e.password, e.uid, e.gid, e.gecos, e.home, e.shell].join(":") + "\n")
    .join("");
export const formatShadow = (es: ShadowEntry[]): string =>
  es.map((e) => [e.name, e.hash, ...e.rest].join(":") + "\n").join("");
export const formatGroup = (es: GroupEntry[]): string =>
  es.map((e) => [e.name, e.password, e.gid, e.members.join(",")].join(":") + "\n").join("");

/** A shadow hash that can log in (not locked, not empty). */
export function usableHash(hash: string): boolean {
  return hash !== "" && !hash.startsWith("!") && hash !== "*";
}
