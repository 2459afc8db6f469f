# shellcheck shell=bash disable=SC2153,SC2034
# (SC2153, SC2034: the variables come from scripts/test-install and go on to the later phases.)
# Sourced by scripts/test-install (its header says what each phase proves).
# --- 3. pools through the installed operator ------------------------------------------------
step "a pool in $WA becomes Ready, with its Secret"
pool() { sed -e "s/^  name: demo/  name: $2/" -e "s/^  namespace: default/  namespace: $1/" examples/magic-link.yaml; }
pool "$WA" demo | kubectl apply -f - > /dev/null
check "pool $WA/demo Ready" kubectl wait --for=condition=Ready "passwordlesspool/demo" -n "$WA" --timeout=180s
check "its Secret demo-cognito holds userPoolId, clientId, region, issuerUrl, jwksUrl" bash -c \
  "kubectl get secret demo-cognito -n $WA -o json | $PY -c 'import json,sys; d=json.load(sys.stdin)[\"data\"]; assert {\"userPoolId\",\"clientId\",\"region\",\"issuerUrl\",\"jwksUrl\"} <= set(d), d'"
POOL_A=$(kubectl get passwordlesspool demo -n "$WA" -o jsonpath='{.status.userPoolId}')

# An invalid pool: 1.20 ignores the CRD's CEL rules, the operator's own validation refuses it.
sed -e "s/namespace: default/namespace: $WA/" examples/invalid/03-magic-link-without-section.yaml |
  kubectl apply --validate=false -f - > /dev/null
check "an invalid pool is refused with InvalidSpec" wait_until 60 bash -c \
  "kubectl get passwordlesspool no-links -n $WA -o jsonpath='{.status.conditions[0].reason}' | grep -qx InvalidSpec"
kubectl delete passwordlesspool no-links -n "$WA" --timeout=60s > /dev/null || true
if [ "$TENANCY" = 1 ]; then
  # A sender the tenancy file does not grant this namespace: refused before any AWS call.
  pool "$WA" elsewhere | sed 's/no-reply@example.com/no-reply@elsewhere.example.org/' | kubectl apply -f - > /dev/null
  check "a sender the tenancy file does not grant is refused with NotAllowed" wait_until 60 bash -c \
    "kubectl get passwordlesspool elsewhere -n $WA -o jsonpath='{.status.conditions[0].reason}' | grep -qx NotAllowed"
  kubectl delete passwordlesspool elsewhere -n "$WA" --timeout=60s > /dev/null || true
fi

step "the upgrade from chart 0.1 (keys in $NS): refused until migrateFrom is set, then the keys move unchanged"
KEYS_A=pwp-keys.$WA.demo KEYS_B=pwp-keys.$WB.demo
keys_of() { kubectl get secret "$1" -n "$2" -o jsonpath='{.data.keys\.json}'; }
check "pool $WA/demo's signing keys are in $KEYS_NS, none in $NS" bash -c \
  "kubectl get secret $KEYS_A -n $KEYS_NS > /dev/null && ! kubectl get secret $KEYS_A -n $NS 2>/dev/null"
KEYS_BEFORE=$(keys_of "$KEYS_A" "$KEYS_NS")
# What an install of chart 0.1 leaves: its operator stopped, the keys in the release namespace.
stop_replicas
kubectl get secret "$KEYS_A" -n "$KEYS_NS" -o json | "$PY" scripts/py/secret_copy.py "$NS" | kubectl create -f - > /dev/null
kubectl delete secret "$KEYS_A" -n "$KEYS_NS" > /dev/null
upgrade_refused() {
  ! helm upgrade "$RELEASE" "$CHART" -n "$NS" "${BED_VALUES[@]}" --set "watchNamespaces={$WA}" > "$WORK/refused.out" 2>&1 || return 1
  cat "$WORK/refused.out"
  grep -qF "signingKeys.migrateFrom=$NS" "$WORK/refused.out" && grep -qF "$KEYS_A" "$WORK/refused.out"
}
check "helm upgrade is refused while old keys are in $NS, naming them and what to do" upgrade_refused
check "helm upgrade --set signingKeys.migrateFrom=$NS" helm upgrade "$RELEASE" "$CHART" -n "$NS" "${BED_VALUES[@]}" \
  --set "watchNamespaces={$WA}" --set "signingKeys.migrateFrom=$NS"
check "while migrating, SA may get and delete Secrets in $NS, not list or create them" bash -c \
  "for v in get delete; do [ \"\$(KUBECONFIG=$SA_KUBECONFIG kubectl auth can-i \$v secrets -n $NS)\" = yes ] || exit 1; done
   for v in list create; do [ \"\$(KUBECONFIG=$SA_KUBECONFIG kubectl auth can-i \$v secrets -n $NS)\" = no ] || exit 1; done"
deployment_spec
check "the Deployment passes --keys-migrate-from=$NS" grep -qx -- "--keys-migrate-from=$NS" "$WORK/args"
start_deployment
check "the operator moved the keys to $KEYS_NS unchanged, and none is left in $NS" wait_until 60 bash -c \
  "[ \"\$(kubectl get secret $KEYS_A -n $KEYS_NS -o jsonpath='{.data.keys\.json}')\" = '$KEYS_BEFORE' ] && ! kubectl get secret $KEYS_A -n $NS"
check "pool $WA/demo still Ready with its old keys" kubectl wait --for=condition=Ready "passwordlesspool/demo" -n "$WA" --timeout=60s

step "helm upgrade: watch $WB too, resync 120 s, JSON logs (and migrateFrom unset again)"
check "helm upgrade" helm upgrade "$RELEASE" "$CHART" -n "$NS" "${BED_VALUES[@]}" \
  --set "watchNamespaces={$WA,$WB}" --set resyncSeconds=120 --set logFormat=json
check "the output-Secret RoleBinding now exists in $WB" kubectl get rolebinding "$FULLNAME-output-secrets" -n "$WB"
check "SA may now write output Secrets in $WB" can create secrets -n "$WB"
check "the migration's grant is gone: SA may not read Secrets in $NS" cannot get secrets -n "$NS"
deployment_spec
check "the Deployment's args changed" grep -qx -- "--namespaces=$WA,$WB" "$WORK/args"
check "the Deployment's args changed (resync, log format)" bash -c "grep -qx -- --resync-seconds=120 $WORK/args && grep -qx -- --log-format=json $WORK/args"
# The rollout, as the kubelet would do it: the old pods stop, the new ones start.
stop_replicas
start_deployment
check "the new replicas log JSON" bash -c "head -n 1 $WORK/replica-0.log | $PY -c 'import json,sys; json.loads(sys.stdin.readline())'"
pool "$WB" demo | kubectl apply -f - > /dev/null
check "pool $WB/demo Ready" kubectl wait --for=condition=Ready "passwordlesspool/demo" -n "$WB" --timeout=180s
check "its Secret demo-cognito exists" kubectl get secret demo-cognito -n "$WB"
POOL_B=$(kubectl get passwordlesspool demo -n "$WB" -o jsonpath='{.status.userPoolId}')
check "pool $WA/demo still Ready after the rollout" kubectl wait --for=condition=Ready "passwordlesspool/demo" -n "$WA" --timeout=60s
check "pool $WA/demo's keys unchanged after the rollout" bash -c "[ \"\$(kubectl get secret $KEYS_A -n $KEYS_NS -o jsonpath='{.data.keys\.json}')\" = '$KEYS_BEFORE' ]"

step "deleting $WA/demo with the operator running removes its AWS resources"
aws_pool_exists() { "$PY" scripts/py/aws_probe.py pool-exists "$1"; }
aws_pool_gone() { local rc=0; aws_pool_exists "$1" || rc=$?; [ "$rc" = 1 ]; }
check "user pool $POOL_A exists in AWS" aws_pool_exists "$POOL_A"
check "kubectl delete $WA/demo completes" kubectl delete passwordlesspool demo -n "$WA" --timeout=120s
check "user pool $POOL_A is gone from AWS" aws_pool_gone "$POOL_A"

step "helm uninstall, as documented: the CRD, the pools, their AWS resources and the keys stay"
KEYS_B_BEFORE=$(keys_of "$KEYS_B" "$KEYS_NS")
check "helm uninstall" helm uninstall "$RELEASE" -n "$NS"
stop_replicas   # the pods go with their Deployment
check "the CRD stays" kubectl get crd passwordlesspools.passwordless-operator.dev
check "pool $WB/demo stays (with its finalizer)" bash -c "kubectl get passwordlesspool demo -n $WB -o jsonpath='{.metadata.finalizers}' | grep -q passwordless"
check "its user pool $POOL_B stays in AWS" aws_pool_exists "$POOL_B"
check "the keys namespace $KEYS_NS and its key Secret stay" bash -c \
  "[ \"\$(kubectl get namespace $KEYS_NS -o jsonpath='{.status.phase}')\" = Active ] && [ -n '$KEYS_B_BEFORE' ] && [ \"\$(kubectl get secret $KEYS_B -n $KEYS_NS -o jsonpath='{.data.keys\.json}')\" = '$KEYS_B_BEFORE' ]"
check "the ServiceAccount, its RBAC and the Deployment are gone" bash -c \
  "! kubectl get serviceaccount $FULLNAME -n $NS 2>/dev/null && ! kubectl get clusterrole $FULLNAME 2>/dev/null && ! kubectl get clusterrolebinding $FULLNAME 2>/dev/null && ! kubectl get rolebinding $FULLNAME-output-secrets -n $WA 2>/dev/null && ! kubectl get role $FULLNAME-keys -n $KEYS_NS 2>/dev/null && ! kubectl get deployment $FULLNAME -n $NS 2>/dev/null"
check "the old token no longer works" bash -c "! KUBECONFIG=$SA_KUBECONFIG kubectl get passwordlesspools -n $WB 2>/dev/null"
# Stale status for Argo: the spec changes while no operator runs.
kubectl patch passwordlesspool demo -n "$WB" --type=merge -p '{"spec":{"tags":{"team":"identity","changed":"yes"}}}' > /dev/null

step "reinstall: the pool is picked up again with the same keys; deleting it removes its AWS resources"
check "helm install again (the kept keys namespace is taken back)" helm install "$RELEASE" "$CHART" -n "$NS" "${BED_VALUES[@]}" --set "watchNamespaces={$WA,$WB}"
token > "$SA_DIR/token"
start_deployment
check "pool $WB/demo Ready again for its new generation" bash -c \
  "kubectl wait --for=condition=Ready passwordlesspool/demo -n $WB --timeout=120s && [ \"\$(kubectl get passwordlesspool demo -n $WB -o jsonpath='{.status.observedGeneration}')\" = \"\$(kubectl get passwordlesspool demo -n $WB -o jsonpath='{.metadata.generation}')\" ]"
check "pool $WB/demo's keys are the ones from before the uninstall" bash -c \
  "[ \"\$(kubectl get secret $KEYS_B -n $KEYS_NS -o jsonpath='{.data.keys\.json}')\" = '$KEYS_B_BEFORE' ]"
# A refused cleanup: someone attached a managed policy to the pool's role, IAM refuses DeleteRole.
iam() { "$PY" scripts/py/aws_probe.py iam "$@"; }
# The trigger's execution role, as AWS reports it (the operator's naming is its own business).
ROLE_B=$("$PY" scripts/py/aws_probe.py function-role \
  "$(kubectl get passwordlesspool demo -n "$WB" -o jsonpath='{.status.triggerFunctionArns[0]}')")
POLICY=$(iam Action=CreatePolicy "PolicyName=install-$ID-extra" \
  'PolicyDocument={"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:ListBucket","Resource":"*"}]}')
iam Action=AttachRolePolicy "RoleName=$ROLE_B" "PolicyArn=$POLICY" > /dev/null
kubectl delete passwordlesspool demo -n "$WB" --wait=false > /dev/null
check "a refused cleanup keeps the finalizer and says why (AwsError, DeleteConflict)" wait_until 60 bash -c \
  "kubectl get passwordlesspool demo -n $WB -o jsonpath='{.status.conditions[0].reason} {.status.conditions[0].message}' | grep -q '^AwsError.*DeleteConflict'"
iam Action=DetachRolePolicy "RoleName=$ROLE_B" "PolicyArn=$POLICY" > /dev/null
check "once fixed, the cleanup completes and the pool goes" kubectl wait --for=delete passwordlesspool/demo -n "$WB" --timeout=120s
check "user pool $POOL_B is gone from AWS" aws_pool_gone "$POOL_B"
stop_replicas
