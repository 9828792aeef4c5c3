#!/usr/bin/env bash
# Tests k8s/ and the Dockerfile without a Kubernetes cluster or container
# engine. Registered in CTest (label k8s) by tests/k8s/CMakeLists.txt.
#
#   tests/k8s/run.sh manifests|pods --source DIR --build DIR --qboxctl PATH --qbox-node PATH
#
# Both phases copy k8s/ to a temporary directory, make each site's
# credentials with `qboxctl site init` (one CA per site, nothing shared but
# the public CA certificates), give every overlay the exchanged CA
# certificates and render it with `kubectl kustomize`.
#   manifests  validates the rendered objects against the Kubernetes API
#              schemas (npm kubernetes-models) and the cert-manager and
#              prometheus-operator ones (@kubernetes-models/*), checks the
#              properties the deployment relies on, that no site's rendering
#              holds another site's private material or names another site's
#              cluster DNS, the alert rules with `promtool test rules`, and
#              the Dockerfile (check_dockerfile.mjs).
#   pods       issues each pod's certificate as cert-manager would from the
#              rendered Certificate (issue_certificates.mjs), runs each
#              site's pod qbox-0 as qbox-node in a network namespace of that
#              site's own "cluster" (netns_pods.sh: three clusters reaching
#              each other only through their published addresses), exactly
#              as the rendered StatefulSet describes it (pod_plan.mjs), waits
#              until every pod passes its readiness probe, checks that the
#              alerts use series a real node exports, wipes one pod's volume,
#              restarts it and waits until it has rebuilt itself and is ready
#              again. Needs root.
# Any failure exits non-zero with a message saying what failed.
set -euo pipefail

die() { echo "FAIL: $*" >&2; exit 1; }

PHASE="${1:-}"; shift || true
SOURCE="" BUILD="" QBOXCTL="" QBOXNODE=""
while [ $# -gt 0 ]; do
  case "$1" in
    --source) SOURCE="$2"; shift 2 ;;
    --build) BUILD="$2"; shift 2 ;;
    --qboxctl) QBOXCTL="$2"; shift 2 ;;
    --qbox-node) QBOXNODE="$2"; shift 2 ;;
    *) die "unknown argument '$1'" ;;
  esac
done
case "$PHASE" in manifests|pods) ;; *) die "usage: run.sh manifests|pods --source DIR --build DIR --qboxctl PATH --qbox-node PATH" ;; esac
[ -n "$SOURCE" ] && [ -d "$SOURCE/k8s/base" ] || die "--source must be the repository root (with k8s/base)"
[ -n "$BUILD" ] || die "--build is required"
[ -x "$QBOXCTL" ] || die "--qboxctl '$QBOXCTL' is not an executable; build target qboxctl"
[ "$PHASE" = manifests ] || [ -x "$QBOXNODE" ] || die "--qbox-node '$QBOXNODE' is not an executable; build target qbox-node"

need() { command -v "$1" >/dev/null || die "$1 is not installed ($2)"; }
need kubectl "Debian 12 has no kubectl >= 1.21; see k8s/README.md, 'Tests'"
need node "Debian package nodejs"
need npm "Debian package npm"
kubectl kustomize --help >/dev/null 2>&1 || die "this kubectl has no 'kustomize' command"

SITES=(site-a site-b site-c)
HERE="$SOURCE/tests/k8s"
WORK=$(mktemp -d /tmp/qbox-k8s-test.XXXXXX)
chmod 0755 "$WORK"  # the pods run as a non-root user and read their volumes here
CLEANUP=()
cleanup() {
  local status=$?
  for ((i = ${#CLEANUP[@]} - 1; i >= 0; i--)); do eval "${CLEANUP[$i]}" || true; done
  rm -rf "$WORK"
  exit $status
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---------------------------------------------------------------- npm tools
# The schema packages and yaml, pinned in tests/k8s/package.json, installed once
# into the build directory; the test's scripts run from there so that Node
# finds them. flock: ctest may run both phases at once.
TOOLS="$BUILD/tests/k8s/npm"
mkdir -p "$TOOLS"
(
  flock 9
  if ! cmp -s "$HERE/package.json" "$TOOLS/package.json" || [ ! -d "$TOOLS/node_modules/kubernetes-models" ]; then
    cp "$HERE/package.json" "$TOOLS/package.json"
    echo "==> installing the test's npm packages into $TOOLS"
    npm install --prefix "$TOOLS" --no-audit --no-fund --loglevel=error >"$TOOLS/npm.log" 2>&1 ||
      { cat "$TOOLS/npm.log" >&2; exit 1; }
  fi
  cp "$HERE"/*.mjs "$HERE"/*.yaml "$TOOLS/"
) 9>"$BUILD/tests/k8s/npm.lock" || die "npm install failed (see above)"

# ------------------------------------------------ credentials and rendering
# Each site's credentials are made in its own directory, as each site's
# operator would on their own machine. Overlays get every site's public CA
# certificate and nothing else: node certificates are issued in the site's
# cluster by cert-manager from the site's CA (the pods phase plays
# cert-manager). The node certificates `site init` makes here are only used
# to recognise private keys that must never appear in a rendering.
cp -r "$SOURCE/k8s" "$WORK/k8s"
CREDS="$WORK/creds"
mkdir -p "$CREDS" "$WORK/rendered"
for site in "${SITES[@]}"; do
  "$QBOXCTL" site init "$site" --out "$CREDS/$site" --node qbox-0 --admin ops \
    --node-host "qbox-0.qbox.$site.example" >/dev/null ||
    die "qboxctl site init $site failed"
done
for site in "${SITES[@]}"; do
  ov="$WORK/k8s/overlays/$site"
  mkdir -p "$ov/ca"
  for other in "${SITES[@]}"; do cp "$CREDS/$other/ca.crt" "$ov/ca/$other-ca.crt"; done
  kubectl kustomize "$ov" >"$WORK/rendered/$site.yaml" 2>"$WORK/rendered/$site.err" ||
    { cat "$WORK/rendered/$site.err" >&2; die "kubectl kustomize k8s/overlays/$site failed"; }
done
kubectl kustomize "$WORK/k8s/base" >"$WORK/rendered/base.yaml" || die "kubectl kustomize k8s/base failed"
echo "==> rendered ${SITES[*]} with $(kubectl version --client 2>/dev/null | grep -i kustomize || echo 'kubectl kustomize')"

if [ "$PHASE" = manifests ]; then
  node "$TOOLS/check_manifests.mjs" --rendered "$WORK/rendered" --creds "$CREDS" \
    --overlays "$SOURCE/k8s/overlays" --sites "$(IFS=,; echo "${SITES[*]}")"
  node "$TOOLS/check_dockerfile.mjs" --source "$SOURCE" --rendered "$WORK/rendered/site-a.yaml"
  # The alert rules as every site renders them, through promtool.
  need promtool "Debian package prometheus"
  for site in "${SITES[@]}"; do
    node "$TOOLS/alert_rules.mjs" --rendered "$WORK/rendered/$site.yaml" --out "$WORK/rules-$site.yaml" ||
      die "cannot read the PrometheusRule of $site"
    cmp -s "$WORK/rules-${SITES[0]}.yaml" "$WORK/rules-$site.yaml" || die "$site's alert rules differ from ${SITES[0]}'s"
  done
  cp "$WORK/rules-${SITES[0]}.yaml" "$WORK/rules.yaml"
  cp "$HERE/alert_rules_test.yaml" "$WORK/"
  promtool check rules "$WORK/rules.yaml" || die "promtool check rules failed on the rendered PrometheusRule"
  (cd "$WORK" && promtool test rules alert_rules_test.yaml) || die "promtool test rules failed (tests/k8s/alert_rules_test.yaml)"
  exit 0
fi

# ------------------------------------------------------------------- pods
source "$HERE/netns_pods.sh"
