#!/usr/bin/env python3
"""A fault-injecting HTTP proxy in front of the AWS emulator (Python 3 stdlib only, threaded).

Every signed AWS request (an `Authorization: AWS4-HMAC-SHA256 ...` header) is forwarded to the
upstream emulator, except a share of them (--rate) that is answered with a fault instead:

  throttle  the service's own throttling error, in its protocol's shape, so the SDK retries it
            as throttling: JSON protocols 400 + `x-amzn-ErrorType` + `__type`; Lambda and SES v2
            (REST) 429 TooManyRequestsException; IAM and STS (query) an XML <ErrorResponse> 400
            with <Code>Throttling</Code> (no x-amzn-ErrorType header, as AWS sends it)
  server    a 500 or 503 in the same shapes (InternalFailure / ServiceUnavailable / ServiceException)
  slow      forwarded after --delay seconds
  drop      the request is read, then the connection is closed without an answer
  lost      forwarded (the call takes effect), then the connection is closed before the answer:
            a write the client cannot know succeeded. Not in the default mix.

Unsigned requests (the emulator's own `/_ministack/...` endpoints, JWKS) are never faulted.
Service and operation come from the signature's credential scope and from `X-Amz-Target`, the
form's `Action=`, or the REST method and path (Lambda, SES v2).

Which requests fault is decided by a hash of (seed, service, operation, n-th call of it), so a
seed replays the same faults for the same sequence of calls per operation, whatever the thread
interleaving. The seed is printed at start; --seed (or PWP_FAULT_SEED) replays.

GET /_faults: counts as JSON (injected per kind, per operation, calls seen, the settings).
POST /_faults with a JSON object changes settings live: rate, kinds, only, delay; "reset": true
zeroes the counts.

  fault-proxy.py --port 24680 --upstream http://127.0.0.1:14566 --rate 0.2 \
      [--kinds throttle=4,server=2,slow=2,drop=2] [--only cognito-idp,lambda:CreateFunction] \
      [--delay 1.5] [--seed N]
"""

import argparse
import hashlib
import json
import os
import random
import re
import sys
import threading
import time
import urllib.parse
import uuid

from proxy_http import ProxyHandler, ProxyServer

QUERY_SERVICES = {"iam", "sts"}
REST_SERVICES = {"lambda", "ses"}
# Each service's own throttling code where it differs from the generic one.
THROTTLE_CODE = {"cognito-idp": "TooManyRequestsException"}

# (method, path regex, operation) for the REST APIs; the first match wins.
REST_ROUTES = [(m, re.compile(p), op) for m, p, op in [
    ("POST", r"^/2015-03-31/functions/?$", "CreateFunction"),
    ("GET", r"^/2015-03-31/functions/?$", "ListFunctions"),
    ("GET", r"^/2015-03-31/functions/[^/]+/?$", "GetFunction"),
    ("DELETE", r"^/2015-03-31/functions/[^/]+/?$", "DeleteFunction"),
    ("PUT", r"^/2015-03-31/functions/[^/]+/code$", "UpdateFunctionCode"),
    ("GET", r"^/2015-03-31/functions/[^/]+/configuration$", "GetFunctionConfiguration"),
    ("PUT", r"^/2015-03-31/functions/[^/]+/configuration$", "UpdateFunctionConfiguration"),
    ("POST", r"^/2015-03-31/functions/[^/]+/invocations$", "Invoke"),
    ("GET", r"^/2015-03-31/functions/[^/]+/policy$", "GetPolicy"),
    ("POST", r"^/2015-03-31/functions/[^/]+/policy$", "AddPermission"),
    ("DELETE", r"^/2015-03-31/functions/[^/]+/policy/.+$", "RemovePermission"),
    ("GET", r"^/2017-03-31/tags/.+$", "ListTags"),
    ("POST", r"^/2017-03-31/tags/.+$", "TagResource"),
    ("DELETE", r"^/2017-03-31/tags/.+$", "UntagResource"),
    ("POST", r"^/v2/email/identities/?$", "CreateEmailIdentity"),
    ("GET", r"^/v2/email/identities/?$", "ListEmailIdentities"),
    ("GET", r"^/v2/email/identities/[^/]+/?$", "GetEmailIdentity"),
    ("DELETE", r"^/v2/email/identities/[^/]+/?$", "DeleteEmailIdentity"),
    ("POST", r"^/v2/email/outbound-emails/?$", "SendEmail"),
]]


class Settings:
    """What to inject; changed live through POST /_faults, read under the lock."""

    def __init__(self, args):
        self.rate = args.rate
        self.kinds = parse_kinds(args.kinds)
        self.only = parse_only(args.only)
        self.delay = args.delay
        self.seed = args.seed

    def public(self):
        return {"seed": self.seed, "rate": self.rate, "kinds": self.kinds, "delay": self.delay,
                "only": sorted(f"{s}:{o}" if o else s for s, o in self.only)}


def parse_kinds(text):
    """`throttle=4,server=2` -> weights; a bare name weighs 1."""
    kinds = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        name, _, weight = part.partition("=")
        if name not in ("throttle", "server", "slow", "drop", "lost"):
            raise ValueError(f"unknown fault kind {name!r}")
        kinds[name] = float(weight or 1)
    return kinds


def parse_only(spec):
    """`cognito-idp,lambda:CreateFunction` -> {(service, None), (service, operation)}."""
    items = spec if isinstance(spec, list) else (spec or "").split(",")
    out = set()
    for item in filter(None, (i.strip() for i in items)):
        service, _, op = item.partition(":")
        out.add((service, op or None))
    return out


class State:
    def __init__(self, settings):
        self.settings = settings
        self.lock = threading.Lock()
        self.reset()

    def reset(self):
        self.seen = {}       # "service:op" -> calls seen
        self.injected = {}   # kind -> count
        self.by_op = {}      # "service:op" -> {kind: count}

    def decide(self, service, op):
        """The fault for this call (None: forward it), counted."""
        key = f"{service}:{op}"
        with self.lock:
            s = self.settings
            n = self.seen.get(key, 0)
            self.seen[key] = n + 1
            if s.rate <= 0 or not s.kinds:
                return None
            if s.only and (service, None) not in s.only and (service, op) not in s.only:
                return None
            digest = hashlib.sha256(f"{s.seed}:{key}:{n}".encode()).digest()
            rng = random.Random(digest)
            if rng.random() >= s.rate:
                return None
            names = sorted(s.kinds)
            kind = rng.choices(names, weights=[s.kinds[k] for k in names])[0]
            self.injected[kind] = self.injected.get(kind, 0) + 1
            per = self.by_op.setdefault(key, {})
            per[kind] = per.get(kind, 0) + 1
            return kind, rng

    def report(self):
        with self.lock:
            return {"settings": self.settings.public(), "calls": sum(self.seen.values()),
                    "seen": dict(sorted(self.seen.items())), "injected": dict(self.injected),
                    "by_operation": dict(sorted(self.by_op.items()))}


def service_of(headers):
    """The signing service from `Credential=AKID/date/region/SERVICE/aws4_request`."""
    m = re.search(r"Credential=[^/]+/[^/]+/[^/]+/([^/]+)/", headers.get("Authorization", ""))
    return m.group(1) if m else None


def operation_of(service, method, path, headers, body):
    target = headers.get("X-Amz-Target")
    if target:
        return target.rpartition(".")[2]
    if service in QUERY_SERVICES or headers.get("Content-Type", "").startswith(
            "application/x-www-form-urlencoded"):
        form = urllib.parse.parse_qs(body.decode("utf-8", "replace"))
        if form.get("Action"):
            return form["Action"][0]
    bare = urllib.parse.urlsplit(path).path
    for m, pattern, op in REST_ROUTES:
        if m == method and pattern.match(bare):
            return op
    # Unknown REST call: its shape, ids replaced, still a stable key.
    return f"{method} " + re.sub(r"/[^/]*[0-9:%][^/]*", "/*", bare)


def fault_response(kind, service, headers, rng):
    """(status, headers, body) of a throttling or server error in the service's protocol."""
    request_id = str(uuid.UUID(int=rng.getrandbits(128)))
    json_protocol = bool(headers.get("X-Amz-Target"))
    if kind == "throttle":
        if service in QUERY_SERVICES and not json_protocol:
            return query_error(400, "Sender", "Throttling", "Rate exceeded", request_id)
        if service in REST_SERVICES and not json_protocol:
            return rest_error(429, "TooManyRequestsException", "Rate exceeded", request_id)
        code = THROTTLE_CODE.get(service, "ThrottlingException")
        return json_error(400, code, "Rate exceeded", request_id, headers)
    status, code = rng.choice([(500, "InternalFailure"), (503, "ServiceUnavailable")])
    if service in QUERY_SERVICES and not json_protocol:
        return query_error(status, "Receiver", code, "injected server error", request_id)
    if service in REST_SERVICES and not json_protocol:
        return rest_error(status, "ServiceException" if status == 500 else code,
                          "injected server error", request_id)
    return json_error(status, code, "injected server error", request_id, headers)


def json_error(status, code, message, request_id, headers):
    content_type = headers.get("Content-Type") or "application/x-amz-json-1.1"
    body = json.dumps({"__type": code, "message": message}).encode()
    return status, {"Content-Type": content_type, "x-amzn-ErrorType": code,
                    "x-amzn-RequestId": request_id}, body


def rest_error(status, code, message, request_id):
    body = json.dumps({"Type": "User" if status < 500 else "Service", "message": message}).encode()
    return status, {"Content-Type": "application/json", "x-amzn-ErrorType": code,
                    "x-amzn-RequestId": request_id}, body


def query_error(status, side, code, message, request_id):
    body = (f"<ErrorResponse><Error><Type>{side}</Type><Code>{code}</Code>"
            f"<Message>{message}</Message></Error><RequestId>{request_id}</RequestId>"
            "</ErrorResponse>").encode()
    return status, {"Content-Type": "text/xml", "x-amzn-RequestId": request_id}, body


class Handler(ProxyHandler):
    NAME = "fault-proxy"

    def handle_any(self):
        body = self.read_body()
        if body is None:  # the client went away mid-request: nothing to pass on
            return self.hang_up()
        state = self.server.state
        if self.path.startswith("/_faults"):
            return self.control(body)
        service = service_of(self.headers)
        if service is None:  # not an AWS call: the emulator's own endpoints, JWKS
            return self.forward(body)
        op = operation_of(service, self.command, self.path, self.headers, body)
        decision = state.decide(service, op)
        if decision is None:
            return self.forward(body)
        kind, rng = decision
        print(f"fault-proxy: {kind} {service}:{op}", flush=True)
        if kind == "slow":
            time.sleep(state.settings.delay)
            return self.forward(body)
        if kind == "drop":
            return self.hang_up()
        if kind == "lost":
            self.forward(body, deliver=False)
            return self.hang_up()
        self.respond(*fault_response(kind, service, self.headers, rng))

    def control(self, body):
        state = self.server.state
        if self.command == "POST":
            try:
                change = json.loads(body or b"{}")
                with state.lock:
                    s = state.settings
                    if "rate" in change:
                        s.rate = float(change["rate"])
                    if "kinds" in change:
                        s.kinds = parse_kinds(change["kinds"])
                    if "only" in change:
                        s.only = parse_only(change["only"])
                    if "delay" in change:
                        s.delay = float(change["delay"])
                    if change.get("reset"):
                        state.reset()
            except (ValueError, TypeError) as e:
                return self.respond(400, {"Content-Type": "text/plain"}, f"{e}\n".encode())
        out = json.dumps(state.report(), indent=1).encode() + b"\n"
        self.respond(200, {"Content-Type": "application/json"}, out)

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = do_PATCH = handle_any


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--port", type=int, required=True, help="listen on 127.0.0.1:PORT")
    p.add_argument("--upstream", required=True, help="the emulator, e.g. http://127.0.0.1:14566")
    p.add_argument("--rate", type=float, default=0.2, help="share of AWS calls faulted (0-1)")
    p.add_argument("--kinds", default="throttle=4,server=2,slow=2,drop=2",
                   help="fault kinds and weights: throttle, server, slow, drop, lost")
    p.add_argument("--only", default="", help="fault only these SERVICE or SERVICE:Operation")
    p.add_argument("--delay", type=float, default=1.5, help="seconds a slow answer waits")
    p.add_argument("--seed", type=int, default=None, help="default: PWP_FAULT_SEED or random")
    args = p.parse_args()
    if args.seed is None:
        env = os.environ.get("PWP_FAULT_SEED")
        args.seed = int(env) if env else random.SystemRandom().randrange(1, 2**31)
    upstream = urllib.parse.urlsplit(args.upstream)
    if upstream.hostname not in ("127.0.0.1", "localhost", "::1"):
        sys.exit("fault-proxy: the upstream must be on loopback")
    server = ProxyServer(("127.0.0.1", args.port), Handler)
    server.upstream = upstream
    server.state = State(Settings(args))
    print(f"fault-proxy: 127.0.0.1:{args.port} -> {args.upstream}, rate {args.rate}, "
          f"kinds {args.kinds}, seed {args.seed} (replay: PWP_FAULT_SEED={args.seed})", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
