"""Every status the operator wrote during scripts/test-install, through the Argo CD health check.

Reads the `kubectl get --watch -o json` stream (a List per page for pools already there, then one
object per change), keeps the objects of the given namespaces, runs `scripts/argocd-health eval`
over them (from the repository's root) and asserts each health matches what the object's Ready
condition says. Prints how many statuses of each (reason, health) it saw; fails unless it saw a
Healthy Ready, a Degraded InvalidSpec and AwsError, and a Progressing Provisioning.
PWP_INSTALL_CAPTURE=DIR copies the objects there (test data for the health check).
"""
import argparse
import json
import os
import shutil
import subprocess


def read_stream(path, namespaces):
    with open(path) as f:
        text = f.read()
    objs, i = [], 0
    dec = json.JSONDecoder()
    while True:
        while i < len(text) and text[i].isspace():
            i += 1
        if i >= len(text):
            break
        doc, i = dec.raw_decode(text, i)
        # Pools already in the cluster come first, as Lists (a page each); only this run's count.
        pools = doc["items"] if doc.get("kind", "").endswith("List") else [doc]
        objs += [o for o in pools if o["metadata"].get("namespace") in namespaces]
    return objs


def expected(o):
    """The health the check must give o: (status, message), message None when any will do."""
    conds = (o.get("status") or {}).get("conditions") or []
    ready = next((c for c in conds if c["type"] == "Ready"), None)
    gen = o["metadata"].get("generation")
    errors = ("AwsError", "KubernetesError", "SigningKeyError", "TriggerUnhealthy")
    if ready is None:
        return "Progressing", None
    if o["metadata"].get("deletionTimestamp"):
        if ready["reason"] in errors:
            return "Degraded", ready["message"]
        return "Progressing", ready["message"] if ready["reason"] == "Deleting" else "Being deleted"
    if (ready.get("observedGeneration") or 0) < gen:
        return "Progressing", f"Waiting for the operator to observe generation {gen}"
    if ready["status"] == "True":
        return "Healthy", ready["message"]
    degraded = errors + ("InvalidSpec", "NotAllowed", "SecretConflict")
    return ("Degraded" if ready["reason"] in degraded else "Progressing"), ready["message"]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("statuses", help="the watch's output")
    parser.add_argument("out", help="a folder for one JSON file per object")
    parser.add_argument("namespaces", nargs="+", help="the namespaces of this run's pools")
    args = parser.parse_args()

    objs = read_stream(args.statuses, args.namespaces)
    os.makedirs(args.out, exist_ok=True)
    paths = []
    for n, o in enumerate(objs):
        p = f"{args.out}/{n:03d}.json"
        with open(p, "w") as f:
            json.dump(o, f)
        paths.append(p)
    out = subprocess.run(["scripts/argocd-health", "eval", *paths], capture_output=True, text=True, check=True).stdout
    seen = {}
    for o, line in zip(objs, out.splitlines()):
        h = json.loads(line)
        conds = (o.get("status") or {}).get("conditions") or []
        ready = next((c for c in conds if c["type"] == "Ready"), None)
        want, msg = expected(o)
        key = (ready or {}).get("reason", "no status"), h["status"]
        seen[key] = seen.get(key, 0) + 1
        where = f"{o['metadata']['namespace']}/{o['metadata']['name']} {ready}"
        assert h["status"] == want, f"{where}: {h} (want {want})"
        assert msg is None or h["message"] == msg, f"{where}: {h} (want {msg!r})"
    print(len(objs), "statuses:", seen)
    assert {("Ready", "Healthy"), ("InvalidSpec", "Degraded"), ("AwsError", "Degraded"),
            ("Provisioning", "Progressing")} <= set(seen), seen
    if os.environ.get("PWP_INSTALL_CAPTURE"):
        shutil.copytree(args.out, os.environ["PWP_INSTALL_CAPTURE"], dirs_exist_ok=True)


if __name__ == "__main__":
    main()
