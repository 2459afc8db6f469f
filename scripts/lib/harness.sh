# shellcheck shell=bash
# The shell-driven suites' one harness (sourced by scripts/test-install, test-faults, test-web and
# lint-py): a reader, and scripts/test's closing tally, see the same shape in each of them.
#
#   harness_init NAME [ON_EXIT]   counts from zero; at exit (however it comes) ON_EXIT runs, then
#                                 the summary line is printed last
#   step TEXT                     "--- TEXT (Ns)", N the seconds since harness_init
#   check WHAT COMMAND...         one assertion: "ok   WHAT" or "FAIL WHAT"
#   need WHAT COMMAND...          an assertion the rest depends on: on failure, stop
#   wait_until SECONDS COMMAND... poll COMMAND until it succeeds; on timeout, say what was awaited
#   tally                         count a tool's "ok   "/"FAIL " lines (stdin) as this suite's
#   add_counts PASSED FAILED      count what another runner counted itself (the browser tests)
#
# Settings a suite may change after harness_init:
#   CHECK_OUTPUT=failure|all  when a check's output is shown (its last 20 lines on failure by
#                             default: a passing helm lint is noise; `all` for suites whose
#                             commands report what they found, in full)
#   POLL_SECONDS=0.5          wait_until's interval (a poll that lists many objects can go slower)
#   ON_NEED_FAILED=FUNCTION   what a failed `need` shows before stopping (say, the operator's logs)
#
# The summary is exactly "NAME: N passed, M failed" (scripts/test adds these up, matching that
# form), and the exit status is nonzero when anything failed. An exit that no check counted (a
# command failing under set -e, an interrupt) counts as one failure more, so a suite that stopped
# half-way can't look green.

harness_init() {
  HARNESS_NAME=$1 HARNESS_ON_EXIT=${2:-}
  HARNESS_START=$(date +%s) PASSED=0 FAILED=0 HARNESS_COUNTED=
  CHECK_OUTPUT=failure POLL_SECONDS=0.5 ON_NEED_FAILED=
  # Where the last check's output goes: a suite may show it (`cat "$HARNESS_LAST"`).
  HARNESS_LAST=$(mktemp "/tmp/pwp-$1-check.XXXXXX")
  trap harness_exit EXIT
}

step() { printf '\n--- %s (%ss)\n' "$*" $(($(date +%s) - HARNESS_START)); }

ok() { PASSED=$((PASSED + 1)); printf 'ok   %s\n' "$*"; }
fail() { FAILED=$((FAILED + 1)); printf 'FAIL %s\n' "$*"; }

# The command runs in this shell (not a subshell): a check may set variables for later ones.
check() {
  local what=$1; shift
  if "$@" > "$HARNESS_LAST" 2>&1; then
    ok "$what"
    [ "$CHECK_OUTPUT" != all ] || sed 's/^/     /' "$HARNESS_LAST"
  else
    fail "$what"
    if [ "$CHECK_OUTPUT" = all ]; then sed 's/^/     /' "$HARNESS_LAST"; else sed 's/^/     /' "$HARNESS_LAST" | tail -n 20; fi
  fi
}

need() {
  local before=$FAILED
  check "$@"
  [ "$FAILED" = "$before" ] && return 0
  [ -z "$ON_NEED_FAILED" ] || "$ON_NEED_FAILED"
  HARNESS_COUNTED=1   # this failure is counted already
  exit 1
}

# Silent while polling: only the last attempt's output is shown, with the timeout, so a failed
# check says what it waited for rather than nothing.
wait_until() {
  local seconds=$1; shift
  local deadline=$(($(date +%s) + seconds)) out
  out=$(mktemp "/tmp/pwp-wait.XXXXXX")
  until "$@" > "$out" 2>&1; do
    if [ "$(date +%s)" -ge "$deadline" ]; then
      tail -n 20 "$out" >&2
      printf 'timed out after %ss waiting for: %s\n' "$seconds" "$*" >&2
      rm -f "$out"
      return 1
    fi
    sleep "$POLL_SECONDS"
  done
  rm -f "$out"
}

tally() {
  local line
  while IFS= read -r line; do
    case $line in
      "ok   "*) ok "${line#ok   }" ;;
      "FAIL "*) fail "${line#FAIL }" ;;
      *) printf '%s\n' "$line" ;;
    esac
  done
}

add_counts() { PASSED=$((PASSED + $1)) FAILED=$((FAILED + $2)); }

harness_exit() {
  local status=$?
  set +e
  [ -z "$HARNESS_ON_EXIT" ] || "$HARNESS_ON_EXIT" "$status"
  if [ "$status" != 0 ] && [ -z "$HARNESS_COUNTED" ]; then
    fail "$HARNESS_NAME stopped early (exit status $status)"
  fi
  rm -f "$HARNESS_LAST"
  printf '%s took %ss\n' "$HARNESS_NAME" $(($(date +%s) - HARNESS_START))
  printf '%s: %d passed, %d failed\n' "$HARNESS_NAME" "$PASSED" "$FAILED"
  [ "$FAILED" = 0 ] && [ "$status" = 0 ] && exit 0
  exit 1
}
