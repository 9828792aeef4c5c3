#!/usr/bin/env bash
# A local three-site quorumbox cluster on loopback, for development.
#
#   scripts/dev-cluster.sh up      install missing packages, build, create three
#                                  sites' credentials (each its own CA, in its own
#                                  directory), start one node per site, wait for
#                                  a leader, print how to use it
#   scripts/dev-cluster.sh status  show the cluster (qboxctl status)
#   scripts/dev-cluster.sh down    stop the nodes (data and credentials stay)
#   scripts/dev-cluster.sh clean   stop and delete everything under .dev-cluster/
#
# Nodes: site-a/n1 on 127.0.0.1:7101, site-b/n1 on :7102, site-c/n1 on :7103
# (gRPC, mutual TLS); metrics and health on http://127.0.0.1:9101..9103.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
DEV="$ROOT/.dev-cluster"
BUILD="$ROOT/build"
SITES=(site-a site-b site-c)
GRPC_PORTS=(7101 7102 7103)
METRICS_PORTS=(9101 9102 9103)

QBOXCTL="$BUILD/ctl/qboxctl"
QBOXNODE="$BUILD/node/server/qbox-node"

build() {
  source scripts/deps.sh
  qbox_install_deps
  echo "==> building qbox-node and qboxctl (build/)"
  cmake -S . -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
  ninja -C "$BUILD" qbox-node qboxctl qbox-example qbox-mail
}

credentials() {
  mkdir -p "$DEV"
  for i in 0 1 2; do
    local site=${SITES[$i]}
    if [ ! -f "$DEV/$site/ca.crt" ]; then
      # Each site's operator would run this on their own machine: nothing
      # below is shared between the three directories.
      "$QBOXCTL" site init "$site" --out "$DEV/$site" --node n1 --admin ops --frontend imap \
        --node-host 127.0.0.1 --node-host localhost >/dev/null
      echo "    created $site credentials in .dev-cluster/$site (its own CA)"
    fi
  done
  # What the sites exchange: public CA certificates only.
  cat "$DEV"/site-{a,b,c}/ca.crt >"$DEV/ca-bundle.crt"
  if [ ! -f "$DEV/cluster.json" ]; then
    "$QBOXCTL" cluster init --out "$DEV/cluster.json" --name qbox-dev \
      --site-ca "site-a=$DEV/site-a/ca.crt" --site-ca "site-b=$DEV/site-b/ca.crt" \
      --site-ca "site-c=$DEV/site-c/ca.crt" \
      --node "1=site-a/n1@127.0.0.1:${GRPC_PORTS[0]}" \
      --node "2=site-b/n1@127.0.0.1:${GRPC_PORTS[1]}" \
      --node "3=site-c/n1@127.0.0.1:${GRPC_PORTS[2]}" \
      --delay 60s --proposal-ttl 1h >/dev/null  # a playground: T is 72h in production
    echo "    wrote the genesis configuration .dev-cluster/cluster.json"
  fi
}

running_pid() {
  local pidfile="$DEV/run/$1.pid"
  [ -f "$pidfile" ] || return 1
  local pid
  pid=$(cat "$pidfile")
  kill -0 "$pid" 2>/dev/null || return 1
  echo "$pid"
}

start_nodes() {
  mkdir -p "$DEV/run" "$DEV/data" "$DEV/logs"
  for i in 0 1 2; do
    local site=${SITES[$i]}
    if running_pid "$site" >/dev/null; then
      echo "    $site/n1 already running (pid $(running_pid "$site"))"
      continue
    fi
    if ss -ltn 2>/dev/null | grep -q ":${GRPC_PORTS[$i]} "; then
      echo "error: port ${GRPC_PORTS[$i]} is in use by another program; stop it first" >&2
      exit 1
    fi
    nohup "$QBOXNODE" --cluster "$DEV/cluster.json" --node "$site/n1" \
      --data-dir "$DEV/data/$site-n1" \
      --cert "$DEV/$site/nodes/n1.crt" --key "$DEV/$site/nodes/n1.key" \
      --metrics-listen "127.0.0.1:${METRICS_PORTS[$i]}" \
      >>"$DEV/logs/$site-n1.log" 2>&1 &
    echo $! >"$DEV/run/$site.pid"
    echo "    started $site/n1 (pid $!) on 127.0.0.1:${GRPC_PORTS[$i]}, log .dev-cluster/logs/$site-n1.log"
  done
}

wait_ready() {
  echo "==> waiting for a leader and all three nodes caught up"
  local deadline=$((SECONDS + 60))
  while [ $SECONDS -lt $deadline ]; do
    local ready=0
    for i in 0 1 2; do
      curl -fs "http://127.0.0.1:${METRICS_PORTS[$i]}/readyz" >/dev/null 2>&1 && ready=$((ready + 1))
    done
    if [ $ready -eq 3 ]; then
      return 0
    fi
    for site in "${SITES[@]}"; do
      if ! running_pid "$site" >/dev/null; then
        echo "error: $site/n1 exited; last lines of .dev-cluster/logs/$site-n1.log:" >&2
        tail -n 20 "$DEV/logs/$site-n1.log" >&2
        exit 1
      fi
    done
    sleep 0.5
  done
  echo "error: the cluster did not become ready within 60s; see .dev-cluster/logs/" >&2
  exit 1
}

ctl() {
  "$QBOXCTL" "$@" --cluster "$DEV/cluster.json" --cert "$DEV/site-a/admins/ops.crt" \
    --key "$DEV/site-a/admins/ops.key"
}

usage() {
  cat <<EOF

quorumbox dev cluster is up: three sites, one node each, mutual TLS.
  site-a/n1  127.0.0.1:${GRPC_PORTS[0]}   metrics http://127.0.0.1:${METRICS_PORTS[0]}/metrics
  site-b/n1  127.0.0.1:${GRPC_PORTS[1]}   metrics http://127.0.0.1:${METRICS_PORTS[1]}/metrics
  site-c/n1  127.0.0.1:${GRPC_PORTS[2]}   metrics http://127.0.0.1:${METRICS_PORTS[2]}/metrics
Credentials: .dev-cluster/site-{a,b,c}/ (one CA per site), CA bundle .dev-cluster/ca-bundle.crt

Try it from $ROOT (README.md "A session" has the whole walk-through).
As site-a's operator (qboxctl's connection flags follow the command):
  ctl() { build/ctl/qboxctl "\$@" --cluster .dev-cluster/cluster.json \\
            --cert .dev-cluster/site-a/admins/ops.crt --key .dev-cluster/site-a/admins/ops.key; }
  ctl status
  ctl account create alice
As site-a's front end "imap" (--dev: these ports and .dev-cluster/ credentials):
  M="build/client/qbox-mail --dev --account alice"
  \$M mailbox create Archive
  \$M append --mailbox Archive --subject "Quarterly report" --body "Numbers attached."
  \$M append --mailbox Archive --subject "Lunch?" --body "Noon at the usual place." --flag '\\Flagged'
  \$M fetch --mailbox Archive
  \$M flag --mailbox Archive --uids 1:2 --add '\\Seen'
  \$M expunge --mailbox Archive --uids 1
  \$M deleted list
  \$M restore 1
  \$M changes --mailbox Archive --since 5
  \$M quota
Irreversible actions are proposals that another site must approve (T is 60s here):
  ctl propose purge-vault --account alice --reason "try the guard"
  build/ctl/qboxctl proposals approve ID --cluster .dev-cluster/cluster.json \\
    --cert .dev-cluster/site-b/admins/ops.crt --key .dev-cluster/site-b/admins/ops.key
  ctl proposals show ID; ctl audit verify

  scripts/dev-cluster.sh status    # the cluster at a glance
  scripts/dev-cluster.sh down      # stop (data stays in .dev-cluster/data)
EOF
}

stop_nodes() {
  for site in "${SITES[@]}"; do
    local pid
    if pid=$(running_pid "$site"); then
      kill -TERM "$pid"
      for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      kill -0 "$pid" 2>/dev/null && kill -KILL "$pid"
      echo "    stopped $site/n1 (pid $pid)"
    fi
    rm -f "$DEV/run/$site.pid"
  done
}

case "${1:-}" in
  up)
    build
    echo "==> credentials and configuration (.dev-cluster/)"
    credentials
    echo "==> starting nodes"
    start_nodes
    wait_ready
    ctl status || true
    usage
    ;;
  status)
    ctl status
    ;;
  down)
    stop_nodes
    ;;
  clean)
    stop_nodes
    rm -rf "$DEV"
    echo "    removed .dev-cluster/"
    ;;
  *)
    echo "usage: scripts/dev-cluster.sh up|status|down|clean" >&2
    exit 2
    ;;
esac
