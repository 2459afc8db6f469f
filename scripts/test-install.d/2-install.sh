# shellcheck shell=bash disable=SC2153,SC2034
# (SC2153, SC2034: the variables come from scripts/test-install and go on to the later phases.)
# Sourced by scripts/test-install (its header says what each phase proves).
# --- 2. helm install, and the operator as the Deployment runs it --------------------------------
# The image: an OCI layout (make image's by default), published to a registry on loopback and
# pulled from it as the node would, through a policy that requires its signature; or, without
# one, a stand-in root filesystem.
IMAGE=${PWP_INSTALL_IMAGE:-}
[ -z "$IMAGE" ] && [ -f target/image/oci/index.json ] && IMAGE=target/image/oci:latest
[ "$IMAGE" = none ] && IMAGE=
BED_VALUES=(--set podDisruptionBudget.enabled=false --set "aws.endpointUrl=$AWS_ENDPOINT_URL"
  --set "aws.region=$AWS_REGION" --set logLevel=info)
if [ -n "$IMAGE" ]; then
  publish_image "$IMAGE"
  # The chart pins the image by digest: what the node verifies is what it runs.
  BED_VALUES+=(--set "image.repository=${IMAGE_REF%@*}" --set "image.digest=${IMAGE_REF#*@}")
fi

step "helm install into the bed"
check "helm install (watching $WA)" helm install "$RELEASE" "$CHART" -n "$NS" "${BED_VALUES[@]}" \
  --set "watchNamespaces={$WA}"
check "the CRD is installed (crds/)" kubectl get crd passwordlesspools.passwordless-operator.dev

# The root filesystem the container gets: the pulled image unpacked, or its stand-in.
ROOTFS=$WORK/bundle/rootfs
if [ -n "$IMAGE" ]; then
  step "the operator from the image the Deployment names, pulled through the node's policy"
  POD_IMAGE=$(kubectl get deployment "$FULLNAME" -n "$NS" -o jsonpath='{.spec.template.spec.containers[0].image}')
  check "the Deployment names the image in the registry by digest ($POD_IMAGE)" [ "$POD_IMAGE" = "$IMAGE_REF" ]
  need "ACCEPTED on pull: the image signed by the run's key" pull "$POD_IMAGE" "$WORK/pulled:pod"
  # shellcheck disable=SC2046  # --rootless, or nothing
  umoci unpack $([ "$(id -u)" = 0 ] || echo --rootless) --image "$WORK/pulled:pod" "$WORK/bundle" > /dev/null
  # The image's own entrypoint, environment and user, as a container runtime reads them.
  read -r IMAGE_ENTRYPOINT IMAGE_UID < <("$PY" scripts/py/oci_config.py process "$WORK/bundle/config.json")
  mapfile -t IMAGE_ENV < <("$PY" scripts/py/oci_config.py env "$WORK/bundle/config.json")
  # Its SBOMs (make image), one per binary it holds.
  has_components() { jq -e --argjson want "$(printf '%s\n' "${@:2}" | jq -R . | jq -s .)" \
    '[.components[].name] as $have | all($want[]; . as $w | $have | index($w))' "$ROOTFS$IMAGE_SBOM/$1" > /dev/null; }
  check "the image's SBOM of the operator ($IMAGE_SBOM/passwordless-operator.cdx.json) lists kube, aws-sdk-cognitoidentityprovider, hyper" \
    has_components passwordless-operator.cdx.json kube aws-sdk-cognitoidentityprovider hyper
  check "the image's SBOM of the trigger ($IMAGE_SBOM/bootstrap.cdx.json) lists lambda_runtime, aws-sdk-sesv2" \
    has_components bootstrap.cdx.json lambda_runtime aws-sdk-sesv2
  # The signed SBOM artefact next to it: what a platform team reads without pulling the image.
  attached_sboms_are_the_images() {
    pull "$REGISTRY/$REPO:$SBOM_TAG" "$WORK/sbom-pulled:sbom" &&
      "$PY" scripts/py/sbom_artifact.py files "$WORK/sbom-pulled" "$WORK/sbom-attached" &&
      diff -r "$WORK/sbom-attached" "$ROOTFS$IMAGE_SBOM"
  }
  [ -z "$SBOM_TAG" ] || check "the SBOMs attached in the registry ($REPO:$SBOM_TAG), pulled through the node's policy, are the image's own" \
    attached_sboms_are_the_images
  IMAGE="$POD_IMAGE (pushed from $IMAGE)"
else
  step "the operator from a stand-in root filesystem (no image: run 'make image' to test the image itself)"
  cargo build --locked -q -p passwordless-operator
  mkdir -p "$ROOTFS$(dirname "$IMAGE_ENTRYPOINT")" "$ROOTFS$(dirname "$IMAGE_ZIP")" "$ROOTFS/etc/ssl/certs"
  # A private copy: the shared target directory's binary is overwritten by whoever builds last.
  cp "$CARGO_TARGET_DIR/debug/passwordless-operator" "$ROOTFS$IMAGE_ENTRYPOINT"
  cp target/lambda/bootstrap.zip "$ROOTFS$IMAGE_ZIP"
  cp /etc/ssl/certs/ca-certificates.crt "$ROOTFS/etc/ssl/certs/"
  # The debug binary is dynamic: its libraries come along (the image's binary is static).
  for lib in $(ldd "$ROOTFS$IMAGE_ENTRYPOINT" | grep -o '/[^ ]*'); do
    mkdir -p "$ROOTFS$(dirname "$lib")" && cp -L "$lib" "$ROOTFS$lib"
  done
  # The image's environment, as the Containerfile sets it.
  mapfile -t IMAGE_ENV < <(sed -n 's/^ENV \([A-Z_][A-Z0-9_]*=.*\)$/\1/p' Containerfile)
fi
[ -f target/lambda/bootstrap.zip ] || [ -n "$IMAGE" ] || { echo "target/lambda/bootstrap.zip is missing: make triggers" >&2; exit 1; }

# What the kubelet would mount: the ServiceAccount's token (TokenRequest API), the cluster CA
# and the namespace; /etc/hosts.
SA_DIR=$ROOTFS/var/run/secrets/kubernetes.io/serviceaccount
mkdir -p "$SA_DIR" "$ROOTFS/etc"
# token: a TokenRequest for the chart's ServiceAccount (the API itself: any kubectl can send it).
token() {
  printf '{"apiVersion":"authentication.k8s.io/v1","kind":"TokenRequest","spec":{"expirationSeconds":7200}}' > "$WORK/tokenrequest.json"
  kubectl create --raw "/api/v1/namespaces/$NS/serviceaccounts/$FULLNAME/token" -f "$WORK/tokenrequest.json" |
    "$PY" -c 'import json,sys; print(json.load(sys.stdin)["status"]["token"], end="")'
}
token > "$SA_DIR/token"
kubectl config view --raw --minify -o jsonpath='{.clusters[0].cluster.certificate-authority}' | xargs cat > "$SA_DIR/ca.crt"
printf '%s' "$NS" > "$SA_DIR/namespace"
printf '127.0.0.1\tlocalhost\n' > "$ROOTFS/etc/hosts"
KUBE_HOST_PORT=$(kubectl config view --minify -o jsonpath='{.clusters[0].cluster.server}' | sed 's#https://##')

# The binary in that root filesystem resolves names (/etc/hosts, as the kubelet writes it) and
# verifies TLS against the CA store: `plan` sends its first AWS call to https://localhost:<the
# apiserver's port>. Trusting the bed's CA (SSL_CERT_FILE), it gets the apiserver's HTTP 403;
# with the image's own store, the handshake is refused.
cp examples/magic-link.yaml "$ROOTFS/tls-probe.yaml"
cp "$SA_DIR/ca.crt" "$ROOTFS/etc/ssl/certs/testbed-ca.crt" 2>/dev/null || { mkdir -p "$ROOTFS/etc/ssl/certs"; cp "$SA_DIR/ca.crt" "$ROOTFS/etc/ssl/certs/testbed-ca.crt"; }
chmod -R a+rX "$ROOTFS"
mkdir -p "$ROOTFS/dev" "$ROOTFS/proc"
for d in null zero full random urandom; do touch "$ROOTFS/dev/$d"; done

probe_says() {
  local want=$1 store=$2 out
  out=$(env -i PATH=/usr/local/bin:/usr/bin:/bin "${IMAGE_ENV[@]}" HOME=/ RUST_BACKTRACE=0 SSL_CERT_FILE="$store" \
    AWS_ENDPOINT_URL="https://localhost:${KUBE_HOST_PORT##*:}" AWS_REGION=us-east-1 AWS_ACCESS_KEY_ID=x AWS_SECRET_ACCESS_KEY=x \
    /usr/bin/unshare --mount --propagation private /bin/sh "$WORK/container.sh" "$ROOTFS" "$IMAGE_UID" 0 \
    "$IMAGE_ENTRYPOINT" plan -f /tls-probe.yaml 2>&1) || true
  printf '%s\n' "$out" | cut -c1-300
  grep -qF "$want" <<< "$out"
}
check "the binary resolves localhost and talks TLS with a trusted CA (HTTP 403 from the apiserver)" \
  probe_says 'StatusCode(403)' /etc/ssl/certs/testbed-ca.crt
check "the binary refuses TLS to a server its CA store does not trust" \
  probe_says 'UnknownIssuer' /etc/ssl/certs/ca-certificates.crt

# The chart's ServiceAccount, and only it: what its token may and may not do.
SA_KUBECONFIG=$WORK/sa.kubeconfig
kubectl config view --raw --minify > "$SA_KUBECONFIG"
KUBECONFIG=$SA_KUBECONFIG kubectl config set-credentials sa --token="$(cat "$SA_DIR/token")" > /dev/null
KUBECONFIG=$SA_KUBECONFIG kubectl config set-context --current --user=sa > /dev/null
as_sa() { KUBECONFIG=$SA_KUBECONFIG kubectl "$@"; }
can() { [ "$(as_sa auth can-i "$@" 2>/dev/null)" = yes ]; }
cannot() { ! can "$@"; }
check "the token is the chart's ServiceAccount" bash -c "KUBECONFIG=$SA_KUBECONFIG kubectl get passwordlesspools -A > /dev/null"
check "SA may write output Secrets in $WA" can create secrets -n "$WA"
check "SA may not read Secrets in $WB (not watched)" cannot get secrets -n "$WB"
check "SA may not read Secrets in default" cannot get secrets -n default
check "SA may not read Secrets in kube-system" cannot get secrets -n kube-system
# The release namespace: Helm's release Secrets hold the values (the tenancy rules among them).
check "SA may not read Secrets in $NS (the release namespace)" cannot get secrets -n "$NS"
check "SA is refused Helm's release Secret sh.helm.release.v1.$RELEASE.v1" bash -c \
  "kubectl get secret sh.helm.release.v1.$RELEASE.v1 -n $NS > /dev/null && KUBECONFIG=$SA_KUBECONFIG kubectl get secret sh.helm.release.v1.$RELEASE.v1 -n $NS 2>&1 | grep -q Forbidden"
check "SA may read, create, update and delete signing-key Secrets in $KEYS_NS" bash -c \
  "for v in get create update delete; do [ \"\$(KUBECONFIG=$SA_KUBECONFIG kubectl auth can-i \$v secrets -n $KEYS_NS)\" = yes ] || exit 1; done"
check "SA may not list or watch Secrets in $KEYS_NS (it reads each key by name)" bash -c \
  "for v in list watch; do [ \"\$(KUBECONFIG=$SA_KUBECONFIG kubectl auth can-i \$v secrets -n $KEYS_NS)\" = no ] || exit 1; done"
check "the keys namespace $KEYS_NS is the chart's, kept on uninstall" bash -c \
  "kubectl get namespace $KEYS_NS -o jsonpath='{.metadata.annotations.helm\.sh/resource-policy}' | grep -qx keep"
check "the NetworkPolicy is on: ingress to the metrics port only, egress left alone" bash -c \
  "kubectl get networkpolicy $FULLNAME -n $NS -o json | $PY -c 'import json,sys; s=json.load(sys.stdin)[\"spec\"]; assert s[\"policyTypes\"]==[\"Ingress\"] and [p[\"port\"] for r in s[\"ingress\"] for p in r[\"ports\"]]==[\"http-metrics\"], s'"
check "SA may keep its Lease in $NS" can update leases.coordination.k8s.io -n "$NS"
check "SA may not touch Leases elsewhere" cannot update leases.coordination.k8s.io -n "$WA"
check "SA may not delete pools" cannot delete passwordlesspools.passwordless-operator.dev -n "$WA"

# Every status the operator writes, for the Argo CD health check (4.).
kubectl get passwordlesspools --all-namespaces --watch -o json > "$WORK/statuses.json" 2>/dev/null &
WATCH_PID=$!

# The tenancy file (`--tenancy-config`) and a cluster id: exercised once the operator knows the
# flags. Until then the chart leaves them out (tenancy empty, clusterId default), and so does
# this run.
TENANCY=0
RUN_HELP=$(container "$IMAGE_UID" 1 run --help 2>&1 || true)
if grep -q -- --tenancy-config <<< "$RUN_HELP"; then
  cat > "$WORK/tenancy-values.yaml" <<EOF
tenancy:
  unmappedNamespaces: OperatorAccount
  namespaces:
    $WA: {senders: {addresses: [no-reply@example.com]}}
    $WB: {senders: {domains: [example.com]}}
EOF
  BED_VALUES+=(-f "$WORK/tenancy-values.yaml" --set "clusterId=bed-$ID")
  TENANCY=1
  check "helm upgrade with a tenancy file and a cluster id" helm upgrade "$RELEASE" "$CHART" -n "$NS" "${BED_VALUES[@]}" --set "watchNamespaces={$WA}"
else
  echo "(the operator has no --tenancy-config yet: the tenancy file is checked by helm template and kubernetes-validate only)"
fi

start_deployment
# The image's MIMALLOC_ALLOW_THP=0, as the kernel sees it (why: Cargo.toml, `no_thp`).
check "the operator runs without transparent huge pages (THP_enabled: 0)" \
  grep -Eq '^THP_enabled:[[:space:]]+0$' "/proc/${PIDS[0]}/status"
if [ "$TENANCY" = 1 ]; then
  check "the Deployment passes --cluster-id and --tenancy-config" bash -c \
    "grep -qx -- --cluster-id=bed-$ID $WORK/args && grep -qx -- --tenancy-config=/etc/passwordless-operator/tenancy.yaml $WORK/args"
fi

