#!/bin/sh
# Makes the build's base image without any container registry: a `debootstrap --variant=minbase`
# root filesystem imported into podman's storage. The mirror and the apt sources are the host's
# own (so the image's apt-get sees the same suites, security updates included).
# Usage: base-image.sh IMAGE [SUITE]. Does nothing when IMAGE exists.
set -eu
IMAGE=$1 SUITE=${2:-bookworm} PODMAN=${PODMAN:-podman}
if $PODMAN image exists "$IMAGE"; then exit 0; fi

mirror() {
  if [ -f /etc/apt/sources.list.d/debian.sources ]; then
    awk '/^URIs:/ { print $2; exit }' /etc/apt/sources.list.d/debian.sources
  elif [ -f /etc/apt/sources.list ]; then
    awk '$1 == "deb" && $0 !~ /security/ { for (i = 2; i <= NF; i++) if ($i ~ /^[a-z]+:\/\//) { print $i; exit } }' /etc/apt/sources.list
  fi
}
MIRROR=$(mirror)
[ -n "$MIRROR" ] || { echo "base-image.sh: no Debian mirror in /etc/apt/sources.list{,.d}" >&2; exit 1; }

ROOT=$(mktemp -d /var/tmp/kubectl-tap-base.XXXXXX)
trap 'rm -rf "$ROOT" "$ROOT.log"' EXIT
echo "base image: debootstrap --variant=minbase $SUITE from $MIRROR" >&2
if ! debootstrap --variant=minbase "$SUITE" "$ROOT" "$MIRROR" >"$ROOT.log" 2>&1; then
  tail -n 20 "$ROOT.log" >&2
  exit 1
fi
# the host's sources replace debootstrap's one-line list (same mirror, plus updates and security)
if [ -f /etc/apt/sources.list.d/debian.sources ]; then
  rm -f "$ROOT/etc/apt/sources.list"
  cp /etc/apt/sources.list.d/debian.sources "$ROOT/etc/apt/sources.list.d/"
fi
rm -rf "$ROOT"/var/cache/apt/archives/*.deb "$ROOT"/var/lib/apt/lists/*
tar -C "$ROOT" -c . | $PODMAN import --change 'CMD ["/bin/bash"]' - "$IMAGE" >/dev/null
echo "base image: $IMAGE" >&2
