#!/usr/bin/env bash
# Installs everything the project needs on a fresh Debian 12 machine (root, Node 20 + npm):
# Debian packages for the kernel/e2e tests, the pinned pnpm, and the workspace's node modules.
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

want_pnpm=$(node -p "require('./package.json').packageManager.split('@')[1]")
have_pnpm=$(pnpm --version 2>/dev/null || true)
if [ "$have_pnpm" != "$want_pnpm" ]; then
  echo "bootstrap: installing pnpm@$want_pnpm" >&2
  npm install -g --silent "pnpm@$want_pnpm" >/dev/null
fi

# Skip the install when node_modules already matches the lockfile.
stamp=node_modules/.bootstrap-stamp
sum=$(cat pnpm-lock.yaml package.json */package.json packages/*/package.json 2>/dev/null | sha256sum | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$sum" ]; then
  if [ -f pnpm-lock.yaml ]; then
    pnpm install --frozen-lockfile --reporter=silent
  else
    pnpm install --reporter=silent
  fi
  echo "$sum" >"$stamp"
fi
