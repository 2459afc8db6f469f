"""Whether every start of a controller led soon enough, for scripts/test-faults' crash part.

  lease_starts.py EVENTS LOG WITHIN

EVENTS holds the test's own lines `start|kill|stop EPOCH-SECONDS`; LOG is the controller's JSON
log, every start appended. A start that lived WITHIN seconds must have logged `leading` within
WITHIN seconds of its start (a restart that waited for its killed predecessor's lease to expire
would not); a start killed sooner, perhaps before it logged anything, proves nothing either way.
Prints one line per start and exits 1 if one failed.
"""
import argparse
import json
import sys
import time
from datetime import datetime


def epoch(rfc3339):
    return datetime.fromisoformat(rfc3339.replace("Z", "+00:00")).timestamp()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("events")
    parser.add_argument("log")
    parser.add_argument("within", type=float)
    args = parser.parse_args()
    starts = []  # [start, end or None]
    with open(args.events) as f:
        for line in f:
            what, at = line.split()
            if what == "start":
                starts.append([float(at), None])
            elif starts and starts[-1][1] is None:
                starts[-1][1] = float(at)
    leads = []
    with open(args.log) as f:
        for line in f:
            try:
                entry = json.loads(line)
            except ValueError:
                continue
            if entry.get("fields", {}).get("message", "").startswith("leading:"):
                leads.append(epoch(entry["timestamp"]))
    now, failed, lines = time.time(), 0, []
    for i, (start, end) in enumerate(starts, 1):
        lived = (end if end is not None else now) - start
        led = next((t - start for t in leads if start <= t < (end if end is not None else now)), None)
        if led is not None and led <= args.within:
            lines.append(f"start {i}: led after {led:.2f} s")
        elif lived < args.within:
            lines.append(f"start {i}: killed after {lived:.2f} s, not leading yet (proves nothing)")
        else:
            failed += 1
            lines.append(f"start {i}: lived {lived:.1f} s, " + (f"led only after {led:.1f} s" if led is not None else "never led"))
    print("; ".join(lines))
    sys.exit(1 if failed or not starts else 0)


if __name__ == "__main__":
    main()
