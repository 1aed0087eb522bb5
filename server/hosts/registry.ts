// From the text of the files in a host folder to host entries, or to every
// problem found. Pure (no file system), so it is tested with literals; the
// folder reading lives in load.ts.
import { parseDocument } from "yaml";
import { GENTOO_RELEASE_KEY } from "../../payload/spec/schema.ts";
import { resolveInstallSpec } from "./resolve.ts";
import { hostFileSchema, type HostFile } from "./file-schema.ts";
import { checkAcrossHosts, checkHost, findPlaintextPasswords, type Issue } from "./checks.ts";
import { fromZod, formatIssue } from "./issues.ts";
import { mergeLayers, originOf, type Layer } from "./merge.ts";
import { parseSecrets, resolveSecrets } from "./secrets.ts";

export const DEFAULTS_NAME = "defaults";
export const SECRETS_NAME = "secrets";
const HOST_NAME = /^[a-z0-9][a-z0-9-]*$/;

export interface SourceFile {
  /** name without .yaml: a host, "defaults", or a "_partial" */
  name: string;
  /** path as it appears in messages, e.g. hosts/web1.yaml */
  file: string;
  text: string;
}

export interface BuiltHost {
  name: string;
  file: string;
  host: HostFile;
}

export interface BuildResult {
  hosts: BuiltHost[];
  errors: string[];
}

/** Which files are hosts: everything but defaults, secrets and _partials. */
export function isHostName(name: string): boolean {
  return name !== DEFAULTS_NAME && name !== SECRETS_NAME && !name.startsWith("_");
}

export function buildHosts(
  files: SourceFile[],
  secretsSource?: { file: string; text: string },
): BuildResult {
  const errors: string[] = [];
  const report = (file: string, issue: Issue) => {
    const line = formatIssue(file, issue);
    if (!errors.includes(line)) errors.push(line);
  };
  const docs = new Map<string, { file: string; data: Record<string, unknown> }>();
  for (const f of files) {
    const parsed = parseYaml(f.file, f.text);
    if ("issue" in parsed) report(f.file, parsed.issue);
    else docs.set(f.name, { file: f.file, data: parsed.data });
    if (isHostName(f.name) && !HOST_NAME.test(f.name)) {
      report(f.file, { path: [], message: "the file name must be a host name (a-z, 0-9, -)" });
    }
  }
  for (const { file, data } of docs.values()) {
    for (const issue of findPlaintextPasswords(data)) report(file, issue);
  }
  let secrets = new Map<string, string>();
  const secretsFile = secretsSource?.file ?? "the secrets file";
  if (secretsSource) {
    const parsed = parseYaml(secretsSource.file, secretsSource.text, true);
    if ("issue" in parsed) report(secretsSource.file, parsed.issue);
    else {
      const r = parseSecrets(parsed.data);
      secrets = r.secrets;
      r.issues.forEach((i) => report(secretsSource.file, i));
    }
  }

  const built: BuiltHost[] = [];
  for (const f of files) {
    // A bad file name is already reported; its contents are not checked.
    if (!isHostName(f.name) || !HOST_NAME.test(f.name) || !docs.has(f.name)) continue;
    const chain = layersFor(f.name, docs);
    if ("issue" in chain) {
      report(f.file, chain.issue);
      continue;
    }
    const merged = mergeLayers(chain.layers);
    const blame = (i: Issue) => originOf(merged.origins, i.path, f.file);
    const r = hostFileSchema.safeParse(merged.data);
    if (!r.success) {
      fromZod(r.error, merged.data).forEach((i) => report(blame(i), i));
      continue;
    }
    const withSecrets = resolveSecrets(r.data, secrets, secretsFile);
    withSecrets.issues.forEach((i) => report(blame(i), i));
    // Cross-field problems belong to the host: its combination of values is
    // wrong even when one of them was inherited.
    const crossField = checkHost(withSecrets.host);
    crossField.forEach((i) => report(f.file, i));
    if (withSecrets.issues.length === 0 && crossField.length === 0) {
      // Safety net: a host that validates must also resolve. Anything the
      // host schema misses surfaces here with the spec's field path.
      resolvable(f.name, f.file, withSecrets.host).forEach((line) => {
        if (!errors.includes(line)) errors.push(line);
      });
    }
    built.push({ name: f.name, file: f.file, host: withSecrets.host });
  }
  for (const { file, issue } of checkAcrossHosts(built)) report(file, issue);
  return { hosts: built, errors: sortByFile(errors) };
}

function resolvable(name: string, file: string, host: HostFile): string[] {
  const entry = { name, file, macs: host.macs, firmware: host.firmware, groups: [], raw: host };
  try {
    resolveInstallSpec(entry, {
      mirrorUrl: "http://automagic/mirror/",
      trustedKeys: [GENTOO_RELEASE_KEY],
    });
    return [];
  } catch (err) {
    return (err as Error).message.split("\n");
  }
}

function parseYaml(
  file: string,
  text: string,
  allowEmpty = false,
): { data: Record<string, unknown> } | { issue: Issue } {
  // uniqueKeys (the default) makes a repeated key an error: with YAML's
  // last-one-wins, a duplicated `macs:` would silently drop a machine.
  const doc = parseDocument(text);
  const err = doc.errors[0];
  if (err) {
    const line = err.linePos?.[0]?.line;
    const where = line ? ` at line ${line}` : "";
    const what = err.message.split("\n")[0]!.replace(/ at line \d+, column \d+:?$/, "");
    return { issue: { path: [], message: `YAML syntax error${where}: ${what}` } };
  }
  const data: unknown = doc.toJS();
  if (allowEmpty && (data === null || data === undefined)) return { data: {} };
  if (typeof data !== "object" || data === null || Array.isArray(data)) {
    return { issue: { path: [], message: "must be a YAML mapping (key: value lines)" } };
  }
  return { data: data as Record<string, unknown> };
}

/** defaults.yaml, then each `extends:` (depth first, in order), then the host itself. */
function layersFor(
  name: string,
  docs: Map<string, { file: string; data: Record<string, unknown> }>,
): { layers: Layer[] } | { issue: Issue } {
  const layers: Layer[] = [];
  const defaults = docs.get(DEFAULTS_NAME);
  if (defaults && name !== DEFAULTS_NAME) layers.push(strip(defaults));
  const visit = (n: string, stack: string[]): Issue | undefined => {
    const doc = docs.get(n)!;
    const ext = doc.data.extends;
    const parents = ext === undefined ? [] : Array.isArray(ext) ? ext : [ext];
    for (const [i, p] of parents.entries()) {
      const path = Array.isArray(ext) ? ["extends", i] : ["extends"];
      if (typeof p !== "string") return { path, message: "must name a file in the host folder" };
      if (stack.includes(p)) return { path, message: `cycle: ${[...stack, p].join(" -> ")}` };
      if (!docs.has(p)) return { path, message: `"${p}" is not a file in the host folder` };
      if (p === DEFAULTS_NAME) continue; // applied to every host already
      const inner = visit(p, [...stack, p]);
      if (inner) return inner;
    }
    layers.push(strip(doc));
    return undefined;
  };
  const issue = visit(name, [name]);
  return issue ? { issue } : { layers };
}

function strip(doc: { file: string; data: Record<string, unknown> }): Layer {
  const { extends: _e, $schema: _s, ...data } = doc.data;
  return { file: doc.file, data };
}

/** Groups messages by file (stable), so one file's problems read together. */
function sortByFile(lines: string[]): string[] {
  const fileOf = (l: string) => l.slice(0, l.indexOf(": "));
  return lines
    .map((l, i) => ({ l, i }))
    .sort((a, b) => fileOf(a.l).localeCompare(fileOf(b.l)) || a.i - b.i)
    .map((x) => x.l);
}
