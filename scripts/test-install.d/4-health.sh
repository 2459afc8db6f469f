# shellcheck shell=bash disable=SC2153,SC2034
# (SC2153, SC2034: the variables come from scripts/test-install and go on to the later phases.)
# Sourced by scripts/test-install (its header says what each phase proves).
# --- 4. Argo CD health over every status the operator wrote ---------------------------------
step "Argo CD health of every status the operator wrote"
kill "$WATCH_PID" 2>/dev/null || true; WATCH_PID=
# Its output (each status and the health it got) is worth reading whether it passes or not.
CHECK_OUTPUT=all
check "Argo CD health of each written status matches its condition" \
  "$PY" scripts/py/argocd_statuses.py "$WORK/statuses.json" "$WORK/argocd" "$WA" "$WB"
