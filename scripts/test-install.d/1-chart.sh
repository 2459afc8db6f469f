# shellcheck shell=bash disable=SC2153,SC2034
# (SC2153, SC2034: the variables come from scripts/test-install and go on to the later phases.)
# Sourced by scripts/test-install (its header says what each phase proves).
# --- 1. the chart, offline and against the apiserver's dry run --------------------------------
step "helm lint, template, kubernetes-validate, dry-run"
# shellcheck disable=SC2046  # each $(...) adds a --set, or nothing
for values in "$CHART"/ci/*-values.yaml; do
  set_name=$(basename "$values" -values.yaml)
  # A migration's source may only be the release namespace: the set names the documented
  # `passwordless-operator`, so lint renders it there and template in this run's namespace.
  check "helm lint --strict ($set_name)" helm lint --strict "$CHART" -n passwordless-operator -f "$values"
  helm template "$RELEASE" "$CHART" -n "$NS" -f "$values" --include-crds \
    $(grep -q '^  migrateFrom:' "$values" && echo "--set signingKeys.migrateFrom=$NS") > "$WORK/$set_name.yaml"
  for k in 1.30.0 1.37.0; do
    check "kubernetes-validate --strict -k $k ($set_name)" \
      kubernetes-validate --strict --quiet -k "$k" "$WORK/$set_name.yaml"
  done
  # The bed is Kubernetes 1.20: no policy/v1 (PodDisruptionBudget) and no Prometheus Operator,
  # so those two are left out here (kubernetes-validate checked them above); the watched
  # namespaces become this run's own.
  # A dry run needs every namespace a Role goes to: the keys namespace becomes one made
  # beforehand ($KD; a Namespace object for it is then a no-op), a migration's source the
  # release namespace.
  helm template "$RELEASE" "$CHART" -n "$NS" -f "$values" --set podDisruptionBudget.enabled=false \
    --set metrics.serviceMonitor.enabled=false --set "signingKeys.namespace=$KD" \
    $(grep -q '^  migrateFrom:' "$values" && echo "--set signingKeys.migrateFrom=$NS") \
    $(grep -q '^watchNamespaces:' "$values" && echo "--set watchNamespaces={$WA,$WB}") > "$WORK/$set_name-bed.yaml"
done

# The RBAC rules rendered (over every value set) are the rbac/ files' rules, unchanged, and
# every file is rendered by some set.
check "rendered RBAC rules are exactly charts/passwordless-operator/rbac/*.yaml" \
  "$PY" scripts/py/rbac_rendered.py "$CHART/rbac" "$FULLNAME" "$WORK"/*-bed.yaml

# The exact permissions and NetworkPolicy per mode, against the tables in scripts/chart-permissions:
# its lines count as this suite's checks.
rc=0
"$PY" scripts/chart-permissions "$CHART" > "$WORK/permissions.out" 2>&1 || rc=$?
tally < "$WORK/permissions.out"
[ "$rc" = 0 ] || grep -q '^FAIL ' "$WORK/permissions.out" || fail "scripts/chart-permissions exited $rc"

# The packaged chart (what a registry serves) holds everything the templates read (rbac/).
helm package "$CHART" -d "$WORK" > /dev/null
check "the packaged chart renders the same as its folder" bash -c \
  "diff <(helm template $RELEASE $WORK/passwordless-operator-*.tgz -n $NS --include-crds) $WORK/default.yaml"

for f in "$CHART"/ci/invalid/*.yaml; do
  name=$(basename "$f" .yaml)
  if helm template "$RELEASE" "$CHART" -f "$f" > "$WORK/invalid.out" 2>&1; then
    fail "values refused: $name (helm template accepted it)"
    continue
  fi
  missing=$(sed -n 's/^# Expect: //p' "$f" | while IFS= read -r expect; do grep -qF -- "$expect" "$WORK/invalid.out" || echo "$expect"; done)
  if [ -z "$missing" ] && grep -q '^# Expect: ' "$f"; then ok "values refused: $name"
  else fail "values refused: $name: the message lacks: ${missing:-an Expect line}"; sed 's/^/     /' "$WORK/invalid.out"; fi
done

kubectl create namespace "$NS" > /dev/null
kubectl create namespace "$WA" > /dev/null
kubectl create namespace "$WB" > /dev/null
kubectl create namespace "$KD" > /dev/null
for values in "$CHART"/ci/*-values.yaml; do
  set_name=$(basename "$values" -values.yaml)
  check "kubectl apply --dry-run=server ($set_name)" kubectl apply --dry-run=server -f "$WORK/$set_name-bed.yaml"
done
# The CRD upgrade path the README documents, as a dry run: the bed's CRD is left as it is.
# (1.20 needs --validate=false and client-side apply: it predates x-kubernetes-validations.)
check "helm show crds | kubectl apply --dry-run=server (the CRD upgrade path)" \
  bash -c "helm show crds $CHART | kubectl apply --validate=false --dry-run=server -f -"
