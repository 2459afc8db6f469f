"""A Secret (JSON on stdin) as a new object in another namespace (JSON on stdout).

Keeps only the name, labels and annotations of its metadata, so `kubectl create -f -` makes a
fresh copy: scripts/test-install uses it to leave signing keys where chart 0.1 kept them.
"""
import argparse
import json
import sys


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("namespace", help="the copy's namespace")
    args = parser.parse_args()
    s = json.load(sys.stdin)
    m = s["metadata"]
    s["metadata"] = {k: m[k] for k in ("name", "labels", "annotations") if k in m}
    s["metadata"]["namespace"] = args.namespace
    print(json.dumps(s))


if __name__ == "__main__":
    main()
