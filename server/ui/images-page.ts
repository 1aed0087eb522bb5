// The netboot image the server hands out (images/current) and the system
// images captured from hosts (deploy:<name> sources).
import type { CurrentImage } from "../http/images.ts";
import type { SysImage } from "../sysimgs/store.ts";
import { imagesTable } from "./host-page.ts";
import { html, page, row, table, when, type PageOptions } from "./html.ts";

function netboot(cur: CurrentImage | undefined) {
  if (!cur)
    return html`<p>
      No <code>images/current</code> yet: <code>automagic image build</code> makes one.
    </p>`;
  return html`<dl class="facts">
      <dt>Id</dt>
      <dd>${cur.id}</dd>
      <dt>Kernel arguments</dt>
      <dd class="mono">${cur.kernelArgs ?? "(default)"}</dd>
      ${
        cur.warning
          ? html`<dt>Warning</dt>
              <dd class="note">${cur.warning}</dd>`
          : ""
      }
    </dl>
    ${table(
      ["File", "MiB", "Modified", "SHA-256"],
      Object.entries(cur.files).map(([name, f]) =>
        row([
          name,
          (f.size / 2 ** 20).toFixed(1),
          when(f.mtimeMs),
          html`<span class="mono">${f.sha256}</span>`,
        ]),
      ),
    )}`;
}

export function imagesPage(
  cur: CurrentImage | undefined,
  sysimgs: SysImage[],
  o: Omit<PageOptions, "title" | "nav">,
): string {
  return page(
    { ...o, title: "Images", nav: "images" },
    html`<h1>Images</h1>
      <section>
        <h2>Netboot image</h2>
        ${netboot(cur)}
      </section>
      <section>
        <h2>System images</h2>
        ${imagesTable(sysimgs)}
      </section>`,
  );
}
