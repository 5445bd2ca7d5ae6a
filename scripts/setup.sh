#!/usr/bin/env bash
# Installs every Debian 12 package that building and testing modelserver needs.
# Idempotent: packages already present are left alone. Runs as root, or uses sudo.
#   --build-only  installs only what compiling modelserver and modelctl needs
#                 (the container image's build stage, see Dockerfile)
set -euo pipefail

PACKAGES=(
  build-essential cmake ninja-build pkg-config git ca-certificates
  libeigen3-dev libabsl-dev libfast-float-dev libcli11-dev
  libgrpc++-dev libprotobuf-dev protobuf-compiler protobuf-compiler-grpc
  libssl-dev openssl
  python3
  python3-sklearn python3-pandas python3-matplotlib libopenblas0-pthread
  libgtest-dev libgmock-dev googletest libbenchmark-dev
  prometheus-cpp-dev prometheus libcivetweb-dev nlohmann-json3-dev
  grpc-proto python3-grpcio python3-protobuf
  podman debootstrap iproute2 util-linux mount
  docker-compose python3-yaml wrk
  clang-14 libclang-rt-14-dev llvm-14
)

# Compile-time packages of modelserver and modelctl only (configuring the
# tree also needs libbenchmark-dev: bench/ is always configured).
BUILD_ONLY_PACKAGES=(
  build-essential cmake ninja-build pkg-config
  libeigen3-dev libabsl-dev libfast-float-dev libcli11-dev
  libgrpc++-dev libprotobuf-dev protobuf-compiler protobuf-compiler-grpc
  libssl-dev
  prometheus-cpp-dev libcivetweb-dev nlohmann-json3-dev libbenchmark-dev
)
case "${1:-}" in
  "") ;;
  --build-only) PACKAGES=("${BUILD_ONLY_PACKAGES[@]}") ;;
  *) echo "usage: scripts/setup.sh [--build-only]" >&2; exit 2 ;;
esac

# deploy/validate.sh (ctest deploy_validate): docker-compose and python3-yaml
# above; kubectl from Debian's kubernetes-client (1.20, with kustomize v2.0.3)
# only where no kubectl is installed (a newer one from elsewhere is kept), and
# Node.js / npm from Debian only where none is installed (NodeSource's nodejs
# package bundles npm and conflicts with Debian's npm package).
if [ "${1:-}" != --build-only ]; then
  command -v kubectl >/dev/null || PACKAGES+=(kubernetes-client)
  command -v node >/dev/null || PACKAGES+=(nodejs)
  command -v npm >/dev/null || PACKAGES+=(npm)
fi

# The npm packages of deploy/k8s/validate (Kubernetes schemas), exactly as
# package-lock.json pins them, at install time: tests run without network.
install_npm_packages() {
  [ "${1:-}" != --build-only ] || return 0
  local dir
  dir="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/deploy/k8s/validate"
  [ -f "$dir/package-lock.json" ] || return 0
  if [ ! -f "$dir/node_modules/.package-lock.json" ] ||
     [ "$dir/package-lock.json" -nt "$dir/node_modules/.package-lock.json" ]; then
    echo "setup: npm ci --prefix $dir"
    npm ci --prefix "$dir" --no-audit --no-fund
  fi
}

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "setup: all ${#PACKAGES[@]} packages already installed"
  install_npm_packages "$@"
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "setup: not root and no sudo; install: ${missing[*]}" >&2; exit 1; }
  SUDO="sudo"
fi
echo "setup: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
install_npm_packages "$@"
