# syntax=docker/dockerfile:1
# The vpc-cni-ts image: one image for the aws-node DaemonSet's three containers (the aws-vpc-cni-init init
# container, the aws-node container and the aws-network-policy-agent container), because all the programs are
# names of two single executables (see docs/build.md); three images would carry the same ~105 MiB runtime three
# times. Details, sizes and how to build: docs/image.md. `pnpm image` builds it here with buildah.
#
# BASE_IMAGE: a Debian 12 (bookworm) image with apt. `pnpm image` makes a minimal one locally with debootstrap
# (there is no registry on the build machines); elsewhere debian:bookworm-slim does.
ARG BASE_IMAGE=debian:bookworm-slim

# ---- build stage ---------------------------------------------------------------------------------------------
# The executables are built by `pnpm build` (Node single executables, which need the workspace's node_modules
# and the pinned Node runtime); this stage takes them prebuilt from the build context's dist/, so the image
# build needs no npm access. It lays out /out/app, checks that the executables run on the base, and collects
# the CNI plugins the conflist chains and the CA bundle.
FROM ${BASE_IMAGE} AS build
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      containernetworking-plugins ca-certificates \
 && rm -rf /var/lib/apt/lists/*
COPY dist/ /ctx/dist/
COPY scripts/image/stage.sh /ctx/stage.sh
RUN sh /ctx/stage.sh /ctx/dist /out

# ---- runtime stage -------------------------------------------------------------------------------------------
FROM ${BASE_IMAGE}
# iptables: both backends (iptables-legacy and iptables-nft, from the one Debian package); the wrapper picks the
# node's at first use. libbpf1: the network policy agent's eBPF loader. Nothing else is installed: the
# executables carry their runtime; they need only libc, libstdc++ and libgcc_s, which the base has.
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends iptables libbpf1 \
 && apt-get clean \
 && rm -rf /var/lib/apt/lists/* /var/cache/apt/* /var/log/apt /var/log/dpkg.log \
      /usr/share/doc /usr/share/man /usr/share/info /usr/share/locale /usr/share/lintian
COPY scripts/image/iptables-wrapper /usr/sbin/iptables-wrapper
RUN for c in iptables iptables-save iptables-restore ip6tables ip6tables-save ip6tables-restore; do \
      ln -sfn iptables-wrapper "/usr/sbin/$c"; \
    done
# The CA bundle only (Node reads it when NODE_EXTRA_CA_CERTS names it), not ca-certificates and its openssl.
COPY --from=build /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY --from=build /out/ /
ENV PATH=/app:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
WORKDIR /app
# The aws-node container's program; the init container and the policy agent container name theirs (see
# deploy/aws-k8s-cni.yaml).
ENTRYPOINT ["/app/aws-vpc-cni"]
