#!/usr/bin/env python3
"""Checks a Grafana dashboard against a real /metrics exposition.

  check_dashboard.py DASHBOARD.json EXPOSITION.txt RULES_OUT.yml

- the JSON parses; it has panels; panel ids are unique; every panel (rows
  aside) has a gridPos and at least one target with a PromQL expression;
- every metric name that a panel or a template variable queries is exported:
  a series name of the exposition, or a family of its # TYPE lines (a
  histogram's NAME_bucket / NAME_sum / NAME_count, a summary's NAME_sum /
  NAME_count; a histogram's bare NAME is no series and is refused);
- every expression, with Grafana's variables replaced by sample values, is
  written to RULES_OUT.yml as a recording rule, for `promtool check rules`
  to parse with Prometheus's own PromQL parser.

Exit status 0 when all is well, 1 with the problems on stderr otherwise.
Called by deploy/validate.sh; only the standard library.
"""
import json
import re
import sys

# PromQL words that are not metric names: aggregation operators (they may be
# followed by `by (...)` instead of `(`), binary operators and modifiers.
KEYWORDS = {
    "sum", "min", "max", "avg", "group", "stddev", "stdvar", "count",
    "count_values", "bottomk", "topk", "quantile", "limitk", "limit_ratio",
    "by", "without", "on", "ignoring", "group_left", "group_right", "bool",
    "and", "or", "unless", "offset", "atan2", "inf", "nan", "start", "end",
}

# Grafana's built-in variables and this dashboard's own, replaced by sample
# values so that the expressions parse as plain PromQL.
GRAFANA_VARS = {
    "__rate_interval": "1m",
    "__interval": "1m",
    "__range": "1h",
    "__range_s": "3600",
    "__interval_ms": "60000",
}


def substitute(expr):
    def repl(m):
        name = m.group(1) or m.group(2)
        return GRAFANA_VARS.get(name, "modelserver")
    return re.sub(r"\$\{(\w+)(?::\w+)?\}|\$(\w+)", repl, expr)


def metric_names(expr):
    """Metric names in a PromQL expression (after substitute())."""
    s = re.sub(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|`[^`]*`', '""', expr)
    s = re.sub(r"\{[^}]*\}", " ", s)   # label matchers
    s = re.sub(r"\[[^\]]*\]", " ", s)  # range and subquery durations
    s = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)",
               " ", s)                  # label lists
    names = []
    for m in re.finditer(r"[A-Za-z_:][A-Za-z0-9_:]*", s):
        word = m.group(0)
        before = s[:m.start()]
        after = s[m.end():].lstrip()
        if before and (before[-1].isdigit() or before[-1] == "."):
            continue  # 1e3, 5m, 0.5e-3
        if after.startswith("("):
            continue  # function call
        if word.lower() in KEYWORDS:
            continue
        names.append(word)
    return names


def exposition_names(text):
    """(series names, {family: type}) of a Prometheus text exposition."""
    series, families = set(), {}
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            parts = line.split()
            if len(parts) >= 4:
                families[parts[2]] = parts[3]
        elif line and not line.startswith("#"):
            m = re.match(r"[A-Za-z_:][A-Za-z0-9_:]*", line)
            if m:
                series.add(m.group(0))
    return series, families


def exported(name, series, families):
    if name in series:
        return True
    kind = families.get(name)
    if kind is not None:
        return kind not in ("histogram", "summary")  # no bare-name series
    for suffix, kinds in (("_bucket", ("histogram",)),
                          ("_sum", ("histogram", "summary")),
                          ("_count", ("histogram", "summary"))):
        if name.endswith(suffix) and families.get(name[:-len(suffix)]) in kinds:
            return True
    return False


def walk_panels(panels):
    for p in panels:
        yield p
        yield from walk_panels(p.get("panels", []))  # collapsed rows


def main(argv):
    if len(argv) != 4:
        print(__doc__, file=sys.stderr)
        return 2
    dashboard_path, exposition_path, rules_path = argv[1:]
    problems = []
    try:
        with open(dashboard_path, encoding="utf-8") as f:
            dash = json.load(f)
    except (OSError, ValueError) as e:
        print(f"{dashboard_path}: not valid JSON: {e}", file=sys.stderr)
        return 1
    with open(exposition_path, encoding="utf-8") as f:
        series, families = exposition_names(f.read())
    if not families:
        problems.append(f"{exposition_path}: no # TYPE lines: not an exposition")

    exprs = []  # (where, expression)
    for v in dash.get("templating", {}).get("list", []):
        if v.get("type") != "query":
            continue
        q = v.get("query")
        q = q.get("query", "") if isinstance(q, dict) else (q or "")
        m = re.fullmatch(r"\s*label_values\((.*),\s*\w+\s*\)\s*", q)
        if m:
            q = m.group(1)
        elif re.fullmatch(r"\s*label_values\(\s*\w+\s*\)\s*", q):
            continue  # label_values(label): no metric
        else:
            m = re.fullmatch(r"\s*query_result\((.*)\)\s*", q)
            q = m.group(1) if m else q
        exprs.append((f"variable ${v.get('name')}", q))

    panels = list(walk_panels(dash.get("panels", [])))
    if not [p for p in panels if p.get("type") != "row"]:
        problems.append("no panels")
    ids = [p.get("id") for p in panels]
    for i in sorted({i for i in ids if ids.count(i) > 1}, key=str):
        problems.append(f"panel id {i} used more than once")
    for p in panels:
        if p.get("type") == "row":
            continue
        where = f"panel {p.get('id')} '{p.get('title', '')}'"
        if not isinstance(p.get("gridPos"), dict):
            problems.append(f"{where}: no gridPos")
        targets = [t for t in p.get("targets", []) if (t.get("expr") or "").strip()]
        if not targets:
            problems.append(f"{where}: no target with a PromQL expression")
        for t in targets:
            exprs.append((f"{where} target {t.get('refId')}", t["expr"]))

    used = set()
    rules = []
    for where, expr in exprs:
        plain = substitute(expr)
        names = metric_names(plain)
        if not names:
            problems.append(f"{where}: no metric name in {expr!r}")
        for n in names:
            used.add(n)
            if not exported(n, series, families):
                problems.append(f"{where}: metric {n} is not in the server's /metrics")
        rules.append(plain)

    with open(rules_path, "w", encoding="utf-8") as f:
        f.write("# Generated by deploy/grafana/check_dashboard.py: the dashboard's\n"
                "# expressions as recording rules, for `promtool check rules`.\n"
                "groups:\n  - name: dashboard\n    rules:\n")
        for i, e in enumerate(rules):
            f.write(f"      - record: dashboard:expr_{i}\n"
                    f"        expr: {json.dumps(e)}\n")

    for p in problems:
        print(f"{dashboard_path}: {p}", file=sys.stderr)
    print(f"check_dashboard: {len(exprs)} expressions, metrics used: "
          f"{', '.join(sorted(used))}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
