#!/usr/bin/env python3
"""Checks what the emulator holds for one namespace's PasswordlessPools, asked directly (never
through the fault proxy), with botocore from the ministack venv:

  aws-inventory.py --endpoint URL --cluster ID --namespace NS [--gone a,b]
                   [--expect-env K=V ...] [--expect-access-token MINUTES] < pools.json

pools.json is `kubectl get pwp -n NS -o json`: the live pools. Each live pool must have exactly
one of each resource its strategy needs, under the operator's names (`pwp-<ns>-<name>-<hash>`),
its user pool and client the ones its status names (and, if asked, each function's environment
and each client's access token validity as given: a spec change landed); a pool named in --gone
must have nothing left; and nothing else may carry the namespace's name prefix or the cluster's tag (an orphan).
Prints one line per problem and a summary; exits 1 if there is any problem.
"""

import argparse
import collections
import hashlib
import json
import sys

import botocore.session

OWNER_TAG = "passwordless-operator.dev/owner"
CLUSTER_TAG = "passwordless-operator.dev/cluster"


def base_name(cluster, namespace, name):
    """The operator's names.rs: readable prefix cut to 43 characters, then a 48-bit hash."""
    digest = hashlib.sha256(f"{cluster}\0{namespace}\0{name}".encode()).hexdigest()[:12]
    readable = f"pwp-{namespace}-{name}".replace(".", "-")[:43].rstrip("-")
    return f"{readable}-{digest}"


def expected(cluster, namespace, pool):
    """kind -> the one name this pool must have of it."""
    base = base_name(cluster, namespace, pool["metadata"]["name"])
    spec = pool["spec"]
    out = {"user_pool": base, "client": f"{base}-app"}
    if spec["strategy"] != "native":  # native pools have no trigger Lambda and nothing for it
        out.update(function=f"{base}-trigger", role=f"{base}-trigger", table=f"{base}-state",
                   secret=f"passwordless-operator/{base}/signing-keys")
    if spec.get("rateLimit"):
        out["web_acl"] = f"{base}-rate"
    return out


def pages(client, op, key, **kw):
    paginator = client.get_paginator(op) if client.can_paginate(op) else None
    if paginator:
        for page in paginator.paginate(**kw):
            yield from page.get(key, [])
    else:
        yield from getattr(client, op)(**kw).get(key, [])


def inventory(session, endpoint, prefix, cluster):
    """kind -> [(name, extra)] of everything whose name starts with prefix, plus user pools
    tagged with this cluster whatever their name."""
    c = lambda svc: session.create_client(svc, endpoint_url=endpoint)  # noqa: E731
    found = collections.defaultdict(list)
    idp = c("cognito-idp")
    for up in pages(idp, "list_user_pools", "UserPools", MaxResults=60):
        if not up["Name"].startswith("pwp-"):
            continue
        tags = idp.describe_user_pool(UserPoolId=up["Id"])["UserPool"].get("UserPoolTags", {})
        if not up["Name"].startswith(prefix) and tags.get(CLUSTER_TAG) != cluster:
            continue
        found["user_pool"].append((up["Name"], {"id": up["Id"], "tags": tags}))
        for cl in pages(idp, "list_user_pool_clients", "UserPoolClients", UserPoolId=up["Id"], MaxResults=60):
            found["client"].append((cl["ClientName"], {"id": cl["ClientId"], "pool": up["Id"]}))
    lam = c("lambda")
    for fn in pages(lam, "list_functions", "Functions"):
        if fn["FunctionName"].startswith(prefix):
            found["function"].append((fn["FunctionName"], {
                "env": (fn.get("Environment") or {}).get("Variables", {})}))
    for role in pages(c("iam"), "list_roles", "Roles"):
        if role["RoleName"].startswith(prefix):
            found["role"].append((role["RoleName"], {}))
    for table in pages(c("dynamodb"), "list_tables", "TableNames"):
        if table.startswith(prefix):
            found["table"].append((table, {}))
    for secret in pages(c("secretsmanager"), "list_secrets", "SecretList"):
        if secret["Name"].startswith(f"passwordless-operator/{prefix}"):
            found["secret"].append((secret["Name"], {}))
    for acl in c("wafv2").list_web_acls(Scope="REGIONAL").get("WebACLs", []):
        if acl["Name"].startswith(prefix):
            found["web_acl"].append((acl["Name"], {}))
    return found


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--endpoint", required=True)
    p.add_argument("--cluster", required=True)
    p.add_argument("--namespace", required=True)
    p.add_argument("--gone", default="", help="pools deleted: nothing of theirs may remain")
    p.add_argument("--region", default="us-east-1")
    p.add_argument("--expect-env", action="append", default=[], help="K=V in every function's environment")
    p.add_argument("--expect-access-token", type=int, help="every client's access token validity")
    args = p.parse_args()
    live = json.load(sys.stdin)["items"]
    gone = [g for g in args.gone.split(",") if g]

    session = botocore.session.get_session()
    session.set_credentials("testbed", "testbed")
    session.set_config_variable("region", args.region)
    prefix = f"pwp-{args.namespace}-".replace(".", "-")
    found = inventory(session, args.endpoint, prefix, args.cluster)

    problems = []
    wanted = {}  # (kind, name) -> pool name
    for pool in live:
        name = pool["metadata"]["name"]
        for kind, resource in expected(args.cluster, args.namespace, pool).items():
            wanted[(kind, resource)] = name
            hits = [extra for n, extra in found[kind] if n == resource]
            if len(hits) != 1:
                problems.append(f"{name}: {len(hits)} {kind} named {resource} (want exactly 1)")
                continue
            status = pool.get("status") or {}
            if kind == "user_pool" and hits[0]["id"] != status.get("userPoolId"):
                problems.append(f"{name}: user pool {hits[0]['id']} is not the status' {status.get('userPoolId')}")
            if kind == "user_pool" and hits[0]["tags"].get(OWNER_TAG) != f"{args.namespace}/{name}":
                problems.append(f"{name}: user pool {hits[0]['id']} owner tag {hits[0]['tags'].get(OWNER_TAG)}")
            if kind == "client" and hits[0]["id"] != status.get("clientId"):
                problems.append(f"{name}: client {hits[0]['id']} is not the status' {status.get('clientId')}")
            if kind == "client" and args.expect_access_token is not None:
                idp = session.create_client("cognito-idp", endpoint_url=args.endpoint)
                got = idp.describe_user_pool_client(UserPoolId=hits[0]["pool"], ClientId=hits[0]["id"])[
                    "UserPoolClient"].get("AccessTokenValidity")
                if got != args.expect_access_token:
                    problems.append(f"{name}: client access token validity {got}, not {args.expect_access_token}")
            for pair in args.expect_env if kind == "function" else []:
                key, _, value = pair.partition("=")
                if hits[0]["env"].get(key) != value:
                    problems.append(f"{name}: function {key}={hits[0]['env'].get(key)}, not {value}")
    gone_bases = {base_name(args.cluster, args.namespace, g): g for g in gone}
    counts = collections.Counter()
    for kind, items in found.items():
        for resource, extra in items:
            counts[kind] += 1
            if (kind, resource) in wanted:
                continue
            owner = next((g for b, g in gone_bases.items() if b in resource), None)
            what = f"{kind} {resource}" + (f" ({extra['id']})" if "id" in extra else "")
            if owner:
                problems.append(f"deleted pool {owner}: {what} left behind")
            else:
                problems.append(f"orphan: {what} belongs to no live pool")
    for line in problems:
        print(f"  inventory: {line}")
    summary = ", ".join(f"{k} {counts[k]}" for k in
                        ("user_pool", "client", "function", "role", "table", "secret", "web_acl"))
    print(f"  inventory of {args.namespace}: {len(live)} live pools, {len(gone)} deleted; found {summary};"
          f" {len(problems)} problems")
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
