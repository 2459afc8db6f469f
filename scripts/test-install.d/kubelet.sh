# shellcheck shell=bash disable=SC2153
# (SC2153: the variables come from scripts/test-install and 2-install.sh.)
# Sourced by scripts/test-install: the kubelet's part, which the bed lacks. The node pulls the
# image the Deployment names through its containers policy, which requires the release key's
# signature (registry.sh publishes it), and the operator's replicas are started as a container
# runtime would start the Deployment's pods, from $ROOTFS (the image unpacked, or its stand-in,
# laid out by 2-install.sh).

# The node's containers policy, as CRI-O or Podman read /etc/containers/policy.json: nothing from
# anywhere, except from the registry an image signed by the release key (PUBKEY) for the
# repository it is pulled from.
write_node_policy() {
  cat > "$WORK/policy.json" <<EOF
{"default": [{"type": "reject"}],
 "transports": {"docker": {"$REGISTRY": [{"type": "sigstoreSigned", "keyPath": "$1",
   "signedIdentity": {"type": "matchRepository"}}]}}}
EOF
}
# pull REF LAYOUT: the image as the node pulls it, through that policy, into an OCI layout (the
# signatures are checked, not kept: a layout can't hold them).
pull() {
  "$SKOPEO" --policy "$WORK/policy.json" --registries.d "$REGISTRIES_D" copy -q --remove-signatures \
    --src-tls-verify=false "docker://$1" "oci:$2"
}
# pull_refused REPO@DIGEST REASON: the pull fails, for REASON.
pull_refused() {
  if pull "$REGISTRY/$1" "$WORK/refused:image" > "$WORK/pull.out" 2>&1; then echo "pulled $1: accepted"; return 1; fi
  cat "$WORK/pull.out"
  grep -qF "$2" "$WORK/pull.out"
}

# container.sh ROOTFS UID READONLY ARGS...: the image's entrypoint as an OCI runtime starts it,
# with the caller's environment (run it under `env -i`): its own mount namespace, the /dev nodes
# and /proc every runtime provides (the static binary's random source falls back to
# /dev/urandom), the root filesystem read-only when READONLY is 1, chrooted, as UID.
cat > "$WORK/container.sh" <<'SH'
r=$1 u=$2 ro=$3; shift 3
/bin/mount --bind "$r" "$r" || exit 1
for d in null zero full random urandom; do /bin/mount --bind "/dev/$d" "$r/dev/$d" || exit 1; done
/bin/mount -t proc proc "$r/proc" || exit 1
if [ "$ro" = 1 ]; then /bin/mount -o remount,bind,ro "$r" || exit 1; fi
exec /usr/bin/env -u PWD -u OLDPWD -u SHLVL -u _ /usr/sbin/chroot --userspec="$u:$u" "$r" "$@"
SH
# container UID READONLY ARGS...
container() {
  local uid=$1 ro=$2; shift 2
  /usr/bin/unshare --mount --propagation private /bin/sh "$WORK/container.sh" "$ROOTFS" "$uid" "$ro" "$IMAGE_ENTRYPOINT" "$@"
}

# The Deployment as Helm rendered it: args, env (downward API resolved as the kubelet would),
# probes, mounts.
deployment_spec() {
  helm get manifest "$RELEASE" -n "$NS" > "$WORK/manifest.yaml"
  "$PY" scripts/py/deployment_spec.py "$WORK/manifest.yaml" "$WORK"
  # ConfigMap volumes: their data as files under the mount path.
  while read -r path cm; do
    mkdir -p "$ROOTFS$path"
    kubectl get configmap "$cm" -n "$NS" -o json |
      "$PY" -c 'import json,sys,os; d=json.load(sys.stdin)["data"]; [open(os.path.join(sys.argv[1],k),"w").write(v) for k,v in d.items()]' "$ROOTFS$path"
  done < "$WORK/mounts"
}
pod_field() { "$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$WORK/pod.json" "$1"; }

# start_replica N: one pod's container, as the kubelet would start it.
start_replica() {
  local n=$1 pod=$FULLNAME-$ID-$1 port
  port=$("$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  local env=(PATH=/usr/local/bin:/usr/bin:/bin HOSTNAME="$pod" "${IMAGE_ENV[@]}"
    "KUBERNETES_SERVICE_HOST=localhost" "KUBERNETES_SERVICE_PORT=${KUBE_HOST_PORT##*:}"
    AWS_ACCESS_KEY_ID=testbed AWS_SECRET_ACCESS_KEY=testbed)
  local line
  while IFS= read -r line; do
    case $line in
      *=@metadata.namespace) env+=("${line%%=*}=$NS") ;;
      *=@metadata.name) env+=("${line%%=*}=$pod") ;;
      *) env+=("$line") ;;
    esac
  done < "$WORK/env"
  local args=()
  while IFS= read -r line; do
    # A pod has its own network namespace; this process shares the machine's: the one argument
    # replaced is the listen address, which becomes a free loopback port.
    case $line in --http-addr=*) args+=("--http-addr=127.0.0.1:$port") ;; *) args+=("$line") ;; esac
  done < "$WORK/args"
  local ro=0
  [ "$(pod_field readOnly)" = True ] && ro=1
  # As the pod's user, read-only as its securityContext asks, with exactly the container's
  # environment.
  env -i "${env[@]}" /usr/bin/unshare --mount --propagation private /bin/sh "$WORK/container.sh" \
    "$ROOTFS" "$(pod_field uid)" "$ro" "$IMAGE_ENTRYPOINT" "${args[@]}" > "$WORK/replica-$n.log" 2>&1 &
  PIDS[n]=$!
  PORTS[n]=$port
}
stop_replicas() {
  local p
  for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  PIDS=() PORTS=()
}
probe() { curl -sf "http://127.0.0.1:${PORTS[$1]}$2"; }
leader_count() {
  local n c=0
  for n in "${!PORTS[@]}"; do probe "$n" /metrics 2>/dev/null | grep -q '^passwordless_operator_leader 1' && c=$((c + 1)); done
  [ "$c" = 1 ]
}
# start_deployment: the rollout of the Deployment as Helm has it now; the rest of the run needs
# it, so its checks stop the run when they fail.
start_deployment() {
  deployment_spec
  local n
  for n in $(seq 0 $(( $(pod_field replicas) - 1 ))); do start_replica "$n"; done
  need "every replica answers its liveness probe ($(pod_field liveness))" wait_until 30 bash -c \
    "for p in ${PORTS[*]}; do curl -sf http://127.0.0.1:\$p$(pod_field liveness) || exit 1; done"
  need "every replica answers its readiness probe ($(pod_field readiness))" wait_until 30 bash -c \
    "for p in ${PORTS[*]}; do curl -sf http://127.0.0.1:\$p$(pod_field readiness) || exit 1; done"
  need "exactly one of $(pod_field replicas) replicas leads (Lease in $NS)" wait_until 40 leader_count
}
