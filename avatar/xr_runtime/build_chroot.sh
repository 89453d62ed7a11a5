#!/bin/sh
# Build (once) a Debian trixie chroot with Monado, the open OpenXR runtime, for the headset test.
# Monado is packaged in trixie, not in bookworm. The chroot is cached under the user cache
# (not the repository); a finished build is marked with .ready and reused.
#   usage: build_chroot.sh [DIR]     (default: ${XDG_CACHE_HOME:-~/.cache}/avatar-health-coach/monado-trixie)
set -eu
DIR="${1:-${XDG_CACHE_HOME:-$HOME/.cache}/avatar-health-coach/monado-trixie}"
MIRROR="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
PACKAGES="monado-service libopenxr1-monado libopenxr-loader1 mesa-vulkan-drivers libegl-mesa0 libgl1-mesa-dri libegl1 libgl1 libopengl0 python3 python3-venv python3-numpy"
[ -f "$DIR/.ready" ] && { echo "$DIR"; exit 0; }
[ "$(id -u)" = 0 ] || { echo "building the Monado chroot needs root (debootstrap, chroot)" >&2; exit 2; }
command -v debootstrap >/dev/null 2>&1 || \
  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends debootstrap; }
mkdir -p "$DIR"
if [ ! -x "$DIR/usr/bin/apt-get" ]; then
  debootstrap --variant=minbase trixie "$DIR" "$MIRROR"
fi
cleanup() { for m in tmp dev sys proc; do umount -l "$DIR/$m" 2>/dev/null || true; done; }
trap cleanup EXIT
mount -t proc proc "$DIR/proc"
mount --rbind /sys "$DIR/sys"
mount --make-rslave "$DIR/sys"  # unmounting later must not reach the host's mounts
mount --rbind /dev "$DIR/dev"
mount --make-rslave "$DIR/dev"  # unmounting later must not reach the host's mounts
mount -t tmpfs tmpfs "$DIR/tmp"
cp /etc/resolv.conf "$DIR/etc/resolv.conf" 2>/dev/null || true
chroot "$DIR" /bin/sh -c "apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $PACKAGES && apt-get clean"
touch "$DIR/.ready"
echo "$DIR"
