#!/usr/bin/env bash
# Runs a command with the project's pinned Node runtime (installed by scripts/bootstrap.sh into .tools/node)
# first on PATH, so pnpm, vitest, tsx and the single-executable build all run on it, whatever node the machine has.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
if [ ! -x "$root/.tools/node/bin/node" ]; then
  echo "with-node: $root/.tools/node/bin/node is missing; run: bash scripts/bootstrap.sh" >&2
  exit 1
fi
export PATH="$root/.tools/node/bin:$PATH"
exec "$@"
