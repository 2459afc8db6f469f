"""parliament over every IAM document the operator makes, each finding explained or failed.

Run by scripts/test-iam-policy (its header says what and why), with the parliament venv's Python:
  iam_policy_check.py ROOT BINARY PARLIAMENT
ROOT the repository, BINARY a passwordless-operator binary (its `iam-policy` prints the documents),
PARLIAMENT the parliament command. Prints one line per document and closes with
"iam-policy: N passed, N failed"; exit 1 on any failure.
"""
import argparse
import fnmatch, json, os, pathlib, re, shutil, subprocess, sys, tempfile
import yaml


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("root", help="the repository")
    parser.add_argument("binary", help="a passwordless-operator binary")
    parser.add_argument("parliament", help="the parliament command")
    args = parser.parse_args()
    root, binary, parliament = pathlib.Path(args.root), args.binary, args.parliament
    here = root / "operator/src/iam_policy"
    listed = yaml.safe_load((here / "parliament-findings.yaml").read_text())
    # What a partition's documents are made with: a region in it, an account, a pool's id.
    PARTITIONS = {"aws": "us-east-1", "aws-cn": "cn-north-1", "aws-us-gov": "us-gov-west-1"}
    ACCOUNT = "123456789012"
    STRATEGIES = ["magic-link", "email-otp", "sms-otp"]
    # The operator's environment must not pick the documents' inputs.
    env = {k: v for k, v in os.environ.items()
           if k not in ("PWP_TENANCY_CONFIG", "PWP_CLUSTER_ID", "AWS_REGION",
                        "PWP_TRIGGER_PERMISSIONS_BOUNDARY")}

    def iam_policy(*args):
        out = subprocess.run([binary, "iam-policy", *args], capture_output=True, text=True, env=env)
        if out.returncode != 0:
            sys.exit(f"iam-policy {' '.join(args)}: {out.stderr.strip()}")
        return out.stdout

    work = pathlib.Path(tempfile.mkdtemp(prefix="pwp-iam-policy-"))
    manifests = work / "manifests"
    manifests.mkdir()
    for strategy in STRATEGIES + ["native"]:
        # Each document's partition is the one asked for: a manifest's own region is dropped.
        text = (root / f"examples/{strategy}.yaml").read_text()
        (manifests / f"{strategy}.yaml").write_text(re.sub(r"(?m)^  region: .*\n", "", text))

    documents = {}  # file name -> what it is
    docs = work / "documents"
    docs.mkdir()
    def keep(name, what, text):
        json.loads(text)
        (docs / f"{name}.json").write_text(text)
        documents[f"{name}.json"] = what

    tenancy = str(here / "parliament-tenancy.yaml")
    for partition, region in PARTITIONS.items():
        keep(f"{partition}-operator", f"operator policy ({partition})",
             iam_policy("--partition", partition))
        keep(f"{partition}-operator-tenancy", f"operator policy with a tenancy file ({partition})",
             iam_policy("--partition", partition, "--tenancy-config", tenancy))
        pool = ["--region", region, "--account-id", ACCOUNT, "--user-pool-id", f"{region}_Example"]
        for strategy in STRATEGIES:
            manifest = str(manifests / f"{strategy}.yaml")
            keep(f"{partition}-trigger-{strategy}", f"trigger role policy, {strategy} ({partition})",
                 iam_policy("-f", manifest, *pool))
        keep(f"{partition}-trigger-trust", f"trigger role trust policy ({partition})",
             iam_policy("-f", str(manifests / "magic-link.yaml"), "--trust", *pool))
        keep(f"{partition}-trigger-boundary", f"trigger roles' permissions boundary ({partition})",
             iam_policy("--boundary", "--partition", partition))

    # A native pool has no trigger and so no role: the command says so rather than print one.
    native = subprocess.run([binary, "iam-policy", "-f", str(manifests / "native.yaml"),
                             "--region", "us-east-1"], capture_output=True, text=True, env=env)
    if native.returncode == 0 or "no trigger role" not in native.stderr:
        sys.exit(f"iam-policy -f native.yaml: expected a refusal, got: {native.stdout}{native.stderr}")

    out = subprocess.run([parliament, "--directory", str(docs), "--json",
                          "--include-community-auditors"], capture_output=True, text=True)
    if out.returncode not in (0, 1) or out.stderr.strip():
        sys.exit(f"parliament failed ({out.returncode}): {out.stderr.strip()}")
    findings = [json.loads(line) for line in out.stdout.splitlines() if line.strip()]

    def subjects(finding):
        """What a finding is about: the privilege escalation it names, the actions the community
        auditors list, the actions of a resource mismatch, a message; "-" for none."""
        where, detail = finding.get("location", {}), finding.get("detail")
        if "type" in where:
            return [where["type"]]
        if "actions" in where:
            return where["actions"]
        if isinstance(detail, list):
            return [d["action"] if isinstance(d, dict) else d for d in detail]
        return [detail] if detail else ["-"]

    def concerns(entry):
        c = entry["concerns"]
        return c if isinstance(c, list) else [c]

    def explains(entry, document, finding, subject):
        globs = entry.get("documents", "*")
        globs = globs if isinstance(globs, list) else [globs]
        return (entry["issue"] == finding["issue"] and subject in concerns(entry)
                and any(fnmatch.fnmatch(document, g) for g in globs))

    used = set()  # (entry index, subject)
    passed = failed = 0
    for name, what in sorted(documents.items()):
        document = name.removesuffix(".json")
        mine = [f for f in findings if pathlib.Path(f["location"]["filepath"]).name == name]
        unexplained = []
        for f in mine:
            for subject in subjects(f):
                hits = [(i, subject) for i, e in enumerate(listed) if explains(e, document, f, subject)]
                used.update(hits)
                if not hits:
                    unexplained.append((f, subject))
        if unexplained:
            failed += 1
            print(f"FAIL {what}: {len(unexplained)} unexplained")
            for f, subject in unexplained:
                print(f"     {f['issue']} ({f['severity']}) {subject}: {f['title']}")
        else:
            passed += 1
            print(f"ok   {what}: {len(mine)} finding(s), each explained")
    for i, e in enumerate(listed):
        for subject in concerns(e):
            if (i, subject) not in used:
                failed += 1
                print(f"FAIL parliament-findings.yaml lists what no longer occurs: {e['issue']} {subject}")
    kept = f"; kept in {work}" if failed else ""
    print(f"({len(documents)} documents, {len(findings)} parliament findings, {len(listed)} entries listed{kept})")
    if not failed:
        shutil.rmtree(work)
    print(f"iam-policy: {passed} passed, {failed} failed")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
