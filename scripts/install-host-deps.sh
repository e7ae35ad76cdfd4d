#!/usr/bin/env bash
# Host packages the harness needs on a fresh Debian bookworm machine (idempotent).
# Cluster node: containerd, runc, CNI plugins, iptables/ipset/conntrack.
# Image builds: mmdebstrap, buildah. Backend tests: PostgreSQL 15, Redis.
set -euo pipefail
PACKAGES=(
  containerd runc containernetworking-plugins iptables ipset conntrack iproute2 kmod util-linux
  mmdebstrap buildah fuse-overlayfs uidmap catatonit
  postgresql-15 redis-server
  ca-certificates curl
)
missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "installing: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# Debian starts services on install where it can; the harness runs its own instances.
for svc in containerd postgresql redis-server; do
  pkill -f "^/usr/bin/$svc" 2>/dev/null || true
done
pkill -x redis-server 2>/dev/null || true
exit 0
