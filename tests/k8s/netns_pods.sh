# Sourced by run.sh (phase "pods"): WORK, TOOLS, QBOXNODE, QBOXCTL, SITES,
# CREDS, CLEANUP and die() come from there; the rendered overlays are in
# $WORK/rendered/SITE.yaml.
#
# Each site is a Kubernetes cluster of its own, built from network
# namespaces:
#   SITE's node network  pod qbox-0 in its own namespace at 10.244.0.10 (the
#                        same address in every site: the clusters are
#                        separate), on a bridge in the site's gateway
#                        namespace (10.244.0.1), from which the test probes
#                        the pods as the kubelet would;
#   SITE's gateway       the site's edge: its load balancer answers on the
#                        site's published address (10.77.0.2N) and forwards
#                        to the pod the published Service selects; the pods'
#                        own connections leave from the site's egress
#                        address (10.77.0.1N).
# The gateways meet on one more namespace's bridge (the "internet",
# 10.77.0.0/24), which has no route to any node network. So the sites reach
# each other only through the published addresses, by the names the sites
# publish (the external-dns annotations, resolved by /etc/hosts); inside a
# site, its own cluster DNS names resolve to its own pods. Each pod's
# certificate is issued from the site's Certificate object by the site's CA
# (issue_certificates.mjs plays cert-manager). Nothing is sent to any
# address outside these namespaces. Everything is removed on exit, also on
# failure.

[ "$(id -u)" -eq 0 ] || die "the pods test needs root (network and mount namespaces)"
ip netns list >/dev/null 2>&1 || die "'ip netns' is not available (iproute2 with network namespace support is needed)"
for tool in setpriv unshare curl flock openssl; do need "$tool" "util-linux / curl / openssl"; done
need nft "Debian package nftables (the sites' load balancers)"
need promtool "Debian package prometheus"
# Kernels without veth, bridges or nf_tables NAT fail here, loudly, in the
# first ip or nft command.

BIN="$WORK/image-bin"  # what the image has in /usr/local/bin
mkdir -p "$BIN"
cp "$QBOXNODE" "$BIN/qbox-node"
cp "$QBOXCTL" "$BIN/qboxctl"
chmod 0755 "$BIN" "$BIN"/*

TAG="qbx$$"
WAN="$TAG-wan"
ip netns add "$WAN" || die "cannot create network namespace $WAN"
CLEANUP+=("ip netns del $WAN")
ip -n "$WAN" link set lo up
ip -n "$WAN" link add br0 type bridge
ip -n "$WAN" link set br0 up

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

# What a site's rendering says about its names, one per line:
#   pod-dns NAME SHORT    pod qbox-0's cluster DNS name (headless Service)
#   published HOST PORT   each port of pod qbox-0's published Service
#   service NAME...       a ClusterIP Service's cluster DNS names (its one
#                         ready pod is qbox-0)
site_facts() {
  node --input-type=module -e '
    const { loadRendered, onlyOne, ofKind } = await import(process.argv[1]);
    const objects = loadRendered(process.argv[2]);
    const sts = onlyOne(objects, "StatefulSet", process.argv[2]);
    const pod = `${sts.metadata.name}-0`;
    console.log(`pod-dns ${pod}.${sts.spec.serviceName}.${sts.metadata.namespace}.svc.cluster.local ${pod}`);
    for (const s of ofKind(objects, "Service").filter((s) => s.spec.type === "LoadBalancer")) {
      const host = s.metadata.annotations?.["external-dns.alpha.kubernetes.io/hostname"];
      if (!host || s.spec.selector?.["statefulset.kubernetes.io/pod-name"] !== pod) {
        throw new Error(`${process.argv[2]}: Service ${s.metadata.name} publishes no host for ${pod}`);
      }
      for (const p of s.spec.ports) console.log(`published ${host} ${p.port}`);
    }
    for (const s of ofKind(objects, "Service").filter((s) => (s.spec.type ?? "ClusterIP") === "ClusterIP" && s.spec.clusterIP !== "None")) {
      const name = `${s.metadata.name}.${s.metadata.namespace}.svc`;
      console.log(`service ${name} ${name}.cluster.local`);
    }
  ' "$TOOLS/rendered.mjs" "$1"
}

POD_IP=10.244.0.10 CLUSTER_DNS_IP=10.96.0.10
declare -A POD_NS GW_NS LB_IP EGRESS_IP POD_PID POD_DIR POD_LOG POD_OBJECTS
PUBLIC_DNS=""
i=0
for site in "${SITES[@]}"; do
  i=$((i + 1))
  POD_NS[$site]="$TAG-$i-pod"
  GW_NS[$site]="$TAG-$i-gw"
  EGRESS_IP[$site]="10.77.0.$((10 + i))"
  LB_IP[$site]="10.77.0.$((20 + i))"
  POD_DIR[$site]="$WORK/pods/$site"
  POD_LOG[$site]="$WORK/pods/$site.log"
  mkdir -p "${POD_DIR[$site]}"
  chmod 0755 "$WORK/pods" "${POD_DIR[$site]}"
  gw="${GW_NS[$site]}" ns="${POD_NS[$site]}"
  for n in "$gw" "$ns"; do
    ip netns add "$n" || die "cannot create network namespace $n"
    CLEANUP+=("ip netns del $n")
    ip -n "$n" link set lo up
  done
  # The site's node network: a bridge in the gateway, the pod on a veth.
  ip -n "$gw" link add cl0 type bridge
  ip -n "$gw" addr add 10.244.0.1/24 dev cl0
  ip -n "$gw" link set cl0 up
  ip link add "${TAG}c$i" type veth peer name "${TAG}p$i" || die "cannot create a veth pair"
  ip link set "${TAG}c$i" netns "$gw"
  ip link set "${TAG}p$i" netns "$ns"
  ip -n "$gw" link set "${TAG}c$i" master cl0 up
  ip -n "$ns" link set "${TAG}p$i" name eth0
  ip -n "$ns" addr add "$POD_IP/24" dev eth0
  ip -n "$ns" link set eth0 up
  ip -n "$ns" route add default via 10.244.0.1
  ip -n "$ns" route add unreachable "$CLUSTER_DNS_IP/32"
  # The gateway on the internet: the egress and the published address.
  ip link add "${TAG}w$i" type veth peer name "${TAG}g$i" || die "cannot create a veth pair"
  ip link set "${TAG}w$i" netns "$WAN"
  ip link set "${TAG}g$i" netns "$gw"
  ip -n "$WAN" link set "${TAG}w$i" master br0 up
  ip -n "$gw" link set "${TAG}g$i" name wan
  ip -n "$gw" addr add "${EGRESS_IP[$site]}/24" dev wan
  ip -n "$gw" addr add "${LB_IP[$site]}/32" dev wan
  ip -n "$gw" link set wan up
  ip netns exec "$gw" sysctl -qw net.ipv4.ip_forward=1
  # The load balancer: each published port of the published address to the
  # pod; the pods' own connections leave from the egress address.
  facts=$(site_facts "$WORK/rendered/$site.yaml") || die "cannot read the published Services of $site"
  rules=""
  while read -r kind host port; do
    [ "$kind" = published ] || continue
    rules+="    ip daddr ${LB_IP[$site]} tcp dport $port dnat to $POD_IP:$port"$'\n'
    PUBLIC_DNS+="${LB_IP[$site]} $host"$'\n'
  done <<<"$facts"
  [ -n "$rules" ] || die "$site publishes no address (no LoadBalancer Service with a host)"
  ip netns exec "$gw" nft -f - <<NFT || die "cannot set up $site's load balancer with nft"
table ip qbox {
  chain prerouting {
    type nat hook prerouting priority dstnat;
$rules  }
  chain postrouting {
    type nat hook postrouting priority srcnat;
    oifname "wan" snat to ${EGRESS_IP[$site]}
    ip saddr 10.244.0.0/24 ip daddr 10.244.0.0/24 ct status dnat masquerade
  }
}
NFT
  # Its certificates, issued from its Certificate objects by its own CA.
  node "$TOOLS/issue_certificates.mjs" --rendered "$WORK/rendered/$site.yaml" \
    --ca-cert "$CREDS/$site/ca.crt" --ca-key "$CREDS/$site/ca.key" \
    --work "$WORK/issuing/$site" --out "$WORK/issuing/$site.yaml" ||
    die "cannot issue $site's certificates from its Certificate objects"
  POD_OBJECTS[$site]="$WORK/pods/$site-objects.yaml"
  cat "$WORK/rendered/$site.yaml" "$WORK/issuing/$site.yaml" >"${POD_OBJECTS[$site]}"
done

# DNS: inside a site, its own cluster names (its pods under the headless
# Service); everywhere, the names every site publishes. No name server: the
# pods' resolv.conf names the usual cluster DNS address, to which each pod
# has an "unreachable" route, so a lookup /etc/hosts cannot answer (an IPv6
# address) fails at once instead of waiting for a server that cannot answer.
printf 'nameserver %s\n' "$CLUSTER_DNS_IP" >"$WORK/pods/resolv.conf"
chmod 0644 "$WORK/pods/resolv.conf"
for site in "${SITES[@]}"; do
  hosts="$WORK/pods/$site.hosts"
  printf '127.0.0.1 localhost\n' >"$hosts"
  site_facts "$WORK/rendered/$site.yaml" |
    awk -v ip="$POD_IP" '$1 == "pod-dns" || $1 == "service" { print ip, $2, $3 }' >>"$hosts"
  printf '%s' "$PUBLIC_DNS" >>"$hosts"
  chmod 0644 "$hosts"
done

plan_field() { node -e 'const p=JSON.parse(require("fs").readFileSync(process.argv[1]));console.log(eval("p."+process.argv[2]))' "$1/plan.json" "$2"; }

# Lays out pod qbox-0 of SITE from its rendered manifests (pod_plan.mjs) and
# starts it: exactly the rendered command, arguments, environment, user and
# mounts, with its volume "data" at $POD_DIR/pvc-data (kept across restarts
# unless the test deletes it).
start_pod() {
  local site="$1" dir="${POD_DIR[$1]}"
  rm -rf "$dir/volumes"
  node "$TOOLS/pod_plan.mjs" --rendered "${POD_OBJECTS[$site]}" --pod qbox-0 --pod-dir "$dir" \
    --volume "data=$dir/pvc-data" --netns "${POD_NS[$site]}" --bin-dir "$BIN" --hosts "$WORK/pods/$site.hosts" \
    --resolv "$WORK/pods/resolv.conf" ||
    die "cannot lay out $site's pod from its rendered manifests"
  local target
  for target in $(plan_field "$dir" 'mountTargets.join(" ")'); do ensure_mount_point "$target"; done
  local argv=()
  mapfile -d '' argv <"$dir/launch.argv"
  "${argv[@]}" >>"${POD_LOG[$site]}" 2>&1 &
  POD_PID[$site]=$!
  CLEANUP+=("kill -KILL ${POD_PID[$site]} 2>/dev/null; wait ${POD_PID[$site]} 2>/dev/null")
  echo "    started $site/qbox-0 (pid ${POD_PID[$site]}), published at ${LB_IP[$site]}: $(plan_field "$dir" 'argv.join(" ")')"
}

# As the kubelet probes: HTTP GET on the pod's address and the probe's
# port, from the site's own node network.
probe() {
  local site="$1" which="$2" dir="${POD_DIR[$1]}"
  local path port
  path=$(plan_field "$dir" "$which.path") port=$(plan_field "$dir" "$which.port")
  ip netns exec "${GW_NS[$site]}" curl -fsS --max-time 2 -o /dev/null "http://$POD_IP:$port$path" 2>/dev/null
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

echo "==> starting one pod per site, each in its own site's network, published by its load balancer"
for site in "${SITES[@]}"; do start_pod "$site"; done
wait_ready 60
echo "==> all pods live and ready (a leader was elected across the three sites' published addresses)"
# Only the published addresses are reachable between the sites.
! ip netns exec "$WAN" curl -fsS --max-time 2 -o /dev/null "http://$POD_IP:$(plan_field "${POD_DIR[${SITES[0]}]}" ports.metrics)/healthz" 2>/dev/null ||
  die "a pod's own address is reachable from outside its site"

# The alerts ask for series a real node exports.
node "$TOOLS/alert_rules.mjs" --rendered "$WORK/rendered/${SITES[0]}.yaml" --out "$WORK/rules.yaml" ||
  die "cannot read the PrometheusRule"
ip netns exec "${GW_NS[${SITES[0]}]}" curl -fsS --max-time 5 -o "$WORK/metrics.txt" \
  "http://$POD_IP:$(plan_field "${POD_DIR[${SITES[0]}]}" ports.metrics)/metrics" ||
  die "cannot scrape ${SITES[0]}/qbox-0's /metrics"
node "$TOOLS/check_rule_series.mjs" --rules "$WORK/rules.yaml" --metrics "$WORK/metrics.txt" \
  --promtool-test "$WORK/captured_test.yaml" ||
  die "the alert rules use series a node does not export"
# And on what a healthy node exports, no alert fires.
(cd "$WORK" && promtool test rules captured_test.yaml >"$WORK/captured_test.log" 2>&1) ||
  { cat "$WORK/captured_test.log" >&2; die "an alert fires on a healthy node's own /metrics (promtool test rules)"; }
echo "    promtool: no alert fires on the $(grep -c '^qbox_' "$WORK/metrics.txt") series scraped from ${SITES[0]}/qbox-0"

# The backup CronJob of the first site, run as its job would run, three
# times with QBOX_BACKUP_KEEP=2, in a pod of its own on that site's node
# network: each run saves and verifies a backup; two remain.
site="${SITES[0]}" BACKUP_NS="$TAG-1-backup" BACKUP_DIR="$WORK/pods/backup"
ip netns add "$BACKUP_NS" || die "cannot create network namespace $BACKUP_NS"
CLEANUP+=("ip netns del $BACKUP_NS")
ip link add "${TAG}bc" type veth peer name "${TAG}bp" || die "cannot create a veth pair"
ip link set "${TAG}bc" netns "${GW_NS[$site]}"
ip link set "${TAG}bp" netns "$BACKUP_NS"
ip -n "${GW_NS[$site]}" link set "${TAG}bc" master cl0 up
ip -n "$BACKUP_NS" link set "${TAG}bp" name eth0
ip -n "$BACKUP_NS" addr add 10.244.0.20/24 dev eth0
ip -n "$BACKUP_NS" link set eth0 up
ip -n "$BACKUP_NS" link set lo up
ip -n "$BACKUP_NS" route add unreachable "$CLUSTER_DNS_IP/32"
mkdir -p "$BACKUP_DIR"
chmod 0755 "$BACKUP_DIR"
node "$TOOLS/pod_plan.mjs" --rendered "${POD_OBJECTS[$site]}" --cronjob qbox-backup --pod qbox-backup-manual \
  --pod-dir "$BACKUP_DIR" --volume "backups=$BACKUP_DIR/pvc" --netns "$BACKUP_NS" --bin-dir "$BIN" \
  --hosts "$WORK/pods/$site.hosts" --resolv "$WORK/pods/resolv.conf" --set-env QBOX_BACKUP_KEEP=2 ||
  die "cannot lay out $site's backup job from its rendered CronJob"
for target in $(plan_field "$BACKUP_DIR" 'mountTargets.join(" ")'); do ensure_mount_point "$target"; done
mapfile -d '' backup_argv <"$BACKUP_DIR/launch.argv"
for run in 1 2 3; do
  "${backup_argv[@]}" >>"$BACKUP_DIR/job.log" 2>&1 ||
    { tail -n 20 "$BACKUP_DIR/job.log" >&2; die "$site's backup job failed (run $run)"; }
done
mapfile -t kept < <(ls "$BACKUP_DIR/pvc"/qbox-*.qbox 2>/dev/null)
[ ${#kept[@]} -eq 2 ] || { cat "$BACKUP_DIR/job.log" >&2; die "the backup job kept ${#kept[@]} backups, not QBOX_BACKUP_KEEP=2"; }
for f in "${kept[@]}"; do
  "$QBOXCTL" snapshot verify "$f" >/dev/null || die "a kept backup does not verify: $f"
done
grep 'saved and verified' "$BACKUP_DIR/job.log" | tail -n 1 | sed 's/^/    job: /'
echo "==> $site's backup job saved and verified 3 backups and kept the newest 2"

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
# The StatefulSet asks for --log-format=json: what a log shipper reads
# from each pod must be one JSON object per line, every line.
for site in "${SITES[@]}"; do
  node -e '
    const lines = require("fs").readFileSync(process.argv[1], "utf8").split("\n").filter(Boolean);
    for (const line of lines) {
      let entry;
      try { entry = JSON.parse(line); } catch { entry = null; }
      if (!entry || typeof entry.msg !== "string") { console.error(`not a JSON log line: ${line}`); process.exit(1); }
    }
    if (lines.length === 0) { console.error("no log lines"); process.exit(1); }
  ' "${POD_LOG[$site]}" || die "$site/qbox-0's log is not one JSON object per line"
done
echo "pods test: 1 passed, 0 failed"
