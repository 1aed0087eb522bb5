// A phase-2 test spec: the minimal valid spec plus what phase 2 acts on.
import { parseInstallSpec, type InstallSpec } from "../../../payload/spec/schema.ts";
import { minimalSpecInput } from "../../fakes/install-spec.ts";

export function phase2Spec(over: Record<string, unknown> = {}): InstallSpec {
  return parseInstallSpec({
    ...minimalSpecInput(),
    portage: {
      profile: "default/linux/amd64/23.0",
      packageUse: ["app-editors/vim -X", "www-servers/nginx ssl http2", "app-editors/vim -X"],
      acceptKeywords: ["app-misc/tmux ~amd64"],
      license: ["sys-kernel/linux-firmware linux-fw-redistributable"],
      mask: [">=dev-lang/python-3.14"],
    },
    packages: ["app-editors/vim", "www-servers/nginx", "@system-tools"],
    services: { enable: ["nginx", "sshd"], disable: ["dhcpcd"] },
    overlay: { present: true, protect: ["/etc/ssh/sshd_config"] },
    ...over,
  });
}
