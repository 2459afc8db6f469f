"""What the fault proxy (scripts/testbed.d/fault-proxy.py) says it injected, from its GET /_faults
report saved to a file, for scripts/test-faults.

  fault_proxy_report.py injected REPORT   one line: each kind and its count, of how many calls
  fault_proxy_report.py by-kind REPORT    four numbers: throttles answered in JSON protocols,
                                          throttles of IAM/STS (query protocol: no
                                          x-amzn-ErrorType header), server errors, and dropped
                                          or lost answers
"""
import argparse
import json


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("what", choices=["injected", "by-kind"])
    parser.add_argument("report", help="the proxy's /_faults answer, as JSON")
    args = parser.parse_args()
    with open(args.report) as f:
        r = json.load(f)
    if args.what == "injected":
        print(", ".join(f"{k} {v}" for k, v in sorted(r["injected"].items())), "of", r["calls"], "calls")
        return
    by_op = r["by_operation"]

    def n(kind, query):
        return sum(v.get(kind, 0) for k, v in by_op.items() if (k.split(":")[0] in ("iam", "sts")) == query)

    def both(kind):
        return n(kind, False) + n(kind, True)

    print(n("throttle", False), n("throttle", True), both("server"), both("drop") + both("lost"))


if __name__ == "__main__":
    main()
