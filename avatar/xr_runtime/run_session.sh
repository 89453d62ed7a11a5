#!/bin/sh
# Run the headless OpenXR session check inside the Monado chroot (see build_chroot.sh).
#   usage: run_session.sh CHROOT SOURCE_DIR OUT_DIR WHEEL_DIR
# The session client runs inside the chroot too (its python, the wheels downloaded on the
# host, installed offline), talking to monado-service over Monado's IPC socket.
# Monado: null compositor, simulated HMD; EGL on llvmpipe, no display.
set -eu
ROOT="$1"; SRC="$2"; OUT="$3"; WHEELS="$4"
[ "$(id -u)" = 0 ] || { echo "the Monado chroot needs root" >&2; exit 2; }
mkdir -p "$ROOT/src" "$ROOT/out" "$ROOT/wheels" "$OUT"
cleanup() {
  [ -n "${MONADO_PID:-}" ] && kill "$MONADO_PID" 2>/dev/null || true
  for m in wheels out src tmp dev sys proc; do umount -l "$ROOT/$m" 2>/dev/null || true; done
}
trap cleanup EXIT
mount -t proc proc "$ROOT/proc"
mount --rbind /sys "$ROOT/sys"
mount --make-rslave "$ROOT/sys"  # unmounting later must not reach the host's mounts
mount --rbind /dev "$ROOT/dev"
mount --make-rslave "$ROOT/dev"  # unmounting later must not reach the host's mounts
mount -t tmpfs tmpfs "$ROOT/tmp"
mount --bind "$SRC" "$ROOT/src"
mount --bind "$OUT" "$ROOT/out"
mount --bind "$WHEELS" "$ROOT/wheels"
if [ ! -f "$ROOT/opt/xrvenv/.ready" ]; then
  chroot "$ROOT" /bin/sh -c "python3 -m venv --system-site-packages /opt/xrvenv && \
    /opt/xrvenv/bin/pip install -q --no-index --no-deps /wheels/*.whl && touch /opt/xrvenv/.ready"
fi
ENV="XDG_RUNTIME_DIR=/tmp/xdg XRT_COMPOSITOR_NULL=1 SIMULATED_ENABLE=1 XRT_NO_STDIN=1 \
  VK_ICD_FILENAMES=/usr/share/vulkan/icd.d/lvp_icd.json EGL_PLATFORM=surfaceless PYOPENGL_PLATFORM=egl \
  XR_RUNTIME_JSON=/usr/share/openxr/1/openxr_monado.json PYTHONPATH=/src HOME=/tmp"
chroot "$ROOT" /bin/sh -c "mkdir -p /tmp/xdg && chmod 700 /tmp/xdg"
chroot "$ROOT" /usr/bin/env $ENV monado-service > "$OUT/monado.log" 2>&1 &
MONADO_PID=$!
i=0
until [ -S "$ROOT/tmp/xdg/monado_comp_ipc" ] || [ $i -ge 60 ]; do sleep 0.5; i=$((i + 1)); done
[ -S "$ROOT/tmp/xdg/monado_comp_ipc" ] || { echo "monado-service did not start; see $OUT/monado.log" >&2; exit 3; }
chroot "$ROOT" /usr/bin/env $ENV timeout 240 /opt/xrvenv/bin/python /src/avatar/xr_runtime/session_check.py /out
