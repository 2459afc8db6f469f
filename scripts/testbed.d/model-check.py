#!/usr/bin/env python3
"""An HTTP proxy in front of the AWS emulators that checks every AWS request against botocore's
service models, the way real AWS does (Python 3 stdlib + botocore + regex, threaded).

The emulators accept almost anything; AWS refuses a request whose parameters break the service's
published model. Every AWS request (signed: `Authorization: AWS4-HMAC-SHA256 ... Credential=
AKID/date/region/SERVICE/aws4_request`; or unsigned with an `X-Amz-Target` of a known service,
as a browser's InitiateAuth is) is identified, its input rebuilt from its protocol, and checked:

  required members, min/max length of strings (in code points), of lists and maps, of blobs
  (decoded), min/max of numbers, `pattern` (FULL match, with Java's ASCII \\w \\d \\s, as Coral
  services match), and `enum`. Unknown members are ignored.

A request that breaks the model is answered as AWS answers it, without forwarding: 400, the
service's validation error code in its protocol's shape, and AWS's message (`1 validation error
detected: Value 'x' at 'userPoolTags.team' failed to satisfy constraint: Member must ...`).
Everything else goes to the upstream unchanged; unsigned non-AWS requests (`/_ministack/...`,
JWKS) are neither checked nor counted.

Exceptions (model-exceptions.json beside this file, or --exceptions): places where AWS is
documented not to enforce its model. Each has an id, service, operation and member path (globs),
rule (required, min, max, pattern, enum), optionally value_pattern (applies only when the value
fully matches it), a reason and a source.

`--report URL` prints the short report of a running check (exit 1 on a violation), `--reset URL`
zeroes its record: what `scripts/testbed model-check [--reset]` runs.

GET /_modelcheck: what was checked, as JSON: checked, operations (service:Operation -> count),
violations, exceptions_applied, unknown (AWS requests whose operation was not found: gaps),
internal_errors. Requests carrying the header `x-pwp-model-check-selftest: TAG` are recorded
apart, under `selftest` (with their TAG), so a self-test's deliberate violations never count
against the suite. POST /_modelcheck {"reset": true} zeroes everything.

  model-check.py --listen 14566=http://127.0.0.1:14666 --listen 14567=http://127.0.0.1:14667 \\
      [--exceptions FILE] [--no-check]
"""

import argparse
import base64
import datetime
import fnmatch
import gzip
import json
import os
import re
import sys
import threading
import unicodedata
import urllib.parse
import urllib.request
from xml.etree import ElementTree

import botocore.session
import regex

from aws_errors import error_response
from behaviours import Behaviours
from proxy_http import ProxyHandler, ProxyServer

SELFTEST_HEADER = "x-pwp-model-check-selftest"
MAX_RECORDED = 2000  # violations kept per list; the totals keep counting past it

# The code each service answers a model violation with (its protocol's error shape around it).
# Coral services answer their generated validation with ValidationException (JSON/REST) or
# ValidationError (query), except where the service maps it to its own type:
#   cognito-idp     InvalidParameterException     ("1 validation error detected: Value ... at
#                                                  'userPoolTags' ...", as Cognito answers)
#   lambda          ValidationException           (e.g. "... at 'code.s3Bucket' ... Error Code:
#                                                  ValidationException", Service: AWSLambda)
#   iam, sts, ses   ValidationError               (query: "... at 'tags.6.member.value' ...")
#   dynamodb, kms,  ValidationException
#   acm
#   secretsmanager  ValidationException           (the model's InvalidParameterException is for
#                                                  the service's own checks; its generated
#                                                  validation answers AWSMimirService#ValidationException)
#   wafv2           WAFInvalidParameterException  (its own parameter error)
#   sesv2           BadRequestException           (SES v2's only 400 input error)
#   sns             InvalidParameter              (the query code of InvalidParameterException)
#   logs            InvalidParameterException
#   cloudfront      InvalidArgument
VALIDATION_CODE = {
    "cognito-idp": "InvalidParameterException",
    "lambda": "ValidationException",
    "iam": "ValidationError",
    "sts": "ValidationError",
    "ses": "ValidationError",
    "dynamodb": "ValidationException",
    "kms": "ValidationException",
    "acm": "ValidationException",
    "secretsmanager": "ValidationException",
    "wafv2": "WAFInvalidParameterException",
    "sesv2": "BadRequestException",
    "sns": "InvalidParameter",
    "logs": "InvalidParameterException",
    "cloudfront": "InvalidArgument",
}

# Java's regex classes, as Coral services match: \w \d \s are ASCII there (Python's regex makes
# them Unicode), and the POSIX \p{Print} is ASCII. (outside a class, inside a class)
JAVA_CLASSES = {
    r"\w": ("[a-zA-Z0-9_]", "a-zA-Z0-9_"),
    r"\W": ("[^a-zA-Z0-9_]", r"\x00-/:-@\[-^`{-\U0010FFFF"),
    r"\d": ("[0-9]", "0-9"),
    r"\D": ("[^0-9]", r"\x00-/:-\U0010FFFF"),
    r"\s": (r"[ \t\n\x0B\f\r]", r" \t\n\x0B\f\r"),
    r"\S": (r"[^ \t\n\x0B\f\r]", r"\x00-\x08\x0E-\x1F!-\U0010FFFF"),
    r"\p{Print}": (r"[\x20-\x7E]", r"\x20-\x7E"),
}
SURROGATE_PAIR = re.compile(r"\\u(d[89ab][0-9a-f]{2})\\u(d[c-f][0-9a-f]{2})", re.I)


def java_pattern(pattern):
    """A model pattern (Java syntax) in the regex module's syntax, with Java's meaning."""
    # Java spells a supplementary character as a UTF-16 pair inside a class; Python has code points.
    def pair(m):
        hi, lo = int(m.group(1), 16), int(m.group(2), 16)
        return "\\U%08X" % (0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00))
    pattern = SURROGATE_PAIR.sub(pair, pattern)
    out, i, depth = [], 0, 0
    while i < len(pattern):
        c = pattern[i]
        if c == "\\":
            token = next((t for t in JAVA_CLASSES if pattern.startswith(t, i)), None)
            if token:
                out.append(JAVA_CLASSES[token][1 if depth else 0])
                i += len(token)
                continue
            out.append(pattern[i:i + 2])
            i += 2
            continue
        if c == "[":
            depth += 1
        elif c == "]" and depth:
            depth -= 1
        out.append(c)
        i += 1
    return "".join(out)


class Skip:
    """A member that is present but not checked (timestamps, documents, JSON values)."""


SKIP = Skip()


def lower_camel(name):
    return name[:1].lower() + name[1:]


def printable(text):
    """Control and unusual space characters made visible, so a report line stays one line."""
    return "".join(c if c == " " or unicodedata.category(c)[0] not in "CZ" else
                   "\\u%04x" % ord(c) for c in text)


class Violation:
    def __init__(self, path, rule, value, constraint, hidden):
        self.path, self.rule, self.value = path, rule, value
        self.constraint, self.hidden = constraint, hidden

    def shown(self, limit=None):
        """The value as AWS's message shows it (None: the member is not named with a value)."""
        v = self.value
        if self.hidden:
            return None
        if v is None:
            return "null"
        if isinstance(v, (bytes, bytearray)):
            text = f"java.nio.HeapByteBuffer[pos=0 lim={len(v)} cap={len(v)}]"
        elif isinstance(v, bool):
            text = "true" if v else "false"
        elif isinstance(v, list):
            text = "[" + ", ".join(str(x) for x in v) + "]"
        elif isinstance(v, dict):
            text = "{" + ", ".join(f"{k}={x}" for k, x in v.items()) + "}"
        else:
            text = str(v)
        if limit is not None:
            text = printable(text)
            if len(text) > limit:
                text = text[:limit] + "..."
        return text

    def message(self, limit=None):
        shown = self.shown(limit)
        if shown is None:
            value = "Value"
        elif self.value is None:
            value = "Value null"
        else:
            value = f"Value '{shown}'"
        return f"{value} at '{self.path}' failed to satisfy constraint: {self.constraint}"


def summary(violations, limit=None):
    n = len(violations)
    head = f"{n} validation error{'s' if n > 1 else ''} detected: "
    return head + "; ".join(v.message(limit) for v in violations)


# --- the models -------------------------------------------------------------------------------

class Route:
    def __init__(self, op, method, uri):
        self.op, self.method = op, method
        path, _, query = uri.partition("?")
        self.query = dict(urllib.parse.parse_qsl(query, keep_blank_values=True))
        self.labels, parts, last = [], [], 0
        for m in re.finditer(r"\{([^}]+?)(\+?)\}", path):
            parts.append(re.escape(path[last:m.start()]))
            parts.append("(.+)" if m.group(2) else "([^/]+)")
            self.labels.append(m.group(1))
            last = m.end()
        parts.append(re.escape(path[last:].rstrip("/")))
        self.regex = re.compile("^" + "".join(parts) + "/?$")
        # Most specific first: more literal path, more required query keys, no greedy label.
        literal = len(re.sub(r"\{[^}]+\}", "", path))
        self.rank = (literal, len(self.query), -uri.count("+}"))

    def match(self, method, path, query):
        if method != self.method:
            return None
        m = self.regex.match(path)
        if not m:
            return None
        for k, v in self.query.items():
            if k not in query or (v and query[k][0] != v):
                return None
        return {name: urllib.parse.unquote(val) for name, val in zip(self.labels, m.groups())}


class Models:
    """The models of the services the test bed may see, loaded once at start."""

    def __init__(self, services):
        session = botocore.session.get_session()
        self.models, self.routes, self.by_signing, self.by_target = {}, {}, {}, {}
        self.patterns, self.bad_patterns = {}, {}
        self.lock = threading.Lock()
        for svc in services:
            m = session.get_service_model(svc)
            self.models[svc] = m
            md = m.metadata
            self.by_signing.setdefault(md.get("signingName") or md["endpointPrefix"], []).append(svc)
            if md.get("targetPrefix"):
                self.by_target[md["targetPrefix"]] = svc
            if md["protocol"].startswith("rest"):
                routes = [Route(op, m.operation_model(op).http["method"],
                                m.operation_model(op).http["requestUri"]) for op in m.operation_names]
                self.routes[svc] = sorted(routes, key=lambda r: r.rank, reverse=True)
        # SES signs both its APIs as `ses`: the query one (Action=) is tried first, REST after.
        self.by_signing.get("ses", []).sort(key=lambda s: s != "ses")

    def pattern(self, text):
        with self.lock:
            if text in self.patterns:
                return self.patterns[text]
            try:
                compiled = regex.compile(java_pattern(text))
            except regex.error as e:
                compiled, self.bad_patterns[text] = None, str(e)
            self.patterns[text] = compiled
            return compiled

    def identify(self, signing, method, path, query, headers, form):
        """(service, operation model, protocol) or None."""
        target = headers.get("X-Amz-Target")
        candidates = self.by_signing.get(signing, []) if signing else []
        if not signing and target:
            svc = self.by_target.get(target.rpartition(".")[0])
            candidates = [svc] if svc else []
        for svc in candidates:
            m = self.models[svc]
            proto = m.metadata["protocol"]
            if target and m.metadata.get("targetPrefix"):
                prefix, _, name = target.rpartition(".")
                if prefix == m.metadata["targetPrefix"] and name in m.operation_names:
                    return svc, m.operation_model(name), "json"
                continue
            if proto in ("query", "ec2"):
                action = form.get("Action")
                if action in m.operation_names:
                    return svc, m.operation_model(action), "query"
            elif proto.startswith("rest"):
                for route in self.routes[svc]:
                    labels = route.match(method, path, query)
                    if labels is not None:
                        return svc, (m.operation_model(route.op), labels), proto
        return None


# --- rebuilding the input from the wire --------------------------------------------------------

def scalar(shape, text):
    """A value sent as text (query, header, label, XML) as the model's type."""
    t = shape.type_name
    try:
        if t in ("integer", "long"):
            return int(text)
        if t in ("float", "double"):
            return float(text)
        if t == "blob":
            return base64.b64decode(text, validate=True)
    except ValueError:
        return SKIP  # AWS fails these as malformed, not against the model
    if t == "boolean":
        return text == "true"
    if t == "timestamp" or shape.serialization.get("jsonvalue"):
        return SKIP
    return text


def from_json(shape, value):
    """A decoded JSON value, with structures keyed by member name."""
    if value is None:
        return None
    t = shape.type_name
    if t == "structure":
        if shape.metadata.get("document") or not isinstance(value, dict):
            return SKIP
        out = {}
        for name, ms in shape.members.items():
            key = ms.serialization.get("name", name)
            if key in value:
                out[name] = from_json(ms, value[key])
        return out
    if t == "list":
        return [from_json(shape.member, v) for v in value] if isinstance(value, list) else SKIP
    if t == "map":
        return {k: from_json(shape.value, v) for k, v in value.items()} if isinstance(value, dict) else SKIP
    if t == "blob":
        if isinstance(value, str):
            try:
                return base64.b64decode(value, validate=True)
            except ValueError:
                return SKIP
        return SKIP
    if t == "timestamp" or shape.metadata.get("document") or shape.serialization.get("jsonvalue"):
        return SKIP
    return value


def from_query(shape, prefix, form):
    """The member at PREFIX of a query-protocol form (botocore's QuerySerializer, reversed)."""
    t = shape.type_name
    if t == "structure":
        out = {}
        for name, ms in shape.members.items():
            key = ms.serialization.get("name", name)
            v = from_query(ms, f"{prefix}.{key}" if prefix else key, form)
            if v is not None:
                out[name] = v
        return out if out or prefix in form else None
    if t == "list":
        if form.get(prefix) == "":
            return []
        if shape.serialization.get("flattened"):
            name = shape.member.serialization.get("name")
            base = ".".join(prefix.split(".")[:-1] + [name]) if name else prefix
        else:
            base = f"{prefix}.{shape.member.serialization.get('name', 'member')}"
        items = [from_query(shape.member, f"{base}.{i}", form) for i in indices(base, form)]
        return items if items else None
    if t == "map":
        base = prefix if shape.serialization.get("flattened") else f"{prefix}.entry"
        kname = shape.key.serialization.get("name", "key")
        vname = shape.value.serialization.get("name", "value")
        out = {}
        for i in indices(base, form):
            k = form.get(f"{base}.{i}.{kname}")
            if k is not None:
                out[k] = from_query(shape.value, f"{base}.{i}.{vname}", form)
        return out if out else None
    if prefix not in form:
        return None
    return scalar(shape, form[prefix])


def indices(base, form):
    head = base + "."
    found = set()
    for key in form:
        if key.startswith(head):
            n = key[len(head):].split(".", 1)[0]
            if n.isdigit():
                found.add(int(n))
    return sorted(found)


def strip_namespaces(elem):
    for e in elem.iter():
        if isinstance(e.tag, str) and "}" in e.tag:
            e.tag = e.tag.split("}", 1)[1]
    return elem


def from_xml(shape, elem):
    """A rest-xml body element as the model's value."""
    t = shape.type_name
    if t == "structure":
        out = {}
        for name, ms in shape.members.items():
            key = ms.serialization.get("name", name)
            if ms.serialization.get("xmlAttribute"):
                continue
            if ms.type_name == "list" and ms.serialization.get("flattened"):
                found = elem.findall(ms.member.serialization.get("name", key))
                if found:
                    out[name] = [from_xml(ms.member, c) for c in found]
                continue
            child = elem.find(key)
            if child is not None:
                out[name] = from_xml(ms, child)
        return out
    if t == "list":
        return [from_xml(shape.member, c)
                for c in elem.findall(shape.member.serialization.get("name", "member"))]
    if t == "map":
        kname = shape.key.serialization.get("name", "key")
        vname = shape.value.serialization.get("name", "value")
        out = {}
        for entry in elem.findall("entry"):
            k, v = entry.find(kname), entry.find(vname)
            if k is not None and v is not None:
                out[k.text or ""] = from_xml(shape.value, v)
        return out
    return scalar(shape, elem.text or "")


def from_rest(shape, labels, query, headers, body, protocol):
    """The input of a REST operation from its labels, query string, headers and body."""
    params, bound = {}, set()
    if shape is None:
        return params
    body_members = {}
    for name, ms in shape.members.items():
        loc, key = ms.serialization.get("location"), ms.serialization.get("name", name)
        if loc == "uri":
            if key in labels:
                params[name] = scalar(ms, labels[key])
        elif loc == "querystring":
            if ms.type_name == "map":
                continue  # all the query parameters left over, filled in below
            bound.add(key)
            if key in query:
                params[name] = ([scalar(ms.member, v) for v in query[key]] if ms.type_name == "list"
                                else scalar(ms, query[key][0]))
        elif loc == "header":
            if key in headers:
                v = headers[key]
                params[name] = ([scalar(ms.member, x.strip()) for x in v.split(",")]
                                if ms.type_name == "list" else scalar(ms, v))
        elif loc == "headers":
            found = {k[len(key):]: v for k, v in headers.items() if k.lower().startswith(key.lower())}
            if found:
                params[name] = found
        elif loc != "statusCode":
            body_members[name] = ms
    for name, ms in shape.members.items():
        if ms.serialization.get("location") == "querystring" and ms.type_name == "map":
            rest = {k: v[0] for k, v in query.items() if k not in bound}
            if rest:
                params[name] = rest
    payload = shape.serialization.get("payload")
    if payload:
        ms = shape.members[payload]
        if ms.type_name == "blob":
            if body:
                params[payload] = bytes(body)
        elif ms.type_name == "string":
            if body:
                params[payload] = body.decode("utf-8", "replace")
        elif body:
            params[payload] = (from_json(ms, json.loads(body)) if protocol == "rest-json"
                               else from_xml(ms, strip_namespaces(ElementTree.fromstring(body))))
    elif body_members and body.strip():
        if protocol == "rest-json":
            doc = json.loads(body)
            for name, ms in body_members.items():
                key = ms.serialization.get("name", name)
                if isinstance(doc, dict) and key in doc:
                    params[name] = from_json(ms, doc[key])
        else:
            root = strip_namespaces(ElementTree.fromstring(body))
            for name, v in from_xml(shape, root).items():
                if name in body_members:
                    params[name] = v
    return params


# --- the check ---------------------------------------------------------------------------------

def check(models, shape, value, path, hidden, out):
    """Append a Violation to OUT for each constraint of SHAPE that VALUE breaks."""
    if value is None or value is SKIP or shape is None:
        return
    hidden = hidden or bool(shape.metadata.get("sensitive"))
    md, t = shape.metadata, shape.type_name
    if t == "structure":
        if not isinstance(value, dict):
            return
        for req in shape.required_members:
            if value.get(req) is None:
                out.append(Violation(join(path, lower_camel(req)), "required", None,
                                     "Member must not be null", False))
        for name, v in value.items():
            if name in shape.members:
                check(models, shape.members[name], v, join(path, lower_camel(name)), hidden, out)
        return
    if t == "list":
        if not isinstance(value, list):
            return
        sizes(md, len(value), value, path, hidden, out)
        for i, v in enumerate(value, 1):
            check(models, shape.member, v, f"{path}.{i}.member", hidden, out)
        return
    if t == "map":
        if not isinstance(value, dict):
            return
        sizes(md, len(value), value, path, hidden, out)
        key_hidden = hidden or bool(shape.key.metadata.get("sensitive"))
        for k, v in value.items():
            key_out = []
            check(models, shape.key, k, path, key_hidden, key_out)
            if key_out:
                constraints = ", ".join(x.constraint for x in key_out)
                # The key alone as the value: the map's values may be sensitive where its keys are not.
                out.append(Violation(path, key_out[0].rule, k,
                                     f"Map keys must satisfy constraint: [{constraints}]", key_hidden))
            check(models, shape.value, v, f"{path}.{k}", hidden, out)
        return
    if t == "string":
        if not isinstance(value, str):
            return
        sizes(md, len(value), value, path, hidden, out)
        if "pattern" in md:
            compiled = models.pattern(md["pattern"])
            if compiled is not None and compiled.fullmatch(value) is None:
                out.append(Violation(path, "pattern", value,
                                     f"Member must satisfy regular expression pattern: {md['pattern']}",
                                     hidden))
        if shape.enum and value not in shape.enum:
            out.append(Violation(path, "enum", value,
                                 f"Member must satisfy enum value set: [{', '.join(shape.enum)}]", hidden))
        return
    if t == "blob":
        if isinstance(value, (bytes, bytearray)):
            sizes(md, len(value), value, path, hidden, out)
        return
    if t in ("integer", "long", "float", "double") and isinstance(value, (int, float)) \
            and not isinstance(value, bool):
        if "min" in md and value < md["min"]:
            out.append(Violation(path, "min", value,
                                 f"Member must have value greater than or equal to {md['min']}", hidden))
        if "max" in md and value > md["max"]:
            out.append(Violation(path, "max", value,
                                 f"Member must have value less than or equal to {md['max']}", hidden))


def sizes(md, n, value, path, hidden, out):
    if "min" in md and n < md["min"]:
        out.append(Violation(path, "min", value,
                             f"Member must have length greater than or equal to {md['min']}", hidden))
    if "max" in md and n > md["max"]:
        out.append(Violation(path, "max", value,
                             f"Member must have length less than or equal to {md['max']}", hidden))


def join(path, name):
    return f"{path}.{name}" if path else name


class Exceptions:
    def __init__(self, path):
        self.items = []
        if path and os.path.exists(path):
            with open(path) as f:
                self.items = json.load(f)
        for e in self.items:
            for field in ("id", "service", "operation", "path", "rule", "reason", "source"):
                if not e.get(field):
                    raise ValueError(f"exception {e.get('id', e)!r}: {field} missing")
            e["_value"] = regex.compile(e["value_pattern"]) if e.get("value_pattern") else None

    def find(self, service, op, v):
        for e in self.items:
            if (fnmatch.fnmatchcase(service, e["service"]) and fnmatch.fnmatchcase(op, e["operation"])
                    and fnmatch.fnmatchcase(v.path, e["path"]) and v.rule == e["rule"]
                    and (e["_value"] is None or (isinstance(v.value, str)
                                                 and e["_value"].fullmatch(v.value)))):
                return e["id"]
        return None


# --- what was seen -----------------------------------------------------------------------------

def now():
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="milliseconds")


class Recorder:
    def __init__(self, checking):
        self.checking = checking
        self.lock = threading.Lock()
        self.reset()

    def reset(self):
        self.checked = 0
        self.operations = {}
        self.violations, self.violations_total = [], 0
        self.exceptions_applied = {}
        self.unknown = {}
        self.internal_errors = []
        self.selftest = {"checked": 0, "violations": [], "violations_total": 0, "exceptions_applied": {}}

    def record(self, service, op, violations, excepted, tag):
        """Count one checked request and its violations (TAG: a self-test's request)."""
        with self.lock:
            applied = self.exceptions_applied if tag is None else self.selftest["exceptions_applied"]
            for e in excepted:
                applied[e] = applied.get(e, 0) + 1
            if tag is not None:
                book = self.selftest
                book["checked"] += 1
            else:
                book = None
                self.checked += 1
                key = f"{service}:{op}"
                self.operations[key] = self.operations.get(key, 0) + 1
            for v in violations:
                entry = {"service": service, "operation": op, "path": v.path, "rule": v.rule,
                         "value": "***" if v.hidden else v.shown(80),
                         "message": summary([v], limit=80), "time": now()}
                if book is None:
                    self.violations_total += 1
                    if len(self.violations) < MAX_RECORDED:
                        self.violations.append(entry)
                else:
                    entry["tag"] = tag
                    book["violations_total"] += 1
                    if len(book["violations"]) < MAX_RECORDED:
                        book["violations"].append(entry)

    def record_unknown(self, key, detail, tag):
        with self.lock:
            if tag is not None:
                return
            item = self.unknown.setdefault(key, dict(detail, count=0))
            item["count"] += 1

    def record_error(self, service, op, error):
        with self.lock:
            if len(self.internal_errors) < MAX_RECORDED:
                self.internal_errors.append({"service": service, "operation": op,
                                             "error": error, "time": now()})

    def report(self, models):
        with self.lock:
            return {"checking": self.checking, "checked": self.checked,
                    "operations": dict(sorted(self.operations.items())),
                    "violations": list(self.violations), "violations_total": self.violations_total,
                    "exceptions_applied": dict(sorted(self.exceptions_applied.items())),
                    "unknown": sorted(self.unknown.values(), key=lambda u: -u["count"]),
                    "internal_errors": list(self.internal_errors),
                    "uncompiled_patterns": dict(models.bad_patterns),
                    "selftest": json.loads(json.dumps(self.selftest))}


# --- answers -----------------------------------------------------------------------------------

def violation_response(service, protocol, headers, message):
    """(status, headers, body) of the service's validation error in its protocol."""
    code = VALIDATION_CODE.get(service, "ValidationException")
    return error_response(protocol, headers, 400, code, message)


def credential_scope(headers, query):
    """(region, service) from `Credential=AKID/date/REGION/SERVICE/aws4_request` (header or URL)."""
    m = re.search(r"Credential=[^/]+/[^/]+/([^/]+)/([^/,]+)/", headers.get("Authorization", ""))
    if m:
        return m.group(1), m.group(2)
    cred = query.get("X-Amz-Credential", [""])[0].split("/")
    return (cred[2], cred[3]) if len(cred) > 4 else (None, None)


def signing_service(headers, query):
    """The signing name of a signed request (see `credential_scope`)."""
    return credential_scope(headers, query)[1]


class Handler(ProxyHandler):
    NAME = "model-check"

    def handle_any(self):
        body = self.read_body()
        if body is None:  # the client went away mid-request (a killed operator): not a request
            return self.hang_up()
        split = urllib.parse.urlsplit(self.path)
        if split.path == "/_modelcheck":
            return self.control(body)
        behaviours = self.server.behaviours
        if split.path == "/_behaviours":
            status, report = behaviours.control(self.command, body)
            out = json.dumps(report, indent=1).encode() + b"\n"
            return self.respond(status, {"Content-Type": "application/json"}, out)
        self.identified = None  # (service, operation, params, protocol, region), once check() knows
        answer = None
        if self.server.recorder.checking:
            try:
                answer = self.check(split, body)
            except Exception as e:  # noqa: BLE001 - a checker bug must not take the bed down
                self.server.recorder.record_error(None, None, f"{type(e).__name__}: {e}")
                print(f"model-check: internal error on {self.command} {split.path}: {e!r}", flush=True)
        if answer is not None:
            return self.respond(*answer)
        if self.identified is None or not behaviours.wanted(*self.identified[:2]):
            return self.forward(body)
        service, op, params, protocol, region = self.identified
        own = behaviours.before(service, op, params, self.headers, protocol, region)
        if own is not None:
            return self.respond(*own)
        status, headers, data, reason = self.fetch(body)
        status, headers, data = behaviours.after(service, op, params, region, status, headers,
                                                 data)
        self.respond(status, headers, data, reason=reason)

    def check(self, split, body):
        """The violation answer for this request, or None to forward it."""
        query = urllib.parse.parse_qs(split.query, keep_blank_values=True)
        signing = signing_service(self.headers, query)
        if signing is None and not self.headers.get("X-Amz-Target"):
            return None  # not an AWS call: the emulator's own endpoints, JWKS
        models, recorder = self.server.models, self.server.recorder
        tag = self.headers.get(SELFTEST_HEADER)
        text = body
        if self.headers.get("Content-Encoding", "").lower() == "gzip":
            text = gzip.decompress(body)
        form = {}
        content_type = self.headers.get("Content-Type", "")
        if content_type.startswith("application/x-www-form-urlencoded") or (
                not text and "Action" in query):
            form = {k: v[-1] for k, v in query.items()}
            form.update(urllib.parse.parse_qsl(text.decode("utf-8", "replace"), keep_blank_values=True))
        found = models.identify(signing, self.command, split.path, query, self.headers, form)
        if found is None:
            target = self.headers.get("X-Amz-Target") or form.get("Action") or ""
            shape = f"{self.command} " + re.sub(r"/[^/]*[0-9:%][^/]*", "/*", split.path)
            key = f"{signing}|{target or shape}"
            recorder.record_unknown(key, {"service": signing, "target": target or None,
                                          "request": shape}, tag)
            return None
        service, op, protocol = found
        op_name = op[0].name if isinstance(op, tuple) else op.name
        try:
            if protocol == "json":
                params = from_json(op.input_shape, json.loads(text)) if text.strip() else {}
            elif protocol == "query":
                params = (from_query(op.input_shape, "", form) if op.input_shape else None) or {}
            else:
                op, labels = op
                params = from_rest(op.input_shape, labels, query, self.headers, text, protocol)
            if isinstance(params, dict):
                region = credential_scope(self.headers, query)[0]
                self.identified = (service, op_name, params, protocol, region)
            violations = []
            # A body that is not an object is the protocol's own error, not the model's.
            if op.input_shape is not None and isinstance(params, dict):
                check(models, op.input_shape, params, "", False, violations)
        except Exception as e:  # noqa: BLE001 - a body the checker cannot read: forwarded, listed
            recorder.record_error(service, op_name, f"{type(e).__name__}: {e}")
            print(f"model-check: internal error on {service}:{op_name}: {e!r}", flush=True)
            return None
        kept, excepted = [], []
        for v in violations:
            exception = self.server.exceptions.find(service, op_name, v)
            if exception:
                excepted.append(exception)
            else:
                kept.append(v)
        recorder.record(service, op_name, kept, excepted, tag)
        if not kept:
            return None
        who = f" (self-test {tag})" if tag is not None else ""
        print(f"model-check: refused {service}:{op_name}{who}: {summary(kept, limit=80)}", flush=True)
        status, headers, out = violation_response(service, protocol, self.headers, summary(kept))
        if self.headers.get("Origin"):  # a browser's call: AWS's error answers carry CORS headers too
            headers["Access-Control-Allow-Origin"] = "*"
            headers["Access-Control-Expose-Headers"] = \
                "x-amzn-RequestId,x-amzn-ErrorType,x-amzn-ErrorMessage,Date"
        return status, headers, out

    def control(self, body):
        recorder = self.server.recorder
        if self.command == "POST":
            try:
                change = json.loads(body or b"{}")
                if change.get("reset"):
                    with recorder.lock:
                        recorder.reset()
            except (ValueError, AttributeError) as e:
                return self.respond(400, {"Content-Type": "text/plain"}, f"{e}\n".encode())
        out = json.dumps(recorder.report(self.server.models), indent=1).encode() + b"\n"
        self.respond(200, {"Content-Type": "application/json"}, out)

    # OPTIONS too: a browser's CORS preflight to the emulator passes through.
    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = do_PATCH = do_OPTIONS = handle_any


def print_report(url):
    """The short report of `scripts/testbed model-check`. Exit 1 on a violation, a checker
    error, or an AWS request it could not identify (so could not check: a gap, not a pass);
    2 when checking is off."""
    with urllib.request.urlopen(url, timeout=10) as resp:
        r = json.load(resp)
    if not r["checking"]:
        print("model check: OFF (PWP_MODEL_CHECK=0 when it started): requests were forwarded unchecked")
        return 2
    ops = r["operations"]
    print(f"model check: {r['checked']} AWS requests checked, {len(ops)} distinct operations")
    by_service = {}
    for key, n in ops.items():
        service, _, op = key.partition(":")
        by_service.setdefault(service, []).append(f"{op} {n}")
    for service, items in sorted(by_service.items()):
        print(f"  {service}: " + ", ".join(items))
    for e, n in r["exceptions_applied"].items():
        print(f"exception applied {n}x: {e} (scripts/testbed.d/model-exceptions.json)")
    print(f"violations: {r['violations_total']}")
    for v in r["violations"]:
        print(f"  {v['service']}:{v['operation']} {v['path']} [{v['rule']}] {v['message']}")
    if r["violations_total"] > len(r["violations"]):
        print(f"  ... and {r['violations_total'] - len(r['violations'])} more")
    for u in r["unknown"]:
        print(f"not identified, so not checked ({u['count']}x): {u['service']} {u['target'] or u['request']}")
    for e in r["internal_errors"]:
        print(f"checker error: {e['service']}:{e['operation']}: {e['error']}")
    for pattern, e in r["uncompiled_patterns"].items():
        print(f"pattern not checked (does not compile): {pattern}: {e}")
    return 1 if r["violations_total"] or r["internal_errors"] or r["unknown"] else 0


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--listen", action="append", metavar="PORT=UPSTREAM",
                   help="listen on 127.0.0.1:PORT, forwarding to UPSTREAM (repeatable)")
    p.add_argument("--exceptions", default=os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                                        "model-exceptions.json"))
    p.add_argument("--no-check", action="store_true", help="forward everything unchecked")
    p.add_argument("--report", metavar="URL", help="print the report of the check at URL/_modelcheck")
    p.add_argument("--reset", metavar="URL", help="zero the record of the check at URL/_modelcheck")
    args = p.parse_args()
    if args.report:
        sys.exit(print_report(args.report.rstrip("/") + "/_modelcheck"))
    if args.reset:
        req = urllib.request.Request(args.reset.rstrip("/") + "/_modelcheck", data=b'{"reset": true}')
        urllib.request.urlopen(req, timeout=10).close()
        return
    if not args.listen:
        p.error("--listen PORT=UPSTREAM is required")
    listeners = []
    for item in args.listen:
        port, sep, url = item.partition("=")
        upstream = urllib.parse.urlsplit(url)
        if not sep or not port.isdigit() or upstream.scheme != "http":
            sys.exit(f"model-check: --listen PORT=http://HOST:PORT, not {item!r}")
        if upstream.hostname not in ("127.0.0.1", "localhost", "::1"):
            sys.exit("model-check: the upstream must be on loopback")
        listeners.append((int(port), upstream, url))
    models = Models(list(VALIDATION_CODE))
    exceptions = Exceptions(args.exceptions)
    recorder = Recorder(checking=not args.no_check)
    behaviours = Behaviours()  # one set for every listener: tests name their own resources
    servers = []
    for port, upstream, url in listeners:
        server = ProxyServer(("127.0.0.1", port), Handler)
        server.upstream, server.models = upstream, models
        server.recorder, server.exceptions = recorder, exceptions
        server.behaviours = behaviours
        servers.append(server)
        print(f"model-check: 127.0.0.1:{port} -> {url}", flush=True)
    print(f"model-check: botocore {botocore.__version__}, {len(models.models)} service models, "
          f"{len(exceptions.items)} exceptions, checking {'on' if recorder.checking else 'OFF'}",
          flush=True)
    threads = [threading.Thread(target=s.serve_forever, daemon=True) for s in servers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


if __name__ == "__main__":
    main()
