// Merging host file layers (defaults.yaml, `extends:` files, the host file)
// and remembering which file supplied each value, so an error in a value
// inherited from defaults.yaml names defaults.yaml and not the host.
import { formatPath } from "../../payload/spec/schema.ts";

export interface Layer {
  file: string;
  data: Record<string, unknown>;
}

export interface Merged {
  data: Record<string, unknown>;
  /** formatted path ("portage.makeConf") -> file that set it last */
  origins: Map<string, string>;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/**
 * Later layers win. Mappings merge key by key, unless their `mode` differs
 * (then the later one replaces the earlier); lists and scalars replace whole
 * (a host that lists `packages` means exactly that list — appending would
 * make it impossible to drop an inherited entry). `null` removes an
 * inherited value.
 */
export function mergeLayers(layers: Layer[]): Merged {
  const origins = new Map<string, string>();
  let data: Record<string, unknown> = {};
  for (const layer of layers) data = mergeInto(data, layer.data, layer.file, [], origins);
  return { data, origins };
}

function mergeInto(
  base: Record<string, unknown>,
  over: Record<string, unknown>,
  file: string,
  path: (string | number)[],
  origins: Map<string, string>,
): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(over)) {
    const p = [...path, key];
    if (value === null) {
      delete out[key];
      forget(origins, formatPath(p));
    } else if (isPlainObject(value)) {
      // A different `mode` (layout keep -> create, network dhcp -> static)
      // is a different shape: merging would mix fields of both.
      const base = out[key];
      const sameShape =
        isPlainObject(base) && (value.mode === undefined || value.mode === base.mode);
      if (!sameShape) forget(origins, formatPath(p));
      out[key] = mergeInto(sameShape ? base : {}, value, file, p, origins);
    } else {
      out[key] = value;
      forget(origins, formatPath(p));
      origins.set(formatPath(p), file);
    }
  }
  return out;
}

function forget(origins: Map<string, string>, prefix: string): void {
  for (const k of [...origins.keys()]) {
    if (k === prefix || k.startsWith(`${prefix}.`) || k.startsWith(`${prefix}[`)) origins.delete(k);
  }
}

/**
 * The file that supplied the value at `path`: the layer that set it or an
 * ancestor list/scalar; for a mapping, the one file all its values came
 * from. Anything else (a missing field, a mapping built from several files)
 * is blamed on `fallback`, the host file.
 */
export function originOf(
  origins: Map<string, string>,
  path: ReadonlyArray<PropertyKey>,
  fallback: string,
): string {
  for (let n = path.length; n > 0; n--) {
    const hit = origins.get(formatPath(path.slice(0, n)));
    if (hit !== undefined) return hit;
  }
  const prefix = formatPath(path);
  const files = new Set<string>();
  for (const [k, f] of origins) {
    if (path.length === 0 || k.startsWith(`${prefix}.`) || k.startsWith(`${prefix}[`)) files.add(f);
  }
  return files.size === 1 ? [...files][0]! : fallback;
}
