"""Every passwordless_operator_* series the chart's alerts and dashboard read is one the operator
exports, with labels it has: checked against the metrics reference page, which is generated from
metrics::FAMILIES (and the error labels from the errors' METRIC_LABELS), a cargo test failing
when the page drifts from them.

  monitoring_metrics.py METRICS_MD RULES_YAML DASHBOARD_JSON

RULES_YAML is the rendered PrometheusRule's spec. Per alert and per dashboard panel, one line:
"ok   ..." or "FAIL ...: what is wrong" (scripts/test-monitoring counts them). Checked in each
expression:
  - each series name is a family's, or a histogram family's _bucket, _sum or _count;
  - each label matched on is one of that family's (or job/instance, which the scrape adds), and
    each value an `error` matcher names is an error label the operator has;
  - each label of by (...)/without (...) is one of the expression's families' (or job/instance);
  - each label an annotation ($labels.X) or a legend ({{X}}) shows is one the expression keeps.
"""

import json
import re
import sys

import yaml

PREFIX = "passwordless_operator_"
SCRAPE_LABELS = {"job", "instance"}
HISTOGRAM_SUFFIXES = ("_bucket", "_sum", "_count")
SERIES = re.compile(r"\b" + PREFIX + r"[a-zA-Z0-9_]+")
MATCHER = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*"((?:[^"\\]|\\.)*)"')
GROUPING = re.compile(r"\b(by|without)\s*\(([^)]*)\)")
TEMPLATE_LABEL = re.compile(r"\$labels\.([a-zA-Z_][a-zA-Z0-9_]*)")
LEGEND_LABEL = re.compile(r"\{\{\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*\}\}")
CODE = re.compile(r"`([^`]*)`")


def reference(path):
    """(families: name -> (kind, labels), error labels) from the generated reference page."""
    families, errors, section = {}, set(), "families"
    for line in open(path, encoding="utf-8"):
        if line.startswith("## "):
            section = "errors" if "`error`" in line else "other"
            continue
        if not line.startswith("| `"):
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if section == "families":
            name = CODE.fullmatch(cells[0]).group(1)
            families[name] = (cells[1], set(CODE.findall(cells[2])))
        elif section == "errors":
            errors.add(CODE.fullmatch(cells[0]).group(1))
    if not families or not errors:
        raise SystemExit(f"{path}: no metric families or no error labels found")
    return families, errors


def family_of(series, families):
    if series in families:
        return series
    for suffix in HISTOGRAM_SUFFIXES:
        base = series[: -len(suffix)]
        if series.endswith(suffix) and families.get(base, ("",))[0] == "histogram":
            return base
    return None


def matchers_after(expr, end):
    """The text of the {...} right after a series name ending at `end`, if any."""
    if end >= len(expr) or expr[end] != "{":
        return ""
    quoted, i = False, end + 1
    while i < len(expr):
        c = expr[i]
        if c == "\\" and quoted:
            i += 2
            continue
        if c == '"':
            quoted = not quoted
        elif c == "}" and not quoted:
            return expr[end + 1 : i]
        i += 1
    return expr[end + 1 :]


def problems(expr, shown, families, errors):
    """What is wrong with one expression, and the labels `shown` (annotations, legend) use."""
    found, used = [], set()
    for m in SERIES.finditer(expr):
        family = family_of(m.group(0), families)
        if family is None:
            found.append(f"{m.group(0)} is no metric the operator exports")
            continue
        used.add(family)
        labels = families[family][1]
        for label, _, value in MATCHER.findall(matchers_after(expr, m.end())):
            if label not in labels | SCRAPE_LABELS:
                found.append(f"{m.group(0)} has no label {label} (its labels: {sorted(labels)})")
            elif label == "error":
                for alternative in value.split("|"):
                    if alternative not in errors:
                        found.append(f"{m.group(0)}: no error label {alternative}")
    if not used and not found:
        found.append("names no passwordless_operator_ series")
    known = set().union(*(families[f][1] for f in used)) | SCRAPE_LABELS
    grouped = set()
    for _, labels in GROUPING.findall(expr):
        for label in filter(None, (label.strip() for label in labels.split(","))):
            grouped.add(label)
            if label not in known:
                found.append(f"groups by {label}, which none of its series has")
    # What the result keeps: the labels grouped by, or (no grouping) the series' own.
    kept = grouped if grouped else known
    for label in sorted(shown - kept):
        found.append(f"shows {label}, which its result does not have")
    return found


def report(what, found):
    if found:
        print(f"FAIL {what}: " + "; ".join(found))
    else:
        print(f"ok   {what}")


def main(metrics_md, rules_yaml, dashboard_json):
    families, errors = reference(metrics_md)
    spec = yaml.safe_load(open(rules_yaml, encoding="utf-8"))
    alerts = [r for g in spec["groups"] for r in g["rules"]]
    for rule in alerts:
        name = rule.get("alert") or rule.get("record")
        templates = " ".join(str(v) for v in {**rule.get("annotations", {}), **rule.get("labels", {})}.values())
        shown = set(TEMPLATE_LABEL.findall(templates))
        report(f"alert {name} reads only exported series and labels", problems(rule["expr"], shown, families, errors))

    dashboard = json.load(open(dashboard_json, encoding="utf-8"))
    panels = [p for p in dashboard["panels"] if p.get("type") != "row"]
    for p in panels:
        found = []
        for target in p.get("targets", []):
            shown = set(LEGEND_LABEL.findall(target.get("legendFormat", "")))
            found += problems(target["expr"], shown, families, errors)
        if not p.get("targets"):
            found.append("no query")
        report(f"dashboard panel {p['title']!r} reads only exported series and labels", found)
    for variable in dashboard["templating"]["list"]:
        query = variable.get("definition", "")
        values = re.fullmatch(r"label_values\((\w+),\s*(\w+)\)", query)
        if variable["type"] != "query":
            continue
        found = []
        if values is None:
            found.append(f"{query!r} is not label_values(SERIES, LABEL)")
        else:
            found = problems(values.group(1), {values.group(2)}, families, errors)
        report(f"dashboard variable ${variable['name']} reads only exported series and labels", found)
    ids = [p["id"] for p in dashboard["panels"]]
    report("dashboard panel ids are unique", [] if len(ids) == len(set(ids)) else [f"ids {ids}"])


if __name__ == "__main__":
    if len(sys.argv) != 4:
        raise SystemExit(__doc__)
    main(*sys.argv[1:])
