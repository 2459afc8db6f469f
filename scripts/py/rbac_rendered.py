"""The RBAC rules the chart renders are exactly its rbac/ files' rules, and every file is rendered.

scripts/test-install renders the chart once per ci/*-values.yaml; this reads those renderings and
compares every Role and ClusterRole with the rbac/ file of the same name (the chart's fullname in
place of `passwordless-operator`). Exit 0 when they match, else an AssertionError naming the first
difference.
"""
import argparse
import pathlib

import yaml


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("rbac_dir", help="the chart's rbac/ folder")
    parser.add_argument("fullname", help="the release's fullname, e.g. pwp-abc123-passwordless-operator")
    parser.add_argument("rendered", nargs="+", help="helm template outputs")
    args = parser.parse_args()

    want = {}
    for f in sorted(pathlib.Path(args.rbac_dir).glob("*.yaml")):
        d = yaml.safe_load(f.read_text())
        want[(d["kind"], d["metadata"]["name"].replace("passwordless-operator", args.fullname, 1))] = d["rules"]
    seen = set()
    for path in args.rendered:
        with open(path) as f:
            docs = list(yaml.safe_load_all(f))
        for d in docs:
            if d and d["kind"] in ("ClusterRole", "Role"):
                key = (d["kind"], d["metadata"]["name"])
                assert key in want, f"{path}: {key} has no rbac/ file"
                assert d["rules"] == want[key], f"{path}: {key} rules {d['rules']} != rbac/ {want[key]}"
                seen.add(key)
    assert seen == set(want), f"never rendered: {set(want) - seen}"


if __name__ == "__main__":
    main()
