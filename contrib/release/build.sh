#!/usr/bin/env bash
# make release: dist/automagic-<version>-linux-<arch>.tar.gz, a server that
# runs without this checkout: the CLI and server as one JS file (esbuild),
# better-sqlite3 with its compiled .node (the one native module), the systemd
# unit, install.sh and README.md. The netboot image is not in it: it is built
# in a checkout (make image) and copied to the server (README.md says how).
set -euo pipefail
cd "$(dirname "$0")/../.."

version=$(node -p 'require("./package.json").version')
arch=$(node -p process.arch)
name="automagic-$version-linux-$arch"
stage="build/release/$name"
rm -rf "$stage"
mkdir -p "$stage/bin" "$stage/lib" "$stage/share" dist

# Dependencies written in CommonJS call require(); an ES module has none, so
# the bundle makes one. better-sqlite3 stays outside: it loads a .node file.
npx esbuild server/cli/main.ts --bundle --platform=node --format=esm --target=node20 \
  --external:better-sqlite3 --legal-comments=none --log-level=warning \
  --banner:js="import { createRequire as __amRequire } from 'node:module'; const require = __amRequire(import.meta.url);" \
  --outfile="$stage/lib/automagic.mjs"
# Files the server reads next to its own module (new URL('./static/..', import.meta.url)).
if [ -d server/ui/static ]; then cp -r server/ui/static "$stage/lib/static"; fi

# better-sqlite3 at run time: lib/, its .node, and bindings (-> file-uri-to-path),
# which finds the .node. prebuild-install is only for npm install.
nm="$stage/node_modules"
mkdir -p "$nm/better-sqlite3/build/Release"
cp -r node_modules/better-sqlite3/{package.json,lib,LICENSE} "$nm/better-sqlite3/"
cp node_modules/better-sqlite3/build/Release/better_sqlite3.node "$nm/better-sqlite3/build/Release/"
for m in bindings file-uri-to-path; do cp -r "node_modules/$m" "$nm/$m"; done
# The .node is built for this Node's ABI; install.sh refuses another.
node -p 'process.versions.modules' >"$stage/share/node-abi"

cat >"$stage/bin/automagic" <<'WRAP'
#!/bin/sh
# automagic from a release: the bundled CLI and server on the system's node.
here=$(dirname "$(readlink -f "$0")")/..
exec node "$here/lib/automagic.mjs" "$@"
WRAP
chmod 755 "$stage/bin/automagic"
cp contrib/systemd/automagic.service "$stage/share/"
cp bin/check-node "$stage/share/check-node"
cp contrib/release/install.sh "$stage/install.sh"
cp contrib/release/README.md "$stage/README.md"
echo "$version" >"$stage/share/version"

tar --sort=name --owner=0 --group=0 --numeric-owner -C build/release -czf "dist/$name.tar.gz" "$name"
echo "dist/$name.tar.gz"
