#!/usr/bin/env bash
# Builds the container image from ./Dockerfile with podman and checks it:
# its configuration, what it holds, and that its server trains, predicts,
# answers the HEALTHCHECK and stops cleanly on SIGTERM.
#
#   deploy/image_test.sh [--clean]
#
# Runs as root on Debian 12 without a Docker engine or a registry (CI's
# machine); deploy/README.md explains each step:
#   - base images are made locally: debootstrap --variant=minbase bookworm,
#     imported as docker.io/library/debian:bookworm and :bookworm-slim
#     (the rootfs tarballs are cached in $CACHE_DIR, default
#     ${XDG_CACHE_HOME:-$HOME/.cache}/modelserver, so a second run is fast);
#   - podman build --isolation=chroot --format docker (docker format keeps
#     HEALTHCHECK, which the OCI format drops);
#   - podman run is refused on these machines (crun: setrlimit RLIMIT_NOFILE),
#     so the server runs from the container's mounted rootfs: podman create +
#     podman mount + chroot --userspec=UID:GID, with the image's env, working
#     directory and entrypoint, in network and mount namespaces of its own
#     (unshare): the image's listen addresses (0.0.0.0:50051, :8080, :9464)
#     and its HEALTHCHECK command are used exactly as configured, on a
#     read-only root with the model volume writable.
# The image modelserver:test is kept (the next build reuses its layers) unless
# --clean. Environment: IMAGE (default localhost/modelserver:test),
# CACHE_DIR, DEBIAN_MIRROR (default: the first URIs of
# /etc/apt/sources.list.d/debian.sources), MODELSERVER_MARCH (build arg).
# Exit status 0 when every check passed, 1 otherwise.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

IMAGE=${IMAGE:-localhost/modelserver:test}
CACHE_DIR=${CACHE_DIR:-${XDG_CACHE_HOME:-${HOME:-/root}/.cache}/modelserver}
CLEAN=0
for arg in "$@"; do
  case "$arg" in
    --clean) CLEAN=1 ;;
    -h|--help) sed -n '2,/^[^#]/{/^#/s/^# \{0,1\}//p}' "$0"; exit 0 ;;
    *) echo "usage: deploy/image_test.sh [--clean]" >&2; exit 2 ;;
  esac
done

# ---- output and timing -----------------------------------------------------
T_START=$(date +%s.%N)
PHASE="" ; PHASE_T0=""
PHASES=()
log()  { echo "image_test: $*" >&2; }
fail() { echo "image_test: FAIL${PHASE:+ [$PHASE]}: $*" >&2; exit 1; }
ok()   { echo "image_test:   ok  $*" >&2; }
elapsed() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }'; }
phase() {  # phase NAME: ends the running phase (prints its time), starts NAME
  if [ -n "$PHASE" ]; then
    local dt; dt=$(elapsed "$PHASE_T0")
    PHASES+=("$(printf '%-16s %7ss' "$PHASE" "$dt")")
    log "-- $PHASE took ${dt}s"
  fi
  PHASE=$1; PHASE_T0=$(date +%s.%N)
  [ -n "$PHASE" ] && log "== $PHASE"
  return 0
}
PY=/usr/bin/python3

# ---- state for cleanup -------------------------------------------------------
WORK=""; CTR=""; MNT=""; SRV_WRAPPER=""; SRV_PID=""
cleanup() {
  local rc=$?
  set +e
  if [ -n "$SRV_WRAPPER" ]; then
    # The server (pid from its pid file), then unshare, which waits for it.
    [ -z "$SRV_PID" ] && [ -s "$WORK/server.pid" ] && SRV_PID=$(cat "$WORK/server.pid")
    [ -n "$SRV_PID" ] && kill -KILL "$SRV_PID" 2>/dev/null
    kill -KILL "$SRV_WRAPPER" 2>/dev/null
    wait "$SRV_WRAPPER" 2>/dev/null
  fi
  if [ -n "$CTR" ]; then
    [ -n "$MNT" ] && podman umount "$CTR" >/dev/null 2>&1
    podman rm -f -v "$CTR" >/dev/null 2>&1
  fi
  if [ $rc -ne 0 ] && [ -n "$WORK" ] && [ -f "$WORK/server.log" ]; then
    echo "image_test: server log (last 30 lines):" >&2
    tail -n 30 "$WORK/server.log" >&2
  fi
  if [ -n "$WORK" ]; then
    if [ $rc -eq 0 ]; then rm -rf "$WORK"; else echo "image_test: logs kept in $WORK" >&2; fi
  fi
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---- 1. tools ----------------------------------------------------------------
phase tools
[ "$(id -u)" -eq 0 ] || fail "must run as root (podman mount, chroot, debootstrap, unshare)"
need=(podman debootstrap unshare nsenter chroot ip "$PY")
missing=()
for c in "${need[@]}"; do command -v "$c" >/dev/null || missing+=("$c"); done
if [ ${#missing[@]} -gt 0 ]; then
  log "missing ${missing[*]}: running scripts/setup.sh"
  bash scripts/setup.sh
  for c in "${need[@]}"; do command -v "$c" >/dev/null || fail "$c still missing after scripts/setup.sh"; done
fi
ok "$(podman --version), debootstrap $(dpkg-query -W -f='${Version}' debootstrap 2>/dev/null || echo '?')"
WORK=$(mktemp -d /tmp/modelserver-image-test.XXXXXX)

# ---- 2. base images (debootstrap, cached) --------------------------------------
phase base-images
mirror=${DEBIAN_MIRROR:-}
if [ -z "$mirror" ] && [ -f /etc/apt/sources.list.d/debian.sources ]; then
  mirror=$(awk '$1 == "URIs:" { print $2; exit }' /etc/apt/sources.list.d/debian.sources)
fi
mirror=${mirror:-http://deb.debian.org/debian}
mkdir -p "$CACHE_DIR"
FULL_TAR=$CACHE_DIR/debian-bookworm-minbase.tar
SLIM_TAR=$CACHE_DIR/debian-bookworm-slim.tar
if [ -s "$FULL_TAR" ] && [ -s "$SLIM_TAR" ]; then
  ok "cached rootfs tarballs in $CACHE_DIR"
else
  rootfs=$CACHE_DIR/rootfs.tmp
  rm -rf "$rootfs"
  log "debootstrap --variant=minbase bookworm from $mirror (log: $WORK/debootstrap.log)"
  if ! debootstrap --variant=minbase bookworm "$rootfs" "$mirror" >"$WORK/debootstrap.log" 2>&1; then
    tail -n 20 "$WORK/debootstrap.log" >&2
    rm -rf "$rootfs"
    fail "debootstrap failed"
  fi
  # Like Debian's official images: the host's apt sources (deb822, with
  # updates and security), no package lists, no caches, no host files.
  if [ -f /etc/apt/sources.list.d/debian.sources ]; then
    cp /etc/apt/sources.list.d/debian.sources "$rootfs/etc/apt/sources.list.d/debian.sources"
    rm -f "$rootfs/etc/apt/sources.list"
  fi
  rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/*.bin \
         "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/log/* "$rootfs"/tmp/*
  rm -f "$rootfs/etc/resolv.conf" "$rootfs/etc/hostname"
  tar --numeric-owner -C "$rootfs" -cf "$FULL_TAR.tmp" . && mv "$FULL_TAR.tmp" "$FULL_TAR"
  # bookworm-slim: as Debian's slim images, dpkg leaves out documentation,
  # manual pages and translations (copyright files stay).
  cat >"$rootfs/etc/dpkg/dpkg.cfg.d/docker" <<'EOF'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/groff/*
path-exclude /usr/share/info/*
path-exclude /usr/share/lintian/*
path-exclude /usr/share/linda/*
path-exclude /usr/share/locale/*
EOF
  find "$rootfs/usr/share/doc" -mindepth 1 -not -name copyright -not -type d -delete
  find "$rootfs/usr/share/doc" -mindepth 1 -type d -empty -delete
  rm -rf "$rootfs"/usr/share/{man,groff,info,lintian,linda,locale}/*
  tar --numeric-owner -C "$rootfs" -cf "$SLIM_TAR.tmp" . && mv "$SLIM_TAR.tmp" "$SLIM_TAR"
  rm -rf "$rootfs"
  ok "debootstrap done: $(du -h "$FULL_TAR" | cut -f1) / $(du -h "$SLIM_TAR" | cut -f1) (full / slim) in $CACHE_DIR"
fi
# Re-importing would give a new image id and so rebuild everything: import
# only when the image is missing or is not the one made from this tarball.
import_base() {  # import_base REF TARBALL
  local ref=$1 tar=$2 stamp="$CACHE_DIR/$(echo "$1" | tr '/:' '__').id"
  local sum have id
  sum=$(stat -c '%s-%Y' "$tar")
  have=$(podman image inspect --format '{{.Id}}' "$ref" 2>/dev/null || true)
  if [ -n "$have" ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$sum $have" ]; then
    ok "$ref present (${have:0:12})"
    return
  fi
  id=$(podman import --change 'CMD ["bash"]' \
        --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
        "$tar" "$ref" 2>"$WORK/import.log") || { cat "$WORK/import.log" >&2; fail "podman import $ref"; }
  id=$(podman image inspect --format '{{.Id}}' "$ref")
  echo "$sum $id" >"$stamp"
  ok "imported $ref (${id:0:12})"
}
import_base docker.io/library/debian:bookworm "$FULL_TAR"
import_base docker.io/library/debian:bookworm-slim "$SLIM_TAR"

# ---- 3. image build ----------------------------------------------------------
phase image-build
build_args=(--build-arg "REVISION=$(git -C "$ROOT" rev-parse HEAD 2>/dev/null || echo unknown)")
src=$(git -C "$ROOT" remote get-url origin 2>/dev/null || true)
[ -n "$src" ] && build_args+=(--build-arg "SOURCE=$src")
[ -n "${MODELSERVER_MARCH+x}" ] && build_args+=(--build-arg "MODELSERVER_MARCH=$MODELSERVER_MARCH")
log "podman build --isolation=chroot --format docker -t $IMAGE . (log, kept if it fails: $WORK/build.log)"
if ! podman build --isolation=chroot --format docker --layers --pull=never \
      "${build_args[@]}" -t "$IMAGE" -f Dockerfile . >"$WORK/build.log" 2>&1; then
  tail -n 40 "$WORK/build.log" >&2
  fail "podman build failed"
fi
cached=$(grep -c "Using cache" "$WORK/build.log" || true)
log "$cached build steps came from the layer cache"
hits=$(grep -m1 -E '^ *Hits:' "$WORK/build.log" | tr -s ' ' || true)
[ -n "$hits" ] && log "compiler cache (ccache) $hits"
ok "built $IMAGE ($(podman image inspect --format '{{.Id}}' "$IMAGE" | cut -c1-12))"

# ---- 4. image configuration ----------------------------------------------------
phase image-config
podman image inspect "$IMAGE" >"$WORK/inspect.json"
"$PY" - "$WORK/inspect.json" <<'EOF' || fail "image configuration (see above)"
import json, sys
img = json.load(open(sys.argv[1]))[0]
cfg = img.get("Config") or {}
bad = []
def check(what, got, want):
    if got != want:
        bad.append(f"{what}: got {got!r}, want {want!r}")
    else:
        print(f"image_test:   ok  {what} = {got!r}", file=sys.stderr)
check("User", cfg.get("User"), "10001:10001")
check("ExposedPorts", sorted((cfg.get("ExposedPorts") or {}).keys()),
      ["50051/tcp", "8080/tcp", "9464/tcp"])
check("Entrypoint", cfg.get("Entrypoint"), ["/usr/local/bin/modelserver"])
check("Cmd", cfg.get("Cmd"), None)
check("WorkingDir", cfg.get("WorkingDir"), "/var/lib/modelserver")
check("Volumes", sorted((cfg.get("Volumes") or {}).keys()), ["/var/lib/modelserver/models"])
check("StopSignal", cfg.get("StopSignal"), "SIGTERM")
hc = img.get("Healthcheck") or cfg.get("Healthcheck") or {}
check("Healthcheck.Test", hc.get("Test"),
      ["CMD", "/usr/local/bin/modelctl", "--server", "127.0.0.1:50051", "health"])
env = dict(e.split("=", 1) for e in cfg.get("Env") or [])
for k, v in {"MODELSERVER_LISTEN": "0.0.0.0:50051",
             "MODELSERVER_HTTP_LISTEN": "0.0.0.0:8080",
             "MODELSERVER_METRICS_LISTEN": "0.0.0.0:9464",
             "MODELSERVER_MODEL_DIR": "/var/lib/modelserver/models"}.items():
    check(f"Env {k}", env.get(k), v)
labels = cfg.get("Labels") or {}
p = "org.opencontainers.image."
check("label title", labels.get(p + "title"), "modelserver")
check("label version", labels.get(p + "version"), "0.1.0")
for k in ("description", "source", "revision"):
    if p + k not in labels:
        bad.append(f"label {p}{k} missing")
if not labels.get(p + "description"):
    bad.append("label description is empty")
for b in bad:
    print(f"image_test:   BAD {b}", file=sys.stderr)
sys.exit(1 if bad else 0)
EOF

# ---- 5. image contents ---------------------------------------------------------
phase image-contents
CTR=$(podman create --name "modelserver-image-test-$$" "$IMAGE")
MNT=$(podman mount "$CTR")
[ -d "$MNT/usr/local/bin" ] || fail "podman mount gave $MNT without /usr/local/bin"
for b in modelserver modelctl; do
  [ -x "$MNT/usr/local/bin/$b" ] || fail "/usr/local/bin/$b missing or not executable"
  [ "$(stat -c %u "$MNT/usr/local/bin/$b")" = 0 ] || fail "/usr/local/bin/$b not owned by root"
  if chroot "$MNT" /usr/bin/ldd "/usr/local/bin/$b" | grep "not found"; then
    fail "$b: shared libraries missing in the image (above)"
  fi
done
ok "modelserver and modelctl present, root-owned, every shared library found (ldd)"
for c in gcc g++ cc c++ cpp cmake ninja make ld as; do
  for d in usr/bin usr/local/bin bin; do
    [ ! -e "$MNT/$d/$c" ] || fail "compiler or build tool in the runtime image: /$d/$c"
  done
done
dev=$(chroot "$MNT" /usr/bin/dpkg-query -W -f '${Package}\n' | grep -E -- '-dev$|^build-essential$|^gcc(-[0-9]+)?$|^g\+\+' || true)
[ -z "$dev" ] || fail "build packages in the runtime image: $(echo $dev)"
[ ! -d "$MNT/usr/include/grpcpp" ] && [ ! -d "$MNT/usr/include/google/protobuf" ] \
  || fail "development headers in the runtime image"
ok "no compiler, no -dev packages, no headers ($(chroot "$MNT" /usr/bin/dpkg-query -W -f '.\n' | wc -l) packages)"
[ -z "$(ls -A "$MNT/var/lib/apt/lists" 2>/dev/null | grep -v '^lock$\|^partial$' || true)" ] || fail "apt lists left in the image"
ok "apt lists removed"
pw=$(grep '^modelserver:' "$MNT/etc/passwd" || true)
[ "$(echo "$pw" | cut -d: -f3,4)" = "10001:10001" ] || fail "user modelserver is not uid/gid 10001 in /etc/passwd: '$pw'"
grep -q '^modelserver:x:10001:' "$MNT/etc/group" || fail "group modelserver is not gid 10001"
ok "user and group modelserver = 10001:10001"

# ---- 6. run the image's server -------------------------------------------------
phase run
cfg_json() { "$PY" -c "import json,sys; c=json.load(open('$WORK/inspect.json'))[0]['Config']; $1"; }
USERSPEC=$(cfg_json 'print(c["User"])')
WORKDIR=$(cfg_json 'print(c.get("WorkingDir") or "/")')
mapfile -t ENTRY < <(cfg_json 'print("\n".join((c.get("Entrypoint") or []) + (c.get("Cmd") or [])))')
mapfile -t ENVS < <(cfg_json 'print("\n".join(c.get("Env") or []))')
mapfile -t HEALTH < <("$PY" -c "import json; i=json.load(open('$WORK/inspect.json'))[0]; h=i.get('Healthcheck') or i['Config'].get('Healthcheck'); print('\n'.join(h['Test']))")
HOME_DIR=$(awk -F: -v u="${USERSPEC%%:*}" '$3 == u { print $6 }' "$MNT/etc/passwd")
ENVS+=("HOME=${HOME_DIR:-/}" "HOSTNAME=modelserver-test")
MODEL_DIR=$(printf '%s\n' "${ENVS[@]}" | sed -n 's/^MODELSERVER_MODEL_DIR=//p')
[ "$(stat -c %u:%g "$MNT$MODEL_DIR")" = "$USERSPEC" ] \
  || fail "model dir $MODEL_DIR is $(stat -c %u:%g "$MNT$MODEL_DIR"), not $USERSPEC"
ok "model dir $MODEL_DIR owned by $USERSPEC"
cp "$ROOT/tests/data/iris.csv" "$MNT/tmp/iris.csv"
chmod 0644 "$MNT/tmp/iris.csv"

# As the container would: the image's user, working directory, environment
# (env -i: nothing from this shell) and entrypoint, in network and mount
# namespaces of its own (gone when the server exits). Like deploy/compose.yaml
# and deploy/k8s run it: read-only root filesystem, the model volume writable,
# a tmpfs on /tmp.
in_netns() { nsenter --net="/proc/$SRV_PID/ns/net" -- "$@"; }
# A command of the image (modelctl, the HEALTHCHECK) as the image user, with
# the image's environment, in the server's network namespace.
in_image() {
  in_netns chroot --userspec="$USERSPEC" "$MNT" /usr/bin/env -i -C "$WORKDIR" "${ENVS[@]}" "$@"
}
mkdir "$WORK/root"
log "starting ${ENTRY[*]} as $USERSPEC in $WORKDIR (read-only root, own network namespace)"
unshare --net --mount --fork -- bash -c '
    set -e
    pidfile=$1 rootfs=$2 root=$3 models=$4; shift 4
    ip link set lo up
    mount --bind "$rootfs" "$root"
    mount -o remount,bind,ro "$root"
    mount --bind "$rootfs$models" "$root$models"
    mount -t tmpfs -o mode=1777,size=64m tmpfs "$root/tmp"
    echo $$ >"$pidfile"
    exec chroot "$@"' \
  _ "$WORK/server.pid" "$MNT" "$WORK/root" "$MODEL_DIR" \
  --userspec="$USERSPEC" "$WORK/root" /usr/bin/env -i -C "$WORKDIR" "${ENVS[@]}" "${ENTRY[@]}" \
  2>"$WORK/server.log" &
SRV_WRAPPER=$!
startup=""
for _ in $(seq 1 300); do
  [ -z "$SRV_PID" ] && [ -s "$WORK/server.pid" ] && SRV_PID=$(cat "$WORK/server.pid")
  startup=$(grep -m1 '"grpc_address"' "$WORK/server.log" || true)
  [ -n "$startup" ] && break
  kill -0 "$SRV_WRAPPER" 2>/dev/null || fail "server exited before logging its addresses"
  sleep 0.1
done
[ -n "$startup" ] || fail "no start-up line with grpc_address within 30 s"
[ -n "$SRV_PID" ] || fail "no server pid"
echo "$startup" >"$WORK/startup.json"
read -r GRPC HTTP METRICS < <("$PY" - "$WORK/startup.json" <<'EOF'
import json, sys
j = json.loads(open(sys.argv[1]).read())
print(j.get("grpc_address", "-"), j.get("http_address", "-"), j.get("metrics_address", "-"))
EOF
) || fail "start-up line is not JSON: $startup"
for pair in "gRPC $GRPC MODELSERVER_LISTEN" "REST $HTTP MODELSERVER_HTTP_LISTEN" "metrics $METRICS MODELSERVER_METRICS_LISTEN"; do
  set -- $pair
  want=$(printf '%s\n' "${ENVS[@]}" | sed -n "s/^$3=//p")
  [ "$2" = "$want" ] || fail "$1 listens on '$2', the image's $3 says '$want' (does modelserver read MODELSERVER_* variables?)"
done
ok "listening as configured: gRPC $GRPC, REST $HTTP, metrics $METRICS (pid $SRV_PID)"
port() { echo "${1##*:}"; }
SERVER=127.0.0.1:$(port "$GRPC")

if ! in_image /usr/local/bin/modelctl --server "$SERVER" train --name iris --data /tmp/iris.csv \
      --target species --json >"$WORK/train.json" 2>"$WORK/train.err"; then
  cat "$WORK/train.err" >&2; fail "modelctl train"
fi
"$PY" - "$WORK/train.json" <<'EOF' || fail "train output: $(head -c 500 "$WORK/train.json")"
import json, sys
j = json.loads(open(sys.argv[1]).read())
assert str(j.get("version")) == "1", f"version {j.get('version')!r}, want 1"
m = j.get("metrics") or {}
print(f"image_test:   ok  trained iris version 1 ({j.get('metrics_on', 'validation')} accuracy {m.get('accuracy')})", file=sys.stderr)
EOF
[ -s "$MNT$MODEL_DIR/iris/1/model.msm" ] || fail "no $MODEL_DIR/iris/1/model.msm in the rootfs"
[ "$(stat -c %u "$MNT$MODEL_DIR/iris/1/model.msm")" = "${USERSPEC%%:*}" ] || fail "model file not owned by the image user"
ok "model file $MODEL_DIR/iris/1/model.msm written by uid ${USERSPEC%%:*}"

if ! in_image /usr/local/bin/modelctl --server "$SERVER" predict --name iris --data /tmp/iris.csv \
      --json >"$WORK/predict.json" 2>"$WORK/predict.err"; then
  cat "$WORK/predict.err" >&2; fail "modelctl predict"
fi
"$PY" - "$WORK/predict.json" "$ROOT/tests/data/iris.csv" <<'EOF' || fail "predict output: $(head -c 500 "$WORK/predict.json")"
import csv, json, sys
preds = json.loads(open(sys.argv[1]).read())["predictions"]
rows = list(csv.DictReader(open(sys.argv[2])))
assert len(preds) == len(rows), f"{len(preds)} predictions for {len(rows)} rows"
def label(p):
    for k in ("label", "class", "value"):
        if k in p:
            return str(p[k])
    return None
hits = sum(label(p) == r["species"] for p, r in zip(preds, rows))
assert hits >= 0.9 * len(rows), f"only {hits}/{len(rows)} right: {preds[:2]}"
print(f"image_test:   ok  predicted {len(preds)} rows, {hits} match the species column", file=sys.stderr)
EOF

# REST and metrics on the image's ports (inside the server's network namespace).
in_netns "$PY" - "$(port "$HTTP")" "$(port "$METRICS")" <<'EOF' || fail "REST / metrics endpoints"
import sys, urllib.request
http, metrics = sys.argv[1], sys.argv[2]
r = urllib.request.urlopen(f"http://127.0.0.1:{http}/v2/health/ready", timeout=5)
assert r.status == 200, r.status
body = urllib.request.urlopen(f"http://127.0.0.1:{metrics}/metrics", timeout=5).read().decode()
assert "modelserver_" in body, body[:300]
print(f"image_test:   ok  REST /v2/health/ready 200, /metrics has modelserver_ series", file=sys.stderr)
EOF

# The image's HEALTHCHECK, verbatim.
case "${HEALTH[0]}" in
  CMD)       hc=("${HEALTH[@]:1}") ;;
  CMD-SHELL) hc=(/bin/sh -c "${HEALTH[1]}") ;;
  *)         fail "unexpected HEALTHCHECK ${HEALTH[*]}" ;;
esac
if in_image "${hc[@]}" >"$WORK/health.out" 2>&1; then
  ok "HEALTHCHECK ${hc[*]}: exit 0 ($(tr '\n' ' ' <"$WORK/health.out"))"
else
  rc=$?; cat "$WORK/health.out" >&2; fail "HEALTHCHECK ${hc[*]} exited $rc"
fi

# STOPSIGNAL: SIGTERM, graceful exit 0.
t_stop=$(date +%s.%N)
kill -TERM "$SRV_PID"
for _ in $(seq 1 300); do kill -0 "$SRV_WRAPPER" 2>/dev/null || break; sleep 0.1; done
kill -0 "$SRV_WRAPPER" 2>/dev/null && fail "server still running 30 s after SIGTERM"
rc=0; wait "$SRV_WRAPPER" || rc=$?
SRV_WRAPPER=""; SRV_PID=""
[ $rc -eq 0 ] || fail "server exited with status $rc after SIGTERM"
ok "SIGTERM: exit status 0 after $(elapsed "$t_stop")s"

# ---- 7. cleanup ----------------------------------------------------------------
phase cleanup
podman umount "$CTR" >/dev/null; MNT=""
# (podman rm complains that it cannot reach systemd to remove the
# healthcheck timer of a container that never ran: ignored, status checked.)
podman rm -v "$CTR" >/dev/null 2>"$WORK/rm.log" || { cat "$WORK/rm.log" >&2; fail "podman rm $CTR"; }
CTR=""
ok "container unmounted and removed"
SIZE=$(podman image ls --format '{{.Size}}' "$IMAGE" 2>/dev/null | head -1)
if [ $CLEAN -eq 1 ]; then
  podman rmi "$IMAGE" >/dev/null || fail "podman rmi $IMAGE"
  ok "removed $IMAGE (base images, build layers and $CACHE_DIR kept)"
fi
phase ""

log "phase times:"
for p in "${PHASES[@]}"; do log "  $p"; done
log "  $(printf '%-16s %7ss' total "$(elapsed "$T_START")")"
log "image $IMAGE: ${SIZE:-?}$([ $CLEAN -eq 1 ] && echo ' (removed: --clean)')"
log "PASS"
