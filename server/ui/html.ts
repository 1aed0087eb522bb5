// HTML for the console, escaped by construction: `html` is a tagged template
// whose interpolations are escaped unless they are already Html (built by
// `html` itself). Host files, trace details and run messages come from
// machines and people; none of it reaches a page unescaped.

export class Html {
  constructor(readonly text: string) {}
  toString(): string {
    return this.text;
  }
}

export type Part = Html | string | number | boolean | null | undefined | readonly Part[];

const ENTITIES: Record<string, string> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
  "'": "&#39;",
};

/** Text made safe for element content and quoted attribute values. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ENTITIES[c]!);
}

function render(p: Part): string {
  if (p instanceof Html) return p.text;
  if (Array.isArray(p)) return p.map(render).join("");
  if (p === null || p === undefined || p === false) return "";
  return escapeHtml(String(p));
}

export function html(strings: TemplateStringsArray, ...parts: Part[]): Html {
  let out = strings[0]!;
  parts.forEach((p, i) => (out += render(p) + strings[i + 1]!));
  return new Html(out);
}

export interface PageOptions {
  title: string;
  /** The nav entry to mark; absent on the login page (no nav). */
  nav?: "hosts" | "discovered" | "images";
  /** The session's CSRF value, for the page's script and the logout form. */
  csrf?: string;
  /** Show the logout button (a cookie session exists). */
  loggedIn?: boolean;
}

const NAV = [
  ["hosts", "/ui/", "Hosts"],
  ["discovered", "/ui/discovered", "Discovered"],
  ["images", "/ui/images", "Images"],
] as const;

/** A whole page: the one stylesheet and the one script, nothing from the network. */
export function page(o: PageOptions, body: Html): string {
  const nav = o.nav
    ? html`<nav>
        <strong>automagic</strong>
        ${NAV.map(
          ([key, href, label]) =>
            html`<a href="${href}" ${key === o.nav ? html` aria-current="page"` : ""}>${label}</a>`,
        )}
        ${
          o.loggedIn
            ? html`<form method="post" action="/ui/logout" class="logout">
                <input type="hidden" name="csrf" value="${o.csrf ?? ""}" /><button>Log out</button>
              </form>`
            : ""
        }
      </nav>`
    : "";
  return html`<!doctype html>
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <title>${o.title} · automagic</title>
        <link rel="icon" href="data:," />
        <link rel="stylesheet" href="/ui/static/console.css" />
        <script src="/ui/static/console.js" defer></script>
      </head>
      <body data-csrf="${o.csrf ?? ""}">
        ${nav}
        <main>${body}</main>
      </body>
    </html>`.text;
}

/** "2026-12-07 15:04:12Z" from epoch ms or an ISO string; "-" when absent. */
export function when(t: number | string | undefined): string {
  if (t === undefined) return "-";
  const d = new Date(t);
  return Number.isNaN(d.getTime())
    ? String(t)
    : d.toISOString().replace("T", " ").slice(0, 19) + "Z";
}

/** A state label ("running:install") as a badge the stylesheet colours by its first word. */
export function badge(state: string): Html {
  const kind = state.split(":")[0] ?? state;
  return html`<span class="badge ${kind}" data-state>${state}</span>`;
}

/** A table: the header cells, then rows (each a <tr>, see `row`). */
export function table(
  head: readonly string[],
  rows: readonly Html[],
  o: { cls?: string; bodyId?: string; live?: string } = {},
): Html {
  return html`<table${o.cls ? html` class="${o.cls}"` : ""}${o.live ? html` data-live="${o.live}"` : ""}>
    <thead>
      <tr>
        ${head.map((h) => html`<th>${h}</th>`)}
      </tr>
    </thead>
    <tbody${o.bodyId ? html` id="${o.bodyId}"` : ""}>
      ${rows}
    </tbody>
  </table>`;
}

/** A row of cells, each text (escaped) or Html. */
export function row(cells: readonly Part[]): Html {
  return html`<tr>
    ${cells.map((c) => html`<td>${c}</td>`)}
  </tr>`;
}
