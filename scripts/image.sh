#!/usr/bin/env bash
# `pnpm image`: builds the vpc-cni-ts image into dist/image/vpc-cni-ts.oci.tar (see docs/image.md). The test
# command (scripts/run-tests.mjs) runs it too, beside the unit and kernel tests, for the as-deployed e2e tests.
# No registry here: the Debian base is made locally with debootstrap and imported into buildah's storage under
# the BASE_IMAGE name; buildah (daemonless) builds the Dockerfile with layer caching and writes an OCI archive.
# Everything reused between runs (the base tarball, buildah's storage with the base and the cached layers) is in
# one directory outside the work tree: $VPC_CNI_IMAGE_CACHE, default /var/cache/vpc-cni-ts/image (a CI that keeps it
# between runs skips the base step).
# Pointing it at an empty directory makes a cold build that shares nothing with the default one.
# Needs root. buildah and debootstrap (scripts/apt/image.txt) come with bootstrap; installed here if missing.
set -euo pipefail
cd "$(dirname "$0")/.."

SUITE=bookworm
CACHE=${VPC_CNI_IMAGE_CACHE:-/var/cache/vpc-cni-ts/image}
VERSION=$(node -p "require('./package.json').version")
IMAGE=localhost/vpc-cni-ts:$VERSION
OUT=dist/image/vpc-cni-ts.oci.tar
say() { echo "image: $*" >&2; }

if [ "$(id -u)" != 0 ]; then
  say "needs root (debootstrap and buildah)"
  exit 1
fi

# Tools: the Debian packages of scripts/apt/image.txt (bootstrap installs them; `bash scripts/image.sh` alone too).
mapfile -t tools < <(sed -e 's/#.*//' -e 's/[[:space:]]//g' scripts/apt/image.txt | grep -v '^$')
missing=()
for p in "${tools[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  say "installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# The Debian mirror this machine's apt uses (the only package source reachable here); DEBIAN_MIRROR overrides.
mirror=${DEBIAN_MIRROR:-}
if [ -z "$mirror" ]; then
  mirror=$(grep -h -E '^(URIs:|deb )' /etc/apt/sources.list.d/*.sources /etc/apt/sources.list 2>/dev/null \
    | grep -v -- '-security' | head -1 | sed -E 's/^URIs:[[:space:]]*//; s/^deb[[:space:]]+(\[[^]]*\][[:space:]]+)?//; s/[[:space:]].*$//' || true)
fi
[ -n "$mirror" ] || { say "no Debian mirror found in /etc/apt; set DEBIAN_MIRROR"; exit 1; }

# ---- the base: a minimal bookworm, keyed by what makes it -------------------------------------------------------
base_recipe="suite=$SUITE variant=minbase mirror=$mirror trim=1"
base_key=$(printf '%s' "$base_recipe" | sha256sum | cut -c1-12)
BASE_IMAGE=localhost/vpc-cni-ts-base:$SUITE-$base_key
base_tar=$CACHE/base-$SUITE-$base_key.tar
mkdir -p "$CACHE"
# buildah's own storage (layers, the base image) lives in the cache directory too, so one directory holds
# everything a later run reuses, and another VPC_CNI_IMAGE_CACHE is a fully separate (cold) build. Its run-time
# state (locks) goes under /run, one directory per cache.
runroot=/run/vpc-cni-ts-image/$(printf '%s' "$(realpath "$CACHE")" | sha256sum | cut -c1-12)
bah() { buildah --root "$CACHE/storage" --runroot "$runroot" "$@"; }
# One build per cache at a time: two work trees building at once would retag localhost/vpc-cni-ts:<version>
# under each other, and one could write the other's image into its archive.
exec 9>"$CACHE/.lock"
if ! flock -n 9; then
  say "waiting for another build using $CACHE"
  flock 9
fi
t0=$(date +%s)
if bah inspect --type image "$BASE_IMAGE" >/dev/null 2>&1; then
  say "base $BASE_IMAGE: cached"
else
  if [ ! -f "$base_tar" ]; then
    say "base: debootstrap --variant=minbase $SUITE from $mirror (first run only)"
    root=$(mktemp -d "$CACHE/rootfs.XXXXXX")
    trap 'rm -rf "$root"' EXIT
    debootstrap --variant=minbase "$SUITE" "$root" "$mirror" >"$CACHE/debootstrap.log" 2>&1 \
      || { say "debootstrap failed; see $CACHE/debootstrap.log"; exit 1; }
    # What an image never uses: package caches and lists, docs, man pages, locales.
    rm -rf "$root"/var/cache/apt/* "$root"/var/lib/apt/lists/* "$root"/usr/share/doc/* "$root"/usr/share/man/* \
      "$root"/usr/share/info/* "$root"/usr/share/locale/* "$root"/var/log/* "$root"/tmp/*
    # apt in the image: the same mirror, no recommends, nothing kept.
    printf 'deb %s %s main\n' "$mirror" "$SUITE" >"$root/etc/apt/sources.list"
    printf 'APT::Install-Recommends "false";\nAPT::Install-Suggests "false";\n' >"$root/etc/apt/apt.conf.d/90vpc-cni"
    tar --numeric-owner --xattrs -C "$root" -cf "$base_tar.tmp" .
    mv "$base_tar.tmp" "$base_tar"
    rm -rf "$root"
    trap - EXIT
  fi
  say "base: importing $base_tar as $BASE_IMAGE"
  ctr=$(bah from scratch)
  bah add --quiet "$ctr" "$base_tar" / >/dev/null
  bah config --cmd /bin/bash --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin "$ctr"
  bah commit --quiet --rm "$ctr" "$BASE_IMAGE" >/dev/null
fi
t1=$(date +%s)

for f in dist/bin/aws-cni dist/bin/aws-k8s-agent; do
  [ -x "$f" ] || { say "$f is missing: run pnpm build first"; exit 1; }
done

# ---- the image ---------------------------------------------------------------------------------------------------
# The context is the repository, less what the Dockerfile does not read (.containerignore).
say "building $IMAGE (BASE_IMAGE=$BASE_IMAGE)"
bah build --quiet --layers --network host --isolation chroot \
  --build-arg "BASE_IMAGE=$BASE_IMAGE" -t "$IMAGE" -f Dockerfile . >"$CACHE/build.log" 2>&1 \
  || { cat "$CACHE/build.log" >&2; say "buildah build failed"; exit 1; }
t2=$(date +%s)
# Smoke check of the result: the programs answer on the image's own userland.
ctr=$(bah from --quiet "$IMAGE")
check() { bah run --isolation chroot "$ctr" -- "$@" 2>&1; }
pods=$(check /app/max-pods-calculator --instance-type m5.large --cni-version 1.19.0)
ipt=$(check iptables-legacy --version)
cni=$(check env CNI_COMMAND=VERSION /app/aws-cni)
bah rm "$ctr" >/dev/null
[ "$pods" = 29 ] || { say "smoke check: max-pods-calculator answered '$pods', expected 29"; exit 1; }
case "$ipt" in *legacy*) ;; *) say "smoke check: iptables-legacy --version answered '$ipt'"; exit 1 ;; esac
case "$cni" in *supportedVersions*) ;; *) say "smoke check: aws-cni VERSION answered '$cni'"; exit 1 ;; esac
say "smoke check: max-pods-calculator, iptables-legacy, aws-cni VERSION answer in the image"

mkdir -p dist/image
# The archive is rewritten (gzip of every layer, about a minute here) only when the image changed.
id=$(bah inspect --type image --format '{{.FromImageID}}' "$IMAGE")
if [ -f "$OUT" ] && [ "$(cat "$OUT.id" 2>/dev/null)" = "$id" ]; then
  say "$OUT already holds image $id"
else
  rm -f "$OUT" "$OUT.id"
  bah push --quiet "$IMAGE" "oci-archive:$OUT:$IMAGE" >/dev/null
  echo "$id" >"$OUT.id"
fi
t3=$(date +%s)
unpacked=$(bah images --format '{{.Size}}' "$IMAGE")
archive_mib=$(( ($(stat -c %s "$OUT") + 524288) / 1048576 ))
say "wrote $OUT: ${archive_mib} MiB compressed, $unpacked unpacked; base $((t1 - t0)) s, build $((t2 - t1)) s, archive $((t3 - t2)) s"
echo "{\"image\":\"$IMAGE\",\"archive\":\"$OUT\",\"archive_mib\":$archive_mib,\"unpacked\":\"$unpacked\",\"base_s\":$((t1 - t0)),\"build_s\":$((t2 - t1)),\"archive_s\":$((t3 - t2))}"
