#!/usr/bin/env bash
# `npm test`'s static checks: lint and typecheck at the same time (eslint is one thread; turbo's typecheck leaves a
# core idle while its last packages finish), each one's output shown whole once both are done. Fails when either
# fails, naming which.
set -uo pipefail
cd "$(dirname "$0")/.."
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
started=$(date +%s)
pnpm -s lint >"$out/lint" 2>&1 &
lint=$!
pnpm -s typecheck >"$out/typecheck" 2>&1 &
typecheck=$!
wait "$lint"
lint_rc=$?
wait "$typecheck"
typecheck_rc=$?
cat "$out/lint" "$out/typecheck"
echo "checks: lint exit $lint_rc, typecheck exit $typecheck_rc ($(($(date +%s) - started)) s, side by side)"
[ "$lint_rc" = 0 ] && [ "$typecheck_rc" = 0 ]
