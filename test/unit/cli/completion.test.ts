// The completion scripts come from the program itself and really complete:
// bash runs its function on COMP_WORDS; zsh parses its script and runs its
// function on `words` with _describe stubbed (when zsh is installed).
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { bashCompletion, zshCompletion } from "../../../server/cli/completion.ts";
import { buildProgram } from "../../../server/cli/program.ts";

/** Sources `script` in `shell`, types `words` after `automagic`, returns what is offered. */
function offered(shell: "bash" | "zsh", words: string[]): string[] {
  const dir = mkdtempSync(join(tmpdir(), "am-completion-"));
  try {
    const file = join(dir, "_automagic");
    const program = buildProgram();
    writeFileSync(file, shell === "bash" ? bashCompletion(program) : zshCompletion(program));
    if (shell === "zsh") execFileSync("zsh", ["-n", file]);
    const typed = words.map((w) => `'${w}'`).join(" ");
    const call =
      shell === "bash"
        ? `COMP_WORDS=(automagic ${typed}); COMP_CWORD=${words.length}; _automagic; printf '%s\\n' "\${COMPREPLY[@]}"`
        : `_describe() { print -l -- "\${reply[@]%%:*}"; }; words=(automagic ${typed}); CURRENT=${words.length + 1}; _automagic`;
    const out = execFileSync(shell, ["-c", `source "$1"; ${call}`, "complete", file], {
      encoding: "utf8",
    });
    return out.split("\n").filter(Boolean).sort();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const HOSTS_SUBCOMMANDS = ["discovered", "draft", "list", "render", "schema", "validate"];

test("completion bash: subcommands, nested subcommands, options and choices", () => {
  const complete = (words: string[]) => offered("bash", words);
  assert.deepEqual(complete(["ho"]), ["hosts"]);
  assert.deepEqual(complete(["hosts", "l"]), ["list"]);
  assert.deepEqual(complete(["hosts", "dr"]), ["draft"]);
  assert.deepEqual(complete(["hosts", "draft", "--j"]), ["--json"]);
  assert.deepEqual(complete(["inventory", "--j"]), ["--json"]);
  assert.deepEqual(complete(["hosts", ""]), HOSTS_SUBCOMMANDS);
  assert.deepEqual(complete(["status", "--j"]), ["--json"]);
  assert.ok(complete(["next", "web1", "--"]).includes("--server"));
  assert.deepEqual(complete(["completion", ""]), ["bash", "zsh"]);
  assert.ok(complete([""]).includes("events"));
});

test(
  "completion zsh: the command path picks what is offered",
  {
    skip: !existsSync("/usr/bin/zsh"),
  },
  () => {
    // _describe filters by the typed prefix itself; the stub shows all candidates
    assert.deepEqual(offered("zsh", ["hosts", "l"]), HOSTS_SUBCOMMANDS);
    assert.ok(offered("zsh", ["status", "--j"]).includes("--json"));
    assert.deepEqual(offered("zsh", ["completion", ""]), ["bash", "zsh"]);
  },
);

test("completion: a command added to the program completes without editing a script", () => {
  const p = buildProgram();
  p.command("frobnicate").option("--twice", "do it twice");
  assert.match(bashCompletion(p), /frobnicate/);
  assert.match(zshCompletion(p), /'--twice:do it twice'/);
});
