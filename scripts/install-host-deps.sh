#!/usr/bin/env bash
# Host packages the harness needs on a fresh Debian bookworm machine (idempotent).
# Cluster node: containerd, runc, CNI plugins, iptables/ipset/conntrack.
# Image builds: mmdebstrap, buildah. Backend tests: PostgreSQL 15, Redis.
set -euo pipefail
PACKAGES=(
  containerd runc containernetworking-plugins iptables ipset conntrack iproute2 kmod util-linux
  mmdebstrap buildah fuse-overlayfs uidmap catatonit
  postgresql-15 redis-server
  prometheus prometheus-alertmanager
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
  # Debian starts some of them as services on install; the harness runs its own instances.
  # Only processes with Debian's default command lines are stopped, never the harness's.
  for pattern in '^/usr/bin/containerd$' '^/usr/lib/postgresql/15/bin/postgres -D /var/lib/postgresql' \
                 '^/usr/bin/redis-server 127.0.0.1:6379' '^/usr/bin/prometheus( |$)' '^/usr/bin/prometheus-alertmanager( |$)'; do
    pkill -f "$pattern" 2>/dev/null || true
  done
fi
exit 0
