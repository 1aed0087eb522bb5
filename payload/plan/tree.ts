// Pure: the plan as the tree `--dry-run` prints (and the golden files hold).
import type { Step } from "./types.ts";

export function planTree(header: string, steps: Step[]): string {
  const out = [header];
  const groups = [...new Set(steps.map((s) => s.group))];
  groups.forEach((g, gi) => {
    const lastG = gi === groups.length - 1;
    out.push(`${lastG ? "└─" : "├─"} ${g}`);
    const pre = lastG ? "   " : "│  ";
    const inGroup = steps.filter((s) => s.group === g);
    inGroup.forEach((s, si) => {
      const lastS = si === inGroup.length - 1;
      const mark = s.destructive ? " [DESTROYS DATA]" : "";
      out.push(`${pre}${lastS ? "└─" : "├─"} ${s.id}: ${s.title}${mark}`);
      const sub = pre + (lastS ? "   " : "│  ");
      for (const d of s.detail) out.push(`${sub}· ${d}`);
    });
  });
  return out.join("\n") + "\n";
}
