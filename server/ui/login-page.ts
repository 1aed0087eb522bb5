// The login form: the admin token, once, for a session cookie (session.ts).
import { html, page } from "./html.ts";

export function loginPage(o: { error?: string; tokenFile?: string; next?: string }): string {
  return page(
    { title: "Log in" },
    html`<h1>automagic console</h1>
      <form method="post" action="/ui/login" class="login">
        <label
          >Admin token
          <input type="password" name="token" autocomplete="current-password" required autofocus
        /></label>
        <input type="hidden" name="next" value="${o.next ?? "/ui/"}" />
        <button>Log in</button>
      </form>
      ${o.error ? html`<p class="failure" role="alert">${o.error}</p>` : ""}
      <p>
        The token is the server's admin token (<code>adminToken</code> or
        <code>adminTokenFile</code> in the serve config, else the generated
        one${o.tokenFile ? html` in <code>${o.tokenFile}</code> on the server` : ""}).
      </p>`,
  );
}
