# shellcheck shell=bash disable=SC2153,SC2034,SC2317
# (SC2153: the variables come from scripts/test-install; SC2034: IMAGE_REF goes on to 2-install.sh;
# SC2317: functions called through `check`.)
# Sourced by scripts/test-install: the publisher's side of the install path. A registry on a free
# loopback port (Debian's docker-registry, CNCF distribution 2.8), its data under $WORK, started
# by 2-install.sh and stopped by the run's cleanup; the image pushed there with skopeo and signed
# with a sigstore key made for this run. Sid's skopeo (scripts/install-tools) signs in cosign's
# format and layout: an ECDSA P-256 signature over a "simple signing" payload that names the
# repository and the manifest digest, stored as the tag sha256-<digest>.sig next to the image, so
# `cosign verify --key` reads it as well. The image's SBOMs (make image's, beside the layout) go
# along as a signed OCI artefact whose subject is the image, at the tag sha256-<digest>.sbom. The
# node's side, the pull that verifies them, is kubelet.sh's.
REGISTRY_PID='' REGISTRY='' IMAGE_REF='' SBOM_TAG=''
SKOPEO=$PWP_SKOPEO_SIGSTORE
REPO=passwordless-operator
VERSION=$(sed -n 's/^appVersion: *"\{0,1\}\([^"]*\)"\{0,1\}$/\1/p' "$CHART/Chart.yaml")
KEYS=$WORK/keys
# Signatures for this registry are sigstore attachments (publisher and node alike).
REGISTRIES_D=$WORK/registries.d

registry_start() {
  local dir=$WORK/registry port
  mkdir -p "$dir/data" "$REGISTRIES_D"
  port=$("$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  REGISTRY=127.0.0.1:$port
  # No http.debug section: the one listener is this address.
  cat > "$dir/config.yml" <<EOF
version: 0.1
log: {level: warn, accesslog: {disabled: true}}
storage: {filesystem: {rootdirectory: $dir/data}}
http: {addr: "$REGISTRY", secret: $(openssl rand -hex 16)}
EOF
  docker-registry serve "$dir/config.yml" > "$dir/log" 2>&1 &
  REGISTRY_PID=$!
  printf 'docker:\n  %s:\n    use-sigstore-attachments: true\n' "$REGISTRY" > "$REGISTRIES_D/registry.yaml"
  wait_until 10 curl -sf "http://$REGISTRY/v2/"
}
registry_stop() {
  [ -n "$REGISTRY_PID" ] || return 0
  kill "$REGISTRY_PID" 2>/dev/null || true
  wait "$REGISTRY_PID" 2>/dev/null || true
  REGISTRY_PID=''
}
# Every socket the registry listens on is the loopback address it was given.
registry_on_loopback_only() {
  local listening
  listening=$(ss -Htlnp | grep "pid=$REGISTRY_PID," | awk '{print $4}')
  echo "listening: $listening"
  [ "$listening" = "$REGISTRY" ]
}

# push LAYOUT DEST [KEY]: skopeo copy to $REGISTRY/DEST, signed with KEY's private half if given.
# The publisher trusts its own build: its policy accepts anything.
push() {
  local sign=()
  [ -z "${3:-}" ] || sign=(--sign-by-sigstore-private-key "$KEYS/$3.private" --sign-passphrase-file "$KEYS/passphrase")
  "$SKOPEO" --policy "$WORK/publisher-policy.json" --registries.d "$REGISTRIES_D" copy -q --src-tls-verify=false --dest-tls-verify=false \
    "${sign[@]}" "$1" "docker://$REGISTRY/$2"
}
registry_tags() { curl -sf "http://$REGISTRY/v2/$1/tags/list"; }

# publish_image LAYOUT: the registry, the run's keys, the signed image and the images the node
# must refuse; sets IMAGE_REF (repository@digest) for the chart's values.
publish_image() {
  local layout=$1 digest
  step "the image published to a registry on loopback, signed with a sigstore key made for this run"
  need "docker-registry serves on a free loopback port" registry_start
  check "the registry listens on loopback only" registry_on_loopback_only
  mkdir -p "$KEYS"
  openssl rand -hex 16 > "$KEYS/passphrase"
  echo '{"default":[{"type":"insecureAcceptAnything"}]}' > "$WORK/publisher-policy.json"
  # The release key, and another one, as a stranger's.
  need "skopeo generate-sigstore-key: the run's key pair, and another" bash -c \
    "'$SKOPEO' generate-sigstore-key --output-prefix '$KEYS/release' --passphrase-file '$KEYS/passphrase' &&
     '$SKOPEO' generate-sigstore-key --output-prefix '$KEYS/other' --passphrase-file '$KEYS/passphrase'"
  write_node_policy "$KEYS/release.pub"
  need "skopeo pushes $layout to $REGISTRY/$REPO:$VERSION, signed with the run's key" \
    push "oci:$layout" "$REPO:$VERSION" release
  digest=$("$SKOPEO" --policy "$WORK/publisher-policy.json" inspect --tls-verify=false --format '{{.Digest}}' "docker://$REGISTRY/$REPO:$VERSION")
  IMAGE_REF=$REGISTRY/$REPO@$digest
  check "the registry serves the layout's manifest unchanged ($digest)" bash -c \
    "jq -r '.manifests[0].digest' '${layout%:*}/index.json' | grep -qx '$digest'"
  check "the signature is where cosign looks for it: the tag ${digest/:/-}.sig" bash -c \
    "curl -sf http://$REGISTRY/v2/$REPO/tags/list | jq -e '.tags | index(\"${digest/:/-}.sig\")'"
  local sboms
  sboms=$(dirname "${layout%:*}")/sbom
  if compgen -G "$sboms/*.cdx.json" > /dev/null; then
    SBOM_TAG=${digest/:/-}.sbom
    "$PY" scripts/py/sbom_artifact.py make "$WORK/sbom-artifact" "${layout%:*}" "$sboms"/*.cdx.json > /dev/null
    need "the SBOMs in $sboms attached to the image, signed: an OCI artefact at $REPO:$SBOM_TAG" \
      push "oci:$WORK/sbom-artifact:sbom" "$REPO:$SBOM_TAG" release
  fi
  # The same image where the policy must refuse it: unsigned; signed by the other key; and our
  # signed image copied, signature and all, into another repository (the signature names ours).
  push_refusables() {
    push "oci:$layout" "unsigned/$REPO:$VERSION" && push "oci:$layout" "other-key/$REPO:$VERSION" other &&
      push "docker://$REGISTRY/$REPO@$digest" "copied/$REPO:$VERSION"
  }
  need "the images the node must refuse are pushed" push_refusables
  check "REFUSED on pull: the image unsigned" \
    pull_refused "unsigned/$REPO@$digest" 'A signature was required, but no signature exists'
  check "REFUSED on pull: the image signed by another key" \
    pull_refused "other-key/$REPO@$digest" 'cryptographic signature verification failed'
  check "REFUSED on pull: the signed image copied with its signature to another repository" \
    pull_refused "copied/$REPO@$digest" "Signature for identity \\\"$REGISTRY/$REPO:$VERSION\\\" is not accepted"
}
