// A Gentoo-mirror-shaped HTTP upstream for the mirror-drop chaos scenario:
// serves a directory (the fixture mirror), and on the first request for a
// path matching --stall <regex>=<ms> sends half the body, pauses, then the
// rest; --hang <regex> sends half and never finishes. One line per event on
// stdout ("listening", "GET <path>", "PAUSE <path>", "RESUME <path>").
//   node --import tsx upstream.ts <root> <port> [--stall <re>=<ms>]... [--hang <re>]...
import { readFile } from "node:fs/promises";
import { createServer } from "node:http";
import { join } from "node:path";

const [root = "", port = "0", ...flags] = process.argv.slice(2);
const rules: Array<{ re: RegExp; ms: number; used: boolean }> = [];
for (let i = 0; i < flags.length; i += 2) {
  const v = flags[i + 1] ?? "";
  if (flags[i] === "--stall") {
    const at = v.lastIndexOf("=");
    rules.push({ re: new RegExp(v.slice(0, at)), ms: Number(v.slice(at + 1)), used: false });
  } else if (flags[i] === "--hang") rules.push({ re: new RegExp(v), ms: Infinity, used: false });
  else throw new Error(`upstream.ts: unknown flag ${flags[i]}`);
}

createServer((req, res) => {
  const rel = decodeURIComponent(new URL(req.url ?? "/", "http://x").pathname.slice(1));
  console.log(`GET ${rel}`);
  // Fire-and-forget: nothing in it rejects (a missing file is a 404).
  void (async () => {
    if (rel.includes("..")) return res.writeHead(400).end();
    const body = await readFile(join(root, rel)).catch(() => undefined);
    if (!body) return res.writeHead(404).end();
    res.writeHead(200, { "content-length": body.length });
    const rule = rules.find((r) => !r.used && r.re.test(rel));
    if (!rule) return res.end(body);
    rule.used = true;
    res.write(body.subarray(0, body.length >> 1));
    console.log(`PAUSE ${rel}`);
    if (rule.ms === Infinity) return;
    await new Promise((r) => setTimeout(r, rule.ms));
    res.end(body.subarray(body.length >> 1));
    console.log(`RESUME ${rel}`);
  })();
}).listen(Number(port), "127.0.0.1", () => console.log("listening"));
