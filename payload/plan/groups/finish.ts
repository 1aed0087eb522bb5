// Finish: the phase-2 first-boot hook, the token rotation phase 2 runs
// under, and unmounting the new root before the reboot.
import type { GroupPlanner } from "./context.ts";
import { step } from "./context.ts";

export const planFinish: GroupPlanner = ({ target }) => [
  step({
    id: "first-boot",
    group: "finish",
    title: "phase-2 first-boot hook",
    detail: [],
    action: { kind: "first-boot", target },
  }),
  step({
    id: "rotate-token",
    group: "finish",
    title: "rotate to the phase-2 token; store it, the server URL and this binary",
    detail: [],
    action: { kind: "rotate-token", target },
  }),
  step({
    id: "unmount",
    group: "finish",
    title: `unmount everything under ${target}`,
    detail: [],
    action: { kind: "unmount", target },
  }),
];
