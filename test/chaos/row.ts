// One row of the chaos table (test/chaos/run.sh). A scenario prints its rows
// with `row` and sets a non-zero exit code when a verdict is not ok.
export function row(scenario: string, done: string, measured: string, ok: boolean): void {
  const cell = (s: string) => s.replace(/\|/g, "\\|").replace(/\n/g, " ");
  console.log(`| ${cell(scenario)} | ${cell(done)} | ${cell(measured)} | ${ok ? "ok" : "FAIL"} |`);
  if (!ok) process.exitCode = 1;
}
