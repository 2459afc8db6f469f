"""The operator's Deployment as Helm rendered it, written out as files the test's kubelet reads.

From a `helm get manifest`, writes into OUT: `args` (one a line), `env` (NAME=value, or
NAME=@fieldPath for the downward API, resolved by the caller as the kubelet would), `mounts`
("mountPath configMapName" a line) and `pod.json` (replicas, uid, readOnly, the liveness and
readiness probes' paths).
"""
import argparse
import json

import yaml


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("manifest", help="helm get manifest's output")
    parser.add_argument("out", help="the folder to write args, env, mounts and pod.json into")
    args = parser.parse_args()
    with open(args.manifest) as f:
        d = next(x for x in yaml.safe_load_all(f) if x and x["kind"] == "Deployment")
    pod = d["spec"]["template"]["spec"]
    c = pod["containers"][0]
    out = args.out
    with open(f"{out}/args", "w") as f:
        f.write("\n".join(c["args"]) + "\n")
    env = []
    for e in c.get("env", []):
        if "value" in e:
            env.append(f"{e['name']}={e['value']}")
        else:
            env.append(f"{e['name']}=@{e['valueFrom']['fieldRef']['fieldPath']}")
    with open(f"{out}/env", "w") as f:
        f.write("\n".join(env) + "\n")
    mounts = {v["name"]: v for v in pod.get("volumes", [])}
    lines = [f"{m['mountPath']} {mounts[m['name']]['configMap']['name']}" for m in c.get("volumeMounts", [])]
    with open(f"{out}/mounts", "w") as f:
        f.write("".join(line + "\n" for line in lines))
    with open(f"{out}/pod.json", "w") as f:
        json.dump({"replicas": d["spec"]["replicas"], "uid": pod["securityContext"]["runAsUser"],
                   "readOnly": c["securityContext"]["readOnlyRootFilesystem"],
                   "liveness": c["livenessProbe"]["httpGet"]["path"],
                   "readiness": c["readinessProbe"]["httpGet"]["path"]}, f)


if __name__ == "__main__":
    main()
