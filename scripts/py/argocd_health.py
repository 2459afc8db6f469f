"""Argo CD health checks, run with Debian's lua5.1 + dkjson as Argo CD runs them.

Run by scripts/argocd-health (its header lists the commands), with the tools venv's Python:
  argocd_health.py ROOT [test | eval OBJECT... | cm]
`test` runs every health_test.yaml under argocd/resource_customizations and checks that the
argocd-cm snippet holds health.lua as it is, closing with "argocd-health: N passed, N failed".
"""
import argparse
import json, pathlib, subprocess, sys, tempfile
import yaml


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("root", help="the repository")
    parser.add_argument("command", nargs="?", default="test", help="test (the default), eval or cm")
    parser.add_argument("objects", nargs="*", help="eval: the objects, JSON or YAML files")
    options = parser.parse_args()
    root = pathlib.Path(options.root)
    runner = root / "scripts/argocd-health.lua"
    HEALTH = "argocd/resource_customizations/passwordless-operator.dev/PasswordlessPool/health.lua"

    def health(script, obj):
        with tempfile.NamedTemporaryFile("w", suffix=".json") as f:
            json.dump(obj, f)
            f.flush()
            out = subprocess.run(["lua5.1", str(runner), str(script), f.name],
                                 capture_output=True, text=True)
        if out.returncode != 0:
            raise RuntimeError(out.stderr.strip())
        return json.loads(out.stdout)

    def load(path):
        text = pathlib.Path(path).read_text()
        return json.loads(text) if path.endswith(".json") else yaml.safe_load(text)

    cmd, args = options.command, options.objects
    if cmd == "eval":
        for path in args:
            print(json.dumps({"object": path, **health(root / HEALTH, load(path))}))
        sys.exit(0)
    CM = root / "examples/argocd/argocd-cm.yaml"

    def snippet():
        lua = (root / HEALTH).read_text()
        body = "".join("    " + l if l.strip() else "\n" for l in lua.splitlines(True))
        return ("# Argo CD's health check for PasswordlessPools: merge into the argocd-cm ConfigMap.\n"
                "# Generated from " + HEALTH + " by `scripts/argocd-health cm`\n"
                "# (`scripts/argocd-health test` fails when it differs).\n"
                "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: argocd-cm\n  namespace: argocd\n"
                "  labels:\n    app.kubernetes.io/name: argocd-cm\n    app.kubernetes.io/part-of: argocd\n"
                "data:\n  resource.customizations.health.passwordless-operator.dev_PasswordlessPool: |\n" + body)

    if cmd == "cm":
        sys.stdout.write(snippet())
        sys.exit(0)
    if cmd != "test":
        sys.exit("usage: scripts/argocd-health test | eval OBJECT... | cm")
    passed = failed = 0
    for test_file in sorted(root.glob("argocd/resource_customizations/*/*/health_test.yaml")):
        folder = test_file.parent
        for case in yaml.safe_load(test_file.read_text())["tests"]:
            want = case["healthStatus"]
            try:
                got = health(folder / "health.lua", load(str(folder / case["inputPath"])))
                ok = got["status"] == want["status"] and got.get("message") == want.get("message")
            except Exception as e:  # a crashing script fails its case
                got, ok = {"error": str(e)}, False
            name = f"{folder.relative_to(root / 'argocd/resource_customizations')}: {case['inputPath']}"
            if ok:
                passed += 1
                print(f"ok   {name}: {got['status']}")
            else:
                failed += 1
                print(f"FAIL {name}: want {want}, got {got}")
    # The snippet people paste holds exactly the tested script.
    shipped = CM.read_text() if CM.exists() else ""
    if shipped == snippet() and yaml.safe_load(shipped)["data"]["resource.customizations.health.passwordless-operator.dev_PasswordlessPool"] == (root / HEALTH).read_text():
        passed += 1
        print(f"ok   {CM.relative_to(root)} holds health.lua as it is")
    else:
        failed += 1
        print(f"FAIL {CM.relative_to(root)} differs from health.lua: run scripts/argocd-health cm > {CM.relative_to(root)}")
    print(f"argocd-health: {passed} passed, {failed} failed")
    sys.exit(1 if failed or not passed else 0)


if __name__ == "__main__":
    main()
