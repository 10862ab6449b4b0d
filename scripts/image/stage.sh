#!/bin/sh
# Build stage of the Dockerfile: lays out the image's /app from the prebuilt dist/ (see docs/image.md).
#   stage.sh <dist> <out>
# /app gets every executable of dist/bin with its hardlinks (aws-cni + egress-cni; aws-k8s-agent + one name
# per program of the multi-call executable, as it lists them itself, which also proves it runs on this base),
# the CNI plugins the conflist chains (from Debian's containernetworking-plugins), and dist/bpf if present
# (the network policy agent's compiled eBPF objects).
set -eu
dist=$1
out=$2
app=$out/app
mkdir -p "$app"
for f in aws-cni aws-k8s-agent; do
  [ -x "$dist/bin/$f" ] || { echo "stage: $dist/bin/$f is missing; run pnpm build first" >&2; exit 1; }
done
cp -a "$dist/bin/." "$app/"
"$app/aws-k8s-agent" --list-programs >"$out/programs"
while read -r p; do
  [ -e "$app/$p" ] || ln "$app/aws-k8s-agent" "$app/$p"
done <"$out/programs"
rm "$out/programs"
[ -e "$app/egress-cni" ] || ln "$app/aws-cni" "$app/egress-cni"
for p in loopback portmap host-local bandwidth tuning; do
  cp /usr/lib/cni/$p "$app/$p"
done
if [ -d "$dist/bpf" ]; then
  mkdir -p "$app/bpf"
  cp -a "$dist/bpf/." "$app/bpf/"
fi
CNI_COMMAND=VERSION "$app/aws-cni" </dev/null >/dev/null
ls -la "$app"
