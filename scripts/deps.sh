#!/usr/bin/env bash
# Installs the Debian packages quorumbox builds, tests and benchmarks with,
# if any is missing. Sourced by test.sh and dev-cluster.sh; safe to rerun.
set -euo pipefail

QBOX_PACKAGES=(
  build-essential cmake ninja-build pkg-config git
  libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler
  librocksdb-dev libabsl-dev libssl-dev zlib1g-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  prometheus-cpp-dev libcli11-dev nlohmann-json3-dev libspdlog-dev
  etcd-server etcd-client curl python3 openssl iproute2
)

qbox_install_deps() {
  local missing=()
  for p in "${QBOX_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  if [ ${#missing[@]} -eq 0 ]; then
    return 0
  fi
  echo "==> installing missing Debian packages: ${missing[*]}"
  local sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
}

# The Kubernetes manifest tests render with kubectl's kustomize, validate
# with npm packages (tests/k8s/package.json), test the alert rules with
# promtool (Debian package prometheus) and build each site's load balancer
# with nft (nftables). Node.js may come from the machine image already (it
# conflicts with Debian's own packaging), so install Debian's only if absent.
QBOX_K8S_TEST_PACKAGES=(prometheus nftables)

qbox_install_k8s_test_deps() {
  local sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  local missing=()
  for p in "${QBOX_K8S_TEST_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    echo "==> installing missing Debian packages for the Kubernetes tests: ${missing[*]}"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
  fi
  if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
    echo "==> installing Node.js and npm (Debian) for the Kubernetes manifest tests"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends nodejs npm
  fi
  if ! command -v kubectl >/dev/null; then
    echo "error: kubectl (with kustomize v4 or newer) is needed by the Kubernetes tests and is" \
      "not installed; Debian 12's kubernetes-client is too old to render the overlays" >&2
    return 1
  fi
}
