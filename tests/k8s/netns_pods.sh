# Sourced by run.sh (phase "pods"): WORK, TOOLS, QBOXNODE, QBOXCTL, SITES,
# CREDS, CLEANUP and die() come from there; the rendered overlays are in
# $WORK/rendered/SITE.yaml.
#
# Each site's pod qbox-0 becomes a qbox-node process in its own network
# namespace with its own address (10.77.0.11, .12, ...), joined by veth
# pairs to a bridge in one more namespace (10.77.0.1), from which the test
# probes the pods as a kubelet would. Nothing is sent to any address outside
# these namespaces. Everything is removed on exit, also on failure.

[ "$(id -u)" -eq 0 ] || die "the pods test needs root (network and mount namespaces)"
ip netns list >/dev/null 2>&1 || die "'ip netns' is not available (iproute2 with network namespace support is needed)"
for tool in setpriv unshare curl flock; do need "$tool" "util-linux / curl"; done
# Kernels without veth or bridges fail here, loudly, in the first ip command.

BIN="$WORK/image-bin"  # what the image has in /usr/local/bin
mkdir -p "$BIN"
cp "$QBOXNODE" "$BIN/qbox-node"
cp "$QBOXCTL" "$BIN/qboxctl"
chmod 0755 "$BIN" "$BIN"/*

TAG="qbx$$"
SWITCH="$TAG-sw"
ip netns add "$SWITCH" || die "cannot create network namespace $SWITCH"
CLEANUP+=("ip netns del $SWITCH")
ip -n "$SWITCH" link set lo up
ip -n "$SWITCH" link add br0 type bridge
ip -n "$SWITCH" addr add 10.77.0.1/24 dev br0
ip -n "$SWITCH" link set br0 up

# The container's mount points must exist to be mounted over (in each pod's
# private mount namespace); create the missing ones and remove them after.
CREATED_MOUNT_POINTS=()
ensure_mount_point() {
  local d="$1" top="$1"
  [ -e "$d" ] && return 0
  while [ ! -e "$(dirname "$top")" ]; do top=$(dirname "$top"); done
  mkdir -p "$d"
  CREATED_MOUNT_POINTS+=("$top")
}
remove_mount_points() {  # only the empty directories this test created
  local top
  for top in "${CREATED_MOUNT_POINTS[@]}"; do [ ! -d "$top" ] || find "$top" -depth -type d -empty -delete; done
}
# Registered before any pod starts, so it runs after every pod is stopped.
CLEANUP+=("remove_mount_points")

declare -A POD_NS POD_IP POD_PID POD_DIR POD_LOG
i=0
for site in "${SITES[@]}"; do
  i=$((i + 1))
  POD_NS[$site]="$TAG-$i"
  POD_IP[$site]="10.77.0.$((10 + i))"
  POD_DIR[$site]="$WORK/pods/$site"
  POD_LOG[$site]="$WORK/pods/$site.log"
  mkdir -p "${POD_DIR[$site]}"
  chmod 0755 "$WORK/pods" "${POD_DIR[$site]}"
  ns="${POD_NS[$site]}"
  ip netns add "$ns" || die "cannot create network namespace $ns"
  CLEANUP+=("ip netns del $ns")
  ip link add "${TAG}h$i" type veth peer name "${TAG}p$i" || die "cannot create a veth pair"
  ip link set "${TAG}h$i" netns "$SWITCH"
  ip link set "${TAG}p$i" netns "$ns"
  ip -n "$SWITCH" link set "${TAG}h$i" master br0 up
  ip -n "$ns" link set "${TAG}p$i" name eth0
  ip -n "$ns" addr add "${POD_IP[$site]}/24" dev eth0
  ip -n "$ns" link set eth0 up
  ip -n "$ns" link set lo up
done

# Cluster DNS: every pod's name under the headless Service, as Kubernetes
# publishes it (publishNotReadyAddresses), to the pod's address.
plan_field() { node -e 'const p=JSON.parse(require("fs").readFileSync(process.argv[1]));console.log(eval("p."+process.argv[2]))' "$1/plan.json" "$2"; }
HOSTS="$WORK/hosts"
printf '127.0.0.1 localhost\n' >"$HOSTS"
for site in "${SITES[@]}"; do
  node -e '
    const { loadRendered, onlyOne } = await import(process.argv[1]);
    const sts = onlyOne(loadRendered(process.argv[2]), "StatefulSet", process.argv[2]);
    console.log(`${process.argv[3]} ${sts.metadata.name}-0.${sts.spec.serviceName}.${sts.metadata.namespace}.svc.cluster.local ${sts.metadata.name}-0`);
  ' --input-type=module "$TOOLS/rendered.mjs" "$WORK/rendered/$site.yaml" "${POD_IP[$site]}" >>"$HOSTS" ||
    die "cannot read the StatefulSet of $site"
done
chmod 0644 "$HOSTS"

# Lays out pod qbox-0 of SITE from its rendered manifests (pod_plan.mjs) and
# starts it: exactly the rendered command, arguments, environment, user and
# mounts, with its volume "data" at $POD_DIR/pvc-data (kept across restarts
# unless the test deletes it).
start_pod() {
  local site="$1" dir="${POD_DIR[$1]}"
  rm -rf "$dir/volumes"
  node "$TOOLS/pod_plan.mjs" --rendered "$WORK/rendered/$site.yaml" --pod qbox-0 --pod-dir "$dir" \
    --volume "data=$dir/pvc-data" --netns "${POD_NS[$site]}" --bin-dir "$BIN" --hosts "$HOSTS" ||
    die "cannot lay out $site's pod from its rendered manifests"
  local target
  for target in $(plan_field "$dir" 'mountTargets.join(" ")'); do ensure_mount_point "$target"; done
  local argv=()
  mapfile -d '' argv <"$dir/launch.argv"
  "${argv[@]}" >>"${POD_LOG[$site]}" 2>&1 &
  POD_PID[$site]=$!
  CLEANUP+=("kill -KILL ${POD_PID[$site]} 2>/dev/null; wait ${POD_PID[$site]} 2>/dev/null")
  echo "    started $site/qbox-0 (pid ${POD_PID[$site]}) at ${POD_IP[$site]}: $(plan_field "$dir" 'argv.join(" ")')"
}

# As the kubelet probes: HTTP GET on the pod's address and the probe's port.
probe() {
  local site="$1" which="$2" dir="${POD_DIR[$1]}"
  local path port
  path=$(plan_field "$dir" "$which.path") port=$(plan_field "$dir" "$which.port")
  ip netns exec "$SWITCH" curl -fsS --max-time 2 -o /dev/null "http://${POD_IP[$site]}:$port$path" 2>/dev/null
}

wait_ready() {
  local deadline=$((SECONDS + $1)) site pending
  while :; do
    pending=()
    for site in "${SITES[@]}"; do
      kill -0 "${POD_PID[$site]}" 2>/dev/null || { tail -n 30 "${POD_LOG[$site]}" >&2; die "$site/qbox-0 exited"; }
      probe "$site" liveness || pending+=("$site(live)")
      probe "$site" readiness || pending+=("$site")
    done
    [ ${#pending[@]} -eq 0 ] && return 0
    if [ $SECONDS -ge $deadline ]; then
      for site in "${pending[@]}"; do site=${site%(live)}; echo "--- ${POD_LOG[$site]}" >&2; tail -n 30 "${POD_LOG[$site]}" >&2; done
      die "not ready within $1s: ${pending[*]}"
    fi
    sleep 0.5
  done
}

# What the kubelet does on pod deletion: SIGTERM, then SIGKILL after the
# grace period.
stop_pod() {
  local site="$1" pid="${POD_PID[$1]}" grace
  grace=$(plan_field "${POD_DIR[$site]}" terminationGracePeriodSeconds)
  kill -TERM "$pid" 2>/dev/null || true
  local deadline=$((SECONDS + grace))
  while kill -0 "$pid" 2>/dev/null; do
    if [ $SECONDS -ge $deadline ]; then
      kill -KILL "$pid"
      die "$site/qbox-0 did not stop within terminationGracePeriodSeconds (${grace}s) of SIGTERM"
    fi
    sleep 0.2
  done
  wait "$pid" 2>/dev/null || true
}

echo "==> starting one pod per site, each in its own network namespace"
for site in "${SITES[@]}"; do start_pod "$site"; done
wait_ready 60
echo "==> all pods live and ready (a leader was elected across the three sites)"

victim="${SITES[1]}"
echo "==> deleting $victim/qbox-0 and its volume, then starting it again"
stop_pod "$victim"
rm -rf "${POD_DIR[$victim]}/pvc-data"
restart_line=$(wc -l <"${POD_LOG[$victim]}")
[ ! -e "${POD_DIR[$victim]}/pvc-data" ] || die "could not delete $victim's volume"
start_pod "$victim"
wait_ready 90
# The second start only (the log holds both): it must have found its storage
# empty, learnt from its peers that the cluster exists and rejoined to
# rebuild (node_server.cc's narrative), never written a new genesis.
second_start=$(sed -n "$((restart_line + 1)),\$p" "${POD_LOG[$victim]}")
grep -E "rejoining as a recovering non-voter" <<<"$second_start" | head -n 1 | sed 's/^/    log: /'
grep -qE "rejoining as a recovering non-voter" <<<"$second_start" ||
  { tail -n 30 "${POD_LOG[$victim]}" >&2; die "$victim/qbox-0 did not log 'rejoining as a recovering non-voter' after losing its volume"; }
! grep -qE "writing the genesis entry" <<<"$second_start" ||
  die "$victim/qbox-0 wrote a new genesis after losing its volume instead of rejoining"
[ -n "$(ls -A "${POD_DIR[$victim]}/pvc-data" 2>/dev/null)" ] || die "$victim/qbox-0 wrote nothing to its new volume"
echo "==> $victim/qbox-0 rebuilt itself from the other sites and is ready again"

for site in "${SITES[@]}"; do stop_pod "$site"; done
echo "pods test: 1 passed, 0 failed"
